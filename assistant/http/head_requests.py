"""HEAD answered as GET is, without the body (RFC 9110 §9.3.2), on every route that
answers GET: uptime monitors check /healthz and /widget.js with HEAD. FastAPI routes
only the methods a route declares, so a HEAD fell through to Gradio's mount at "/"
and was answered 404. The response keeps GET's headers, Content-Length included."""
from __future__ import annotations


class HeadAsGet:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message):
            if message["type"] != "http.response.body":
                return await send(message)
            if not message.get("more_body", False):  # the end of the body: say so, with none of it
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        return await self.app({**scope, "method": "GET"}, receive, headers_only)
