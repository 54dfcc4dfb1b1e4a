"""The one shape of every error the app answers: the HTTP status and a JSON body
{"error": "<one line for a person>", "code": "<for a program>"}. The widget reads
`code`; 429 also carries Retry-After. CORS is not this module's: hardening.harden puts
the CORS middleware outside everything that can answer, errors included.
"""
from __future__ import annotations

import json
import logging
from typing import Literal

from pydantic import BaseModel

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "bad_request",
         409: "conflict", 413: "too_large", 422: "bad_request", 429: "rate_limited", 500: "internal",
         503: "unavailable"}
Code = Literal["bad_request", "unauthorized", "forbidden", "not_found", "conflict", "too_large", "rate_limited",
               "internal", "unavailable"]
INTERNAL = "Something went wrong on our side; please try again."

log = logging.getLogger("assistant.web")


class ErrorBody(BaseModel):
    """What every error response carries."""

    error: str
    code: Code


def code_for(status: int) -> str:
    return CODES.get(status, "internal" if status >= 500 else "bad_request")


def error_bytes(status: int, message: str, code: str | None = None) -> bytes:
    return json.dumps({"error": message, "code": code or code_for(status)}).encode()


async def send_error(send, status: int, message: str, code: str | None = None,
                     headers: list[tuple[bytes, bytes]] = ()) -> None:
    """An error response from plain ASGI middleware."""
    payload = error_bytes(status, message, code)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *headers]})
    await send({"type": "http.response.body", "body": payload})


def error_response(status: int, message: str, code: str | None = None, headers: dict | None = None):
    from fastapi.responses import Response

    return Response(error_bytes(status, message, code), status_code=status, media_type="application/json",
                    headers=headers)


def documented(*statuses: int) -> dict:
    """The `responses=` of a route: each status it can answer besides 200, with ErrorBody."""
    descriptions = {400: "Malformed body (not JSON, NaN, too deep, a lone surrogate)", 401: "Wrong or missing token",
                    404: "Not found, or switched off", 409: "A build is already running",
                    413: "Too large", 422: "Invalid value", 429: "Rate limited; see Retry-After",
                    500: "Unexpected error", 503: "Temporarily unavailable"}
    return {status: {"model": ErrorBody, "description": descriptions.get(status, "Error")} for status in statuses}


def errors_in_openapi(app) -> None:
    """Every error status in `app`'s OpenAPI document as ErrorBody in JSON, whatever the
    route's own media type (an HTML page's 404 is JSON too) and instead of FastAPI's
    default 422 schema, which we never send."""
    generate = app.openapi

    def openapi() -> dict:
        document = generate()  # FastAPI's, cached until the routes change; the edits below are idempotent
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    if status.isdigit() and int(status) >= 400:
                        response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        schemas = document.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        return document

    app.openapi = openapi


def one_line(errors: list[dict]) -> str:
    """FastAPI's validation errors as one sentence naming the field, never echoing the input
    (an echoed NaN or lone surrogate can't be encoded: that was a 500)."""
    first = errors[0] if errors else {}
    field = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header"))
    message = f"{field}: {first.get('msg', 'invalid value')}" if field else str(first.get("msg", "invalid request"))
    more = len(errors) - 1
    return message + (f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else "") + "."


def install(app) -> None:
    """Our shape for FastAPI's own errors (HTTPException, validation) on `app`'s routes,
    and in its OpenAPI document."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    async def http_error(request, exc: HTTPException):
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    async def invalid(request, exc: RequestValidationError):
        return error_response(422, one_line(list(exc.errors())))

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    errors_in_openapi(app)


class CatchAll:
    """The last net, inside CORS: an exception nothing else handled becomes a 500 in our
    shape, logged once. Starlette's own 500 (also a mounted Gradio app's) is plain text,
    sent outside the CORS middleware, and re-raised for a second traceback in the log."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = held = False

        async def tracking(message):
            nonlocal started, held
            if message["type"] == "http.response.start" and message["status"] >= 500 and _plain_text(message):
                held = True  # a sub-app's "Internal Server Error": ours is sent instead
            if held:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not started:  # else uvicorn closes the half-sent response
                await send_error(send, 500, INTERNAL)
            return
        if held and not started:
            await send_error(send, 500, INTERNAL)


def _plain_text(start: dict) -> bool:
    content_type = dict(start.get("headers", [])).get(b"content-type", b"")
    return content_type.startswith(b"text/plain")
