"""Cross-origin calls the CORS policy refuses, said to the owner. The reader's browser, not
the server, blocks a page of a site that is not allowed, so without this the owner sees
nothing: the first call from each such origin is logged once, with the setting that
allows it. It refuses nothing itself (CORS does)."""
from __future__ import annotations

import logging

log = logging.getLogger("assistant.origins")
REMEMBERED = 1000  # origins said once each; past this (a flood of made-up ones) the rest go unsaid


class RefusedOrigins:
    def __init__(self, app, allowed: tuple[str, ...]):
        self.app = app
        self.allowed = set(allowed)
        self.said: set[str] = set()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            # most requests carry no Origin: look for it before building anything
            if any(name == b"origin" for name, _ in scope.get("headers") or ()):
                self.note(dict(scope["headers"]))
        return await self.app(scope, receive, send)

    def note(self, headers: dict) -> None:
        """Log the request's Origin once, unless it is allowed or this server's own."""
        origin = "".join(c for c in headers.get(b"origin", b"").decode("latin-1") if c.isprintable())[:200].rstrip("/")
        if not origin or origin in self.allowed or origin in self.said or len(self.said) >= REMEMBERED:
            return
        if origin.partition("://")[2] == headers.get(b"host", b"").decode("latin-1"):  # this server's own page
            return
        self.said.add(origin)
        log.warning("a page on %s called the API and its browser was refused: to let that site embed the widget, "
                    "start with --allow-origin %s (or add it to ASSISTANT_ALLOWED_ORIGINS)", origin, origin)
