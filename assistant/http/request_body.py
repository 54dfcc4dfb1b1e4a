"""Request bodies, before the app sees them: read whole up to the cap (413 over it,
with or without Content-Length), then checked as I-JSON (RFC 7493), the only kind
of body this app takes: UTF-8, no NaN or Infinity, no number beyond a double, no
lone surrogate, at most MAX_DEPTH levels deep. A body that fails is a 400 naming the
problem; nothing malformed reaches a handler, ours or Gradio's.
"""
from __future__ import annotations

import json

from assistant.http.error_bodies import send_error

BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")  # a body on a GET is never read by the app
MAX_DEPTH = 32  # the deepest real body (a Gradio chat event) is under 10
PARSED = "assistant.json"  # the scope key of the parsed body
MAX_NUMBER_DIGITS = 309  # a double's range; past it Python's int would take the whole string


class BadBody(ValueError):
    """The body is not I-JSON; the message says why, in one line."""


def check_json(body: bytes) -> object:
    """The parsed body, or BadBody."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody("The request body is not UTF-8 text.") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite, parse_int=_bounded)
    except RecursionError:
        raise BadBody(f"The request body is nested more than {MAX_DEPTH} levels deep.") from None
    except json.JSONDecodeError as exc:
        raise BadBody(f"The request body is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).") from None
    _walk(value)
    return value


def _no_constant(name: str):
    raise BadBody(f"The request body has {name}, which JSON does not allow.")


def _finite(literal: str) -> float:
    number = float(literal)
    if number in (float("inf"), float("-inf")):
        raise BadBody(f"The number {literal[:20]} in the request body is too large.")
    return number


def _bounded(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise BadBody(f"A number in the request body has {len(literal):,} digits; it is too large.")
    return int(literal)


def _walk(value: object) -> None:
    """Depth and lone surrogates, without recursion (the body decides how deep it goes)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise BadBody(f"The request body is nested more than {MAX_DEPTH} levels deep.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                code = ord(item[exc.start])
                raise BadBody(f"The request body has a lone surrogate (\\u{code:04x}), which is not text.") from None


class RequestBody:
    """Buffers each request body (at most `max_bytes`, so buffering is cheap) and replays
    it to the app once it is whole and, if not empty, valid I-JSON. Starlette's own
    RequestBodyLimitMiddleware answers 413 in plain text and only once the app reads."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
            return await self.app(scope, receive, send)
        too_large = f"Request too large; the limit is {self.max_bytes:,} bytes."
        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_bytes:
            return await send_error(send, 413, too_large)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left before sending it all
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                # the rest of the body is read and dropped by uvicorn, within the request deadline
                return await send_error(send, 413, too_large)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.strip():
            try:
                scope[PARSED] = check_json(body)  # for the checks further in (gradio_routes.GradioEvents)
            except BadBody as exc:
                return await send_error(send, 400, str(exc))
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
