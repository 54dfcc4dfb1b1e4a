"""Security headers on every response: a Content-Security-Policy (scripts only from
this origin, plus the exact inline scripts of the page, by hash), who may frame our
pages (the allowed origins), Referrer-Policy, Permissions-Policy and nosniff.
It never changes a page's content.
"""
from __future__ import annotations

import base64
import hashlib
import re

# What the Gradio pages need, checked in chromium (tests/test_hardening.py): their
# scripts are files of the app plus one inline config script (hashed per page), their
# styles are partly inline (Svelte and Gradio's theme write <style> elements), icons
# and plots use data: and blob: images. Nothing is loaded from another origin. Only
# the owner's /insights page may eval: its charts are Vega, which compiles its
# expressions with new Function (the chart specs are ours; readers' text is data).
POLICY = ("default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; "
          "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
          "frame-ancestors 'self'{ancestors}")
PERMISSIONS = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
               "payment=(), usb=()")
_INLINE_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_SRC = re.compile(rb"\bsrc\s*=", re.IGNORECASE)


def inline_script_hashes(page: bytes) -> list[str]:
    """CSP source expressions for each inline <script> of an HTML page."""
    hashes = []
    for attributes, body in _INLINE_SCRIPT.findall(page):
        if not _SRC.search(attributes) and body.strip():
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    return list(dict.fromkeys(hashes))


def policy(allowed_origins: tuple[str, ...], hashes: list[str] = (), may_eval: bool = False) -> bytes:
    sources = [*hashes, "'unsafe-eval'"] if may_eval else list(hashes)
    return POLICY.format(hashes="".join(" " + h for h in sources),
                         ancestors="".join(" " + o for o in allowed_origins)).encode()


class SecurityHeaders:
    """Sets the headers above on every response. For an HTML page the body is held
    until complete (pages are small) so its inline scripts can be hashed into the
    policy; a compressed page gets the policy without hashes."""

    def __init__(self, app, allowed_origins: tuple[str, ...], eval_prefix: str = "/insights/"):
        self.app = app
        self.allowed_origins = allowed_origins
        self.eval_prefix = eval_prefix
        self.plain = policy(allowed_origins)

    def headers(self, start: dict, csp: bytes) -> dict:
        dropped = (b"content-security-policy", b"x-frame-options", b"referrer-policy", b"permissions-policy")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in dropped]
        headers += [(b"content-security-policy", csp), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                    (b"permissions-policy", PERMISSIONS.encode())]
        return {**start, "headers": headers}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = None
        chunks: list[bytes] = []

        async def with_headers(message):
            nonlocal start
            if message["type"] == "http.response.start":
                fields = {k.lower(): v for k, v in message.get("headers", [])}
                is_page = fields.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in fields
                if not is_page or scope.get("method") == "HEAD":
                    return await send(self.headers(message, self.plain))
                start = message
                return None
            if start is None:
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return None
            page = b"".join(chunks)
            csp = policy(self.allowed_origins, inline_script_hashes(page), scope["path"].startswith(self.eval_prefix))
            await send(self.headers(start, csp))
            await send({"type": "http.response.body", "body": page, "more_body": False})

        return await self.app(scope, receive, with_headers)
