"""Which of Gradio's routes are open: only those the chat and /insights pages use (as
seen from chromium). Gradio mounts some 80 routes (uploads, direct calls, file
serving, run history, MCP, ...) that this app never needs; every one of them not
listed here answers 404, under both Gradio mounts. The events that are open must
name one of the page's own event handlers with its number of inputs (Gradio answers
an unknown one with a traceback in the log). The app's own FastAPI routes are not
this module's business: whatever they match passes untouched.
"""
from __future__ import annotations

import re

from assistant.http.error_bodies import send_error
from assistant.http.request_body import PARSED

OPEN = (  # (methods, path inside a Gradio mount)
    ({"GET", "HEAD"}, r"/"),
    ({"GET", "HEAD"}, r"/(assets|static)/[\w./-]+"),
    ({"GET", "HEAD"}, r"/(theme\.css|favicon\.ico|robots\.txt)"),
    ({"GET"}, r"/config/?"),  # the page's own config, as inlined in it (Gradio's client may fetch it)
    ({"GET"}, r"/gradio_api/heartbeat/\w+"),  # a page's session is alive
    ({"GET"}, r"/gradio_api/queue/data"),  # the event stream of results
    ({"POST"}, r"/gradio_api/queue/join"),  # asking (the chat counts its questions itself), thumbs, page load
    ({"POST"}, r"/gradio_api/run/predict"),  # an example put in the box: rate-limited as questions
)
_OPEN = tuple((methods, re.compile(pattern)) for methods, pattern in OPEN)


class GradioRoutes:
    """404 for Gradio routes not in OPEN. `own_routes` are the app's own (non-Mount)
    routes, checked first; `mounts` the paths Gradio apps are mounted at."""

    def __init__(self, app, own_routes, mounts: tuple[str, ...]):
        self.app = app
        self.own_routes = own_routes
        self.mounts = sorted((m.rstrip("/") for m in mounts), key=len, reverse=True)

    def is_open(self, scope) -> bool:
        from starlette.routing import Match

        if any(route.matches(scope)[0] is not Match.NONE for route in self.own_routes):
            return True
        path, method = scope["path"], scope.get("method", "GET")
        for mount in self.mounts:
            if path.startswith(mount + "/"):
                inner = path[len(mount):]
                return any(method in methods and pattern.fullmatch(inner) for methods, pattern in _OPEN)
        return False

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not self.is_open(scope):
            return await send_error(send, 404, "Not found.")
        if scope["type"] == "websocket" and not self.is_open({**scope, "type": "http", "method": "GET"}):
            return await send({"type": "websocket.close", "code": 1008})
        return await self.app(scope, receive, send)


EVENT_ROUTES = {"/gradio_api/queue/join": True, "/gradio_api/run/predict": False}  # path -> queued handlers?


class GradioEvents:
    """422 for an event body that names no handler of the page (`fn_index`), or gives it
    the wrong number of inputs. `pages` maps each mount path to its Blocks."""

    def __init__(self, app, pages: dict):
        self.app = app
        self.pages = pages  # read again once it grows: a server mounts its pages after start-up (web/late_pages.py)
        self._handlers: dict = {}  # (mount, path) -> {fn_index: number of inputs}
        self._built_for = -1

    @property
    def handlers(self) -> dict:
        if self._built_for != len(self.pages):
            handlers = {}
            for mount, blocks in list(self.pages.items()):
                for path, queued in EVENT_ROUTES.items():
                    handlers[(mount.rstrip("/") + path)] = {
                        index: len(fn.inputs) for index, fn in blocks.fns.items() if bool(fn.queue) == queued}
            self._handlers, self._built_for = handlers, len(self.pages)
        return self._handlers

    async def __call__(self, scope, receive, send):
        handlers = self.handlers.get(scope["path"]) if scope["type"] == "http" and scope.get("method") == "POST" else None
        if handlers is not None and not _names_a_handler(scope.get(PARSED), handlers):
            return await send_error(send, 422, "Unknown event for this page.")
        return await self.app(scope, receive, send)


def _names_a_handler(body, handlers: dict[int, int]) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return False
    index = body.get("fn_index")
    return type(index) is int and index in handlers and len(body["data"]) == handlers[index]
