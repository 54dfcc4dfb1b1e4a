"""HTTP hardening as plain ASGI middleware: a per-client rate limit (the `limits`
library), a request body cap, frame-ancestors / nosniff headers, and the owner's
login in front of /insights. CORS is
Starlette's own CORSMiddleware, configured in web.py. No request content is logged.
"""
from __future__ import annotations

import base64
import hmac
import json
import math
import time

# Not Gradio's /gradio_api/queue/join: page loads, thumbs and clears go through it too. The
# chat's answer event spends a budget of its own (chat.py), and says "try again in N s".
QUESTION_PREFIXES = ("/api/ask", "/api/reindex", "/gradio_api/run/", "/gradio_api/call/")
FEEDBACK_PREFIXES = ("/api/feedback",)  # its own budget: rating answers must not use up a reader's questions
FEEDBACK_RATE = "60/minute;10/second"


async def _send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *headers]})
    await send({"type": "http.response.body", "body": payload})


class RateLimit:
    """Answers 429 with Retry-After once a client (by address) exceeds `rate`
    (e.g. "30/minute;5/second") on the paths starting with `prefixes`."""

    def __init__(self, app, rate: str, prefixes: tuple[str, ...] = QUESTION_PREFIXES):
        from limits import parse_many
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.app = app
        self.prefixes = prefixes
        self.items = parse_many(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") == "OPTIONS" or not scope["path"].startswith(self.prefixes):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown", 0))[0]
        for item in self.items:
            if not self.limiter.hit(item, "client", client):
                reset = self.limiter.get_window_stats(item, "client", client).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                return await _send_json(send, 429, {"error": f"Too many questions at once; try again in {wait} s."},
                                        [(b"retry-after", str(wait).encode())])
        return await self.app(scope, receive, send)


class BodyLimit:
    """Refuses request bodies over `max_bytes` with 413, by header or while streaming."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_bytes:
            return await _send_json(send, 413, {"error": f"Request too large; the limit is {self.max_bytes:,} bytes."})
        received = 0
        started = False

        async def counting_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _TooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, {"error": f"Request too large; the limit is {self.max_bytes:,} bytes."})


class _TooLarge(Exception):
    pass


class SecurityHeaders:
    """Who may frame our pages (frame-ancestors: self + allowed origins) and nosniff."""

    def __init__(self, app, allowed_origins: tuple[str, ...]):
        self.app = app
        self.csp = ("frame-ancestors 'self' " + " ".join(allowed_origins)).strip().encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in (b"content-security-policy", b"x-frame-options")]
                headers += [(b"content-security-policy", self.csp), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"strict-origin-when-cross-origin")]
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, with_headers)


def is_owner(authorization: str, token: str) -> bool:
    """`Bearer <token>`, or Basic with any user name and <token> as the password (what
    a browser's login prompt sends). Always False when no token is configured."""
    if not token:
        return False
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        given = value.strip()
    elif scheme.lower() == "basic":
        try:
            given = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return False
    else:
        return False
    return hmac.compare_digest(given.encode(), token.encode())


class OwnerOnly:
    """Everything under `prefix` needs the admin token: 403 when none is configured,
    401 with a Basic challenge (the browser's login prompt) when it is missing or wrong.
    Responses are marked no-store: they show what readers asked."""

    def __init__(self, app, prefix: str, token: str):
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.token = token

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or not (path == self.prefix or path.startswith(self.prefix + "/")):
            return await self.app(scope, receive, send)
        authorization = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        if not is_owner(authorization, self.token):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            if not self.token:
                return await _send_json(send, 403, {"error": "The insights page is off: set ASSISTANT_ADMIN_TOKEN, then sign in with it."})
            return await _send_json(send, 401, {"error": "Sign in with the admin token (any user name, the token as password), "
                                                         "or send Authorization: Bearer <token>."},
                                    [(b"www-authenticate", b'Basic realm="Article assistant owner", charset="UTF-8"')])

        async def private(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": headers + [(b"cache-control", b"no-store")]}
            await send(message)

        return await self.app(scope, receive, private)
