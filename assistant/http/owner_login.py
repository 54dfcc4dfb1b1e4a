"""The owner's login in front of /insights (a Basic prompt or a bearer token, the
ASSISTANT_ADMIN_TOKEN) and the bearer-token check of /api/reindex, with wrong
passwords throttled per client so guessing gets no answer at all.
"""
from __future__ import annotations

import base64
import hmac

from assistant.http.counters import counted
from assistant.http.error_bodies import send_error
from assistant.http.proxies import client_key, client_of

LOGIN_RATE = "10/minute"  # wrong passwords or tokens per client


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


class Logins:
    """Wrong passwords and tokens per client: after `rate` of them (10 a minute), every
    try from that client is refused with 429 until the window frees, right or wrong,
    so guessing gets no answer at all."""

    def __init__(self, rate: str = LOGIN_RATE, counters=None):
        from limits import parse

        from assistant.http.counters import Counters

        self.item = parse(rate)
        self.counters = counters or Counters()

    @property
    def shared(self) -> bool:
        return self.counters.shared

    def wait(self, client: str) -> int:
        """Seconds before `client` may try again; 0 when it may try now."""
        key = client_key(client)
        if self.counters.test(self.item, "login", key):
            return 0
        return self.counters.retry_after(self.item, "login", key)

    def check(self, client: str, authorization: str, token: str) -> bool:
        """is_owner(), counting a wrong try (a credential given, not the token) against `client`."""
        if is_owner(authorization, token):
            return True
        if authorization.strip():
            self.counters.hit(self.item, "login", client_key(client))
        return False

    def refusal(self, wait: int) -> tuple[str, list[tuple[bytes, bytes]]]:
        return (f"Too many wrong passwords; try again in {wait} s.", [(b"retry-after", str(wait).encode())])


class OwnerOnly:
    """Everything under `prefix` needs the admin token: 403 when none is configured,
    401 with a Basic challenge (the browser's login prompt) when it is missing or wrong,
    429 once `logins` has seen too many wrong ones from the client.
    Responses are marked no-store: they show what readers asked."""

    def __init__(self, app, prefix: str, token: str, logins: Logins):
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.token = token
        self.logins = logins

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or not (path == self.prefix or path.startswith(self.prefix + "/")):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":  # Gradio 6 pages use none; nothing to sign in with
            return await send({"type": "websocket.close", "code": 1008})
        if not self.token:
            return await send_error(send, 403, "The insights page is off: set ASSISTANT_ADMIN_TOKEN, then sign in with it.")
        client = client_of(scope)
        authorization = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        wait = await counted(self.logins, "wait", client) if authorization.strip() else 0
        if wait:
            message, headers = self.logins.refusal(wait)
            return await send_error(send, 429, message, headers=headers)
        if not await counted(self.logins, "check", client, authorization, self.token):
            return await send_error(send, 401, "Sign in with the admin token (any user name, the token as password), "
                                               "or send Authorization: Bearer <token>.",
                                    headers=[(b"www-authenticate", b'Basic realm="Article assistant owner", charset="UTF-8"')])

        async def private(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": headers + [(b"cache-control", b"no-store")]}
            await send(message)

        return await self.app(scope, receive, private)
