"""The Gradio pages (the chat at "/", the owner's /insights) mounted on a running server.

Importing gradio takes about 3 s on a 2-core host, more than everything else a server
loads. A server therefore answers the JSON API first and imports gradio in a worker
thread at start-up; meanwhile "/" and "/insights" say "starting" (503, Retry-After),
and /healthz reports the pages as loading. Once built, the pages are mounted and their
start-up events run in the server's event loop, as gradio's own mount_gradio_app
would have run them at start. It does not build the pages (web/gradio_pages.py does), nor say
anything to the owner on success (web/launch.py does).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack, asynccontextmanager

log = logging.getLogger("assistant.pages")
STARTING = ('<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="1">'
            "<title>Starting…</title><p>The assistant is starting; this page reloads by itself.</p>")


class LatePages:
    """`mount(app)` (a callable that imports gradio and mounts the pages on `app`) run in
    a worker thread once the server is up; `state` is "loading", "ready" or "failed"."""

    def __init__(self, app, mount: Callable[[object], None], paths: tuple[str, ...] = ("/", "/insights")):
        from fastapi.responses import HTMLResponse

        self.state = "loading"
        self._mount = mount
        self._stack = AsyncExitStack()
        self._settled = asyncio.Event()

        async def starting():
            return HTMLResponse(STARTING, status_code=503, headers={"Retry-After": "1", "Cache-Control": "no-store"})

        for path in paths:
            app.get(path, include_in_schema=False)(starting)
        self._placeholders = list(app.router.routes[-len(paths):])
        app.router.lifespan_context = self._lifespan(app.router.lifespan_context)

    def _lifespan(self, inner):
        @asynccontextmanager
        async def lifespan(app):
            async with inner(app) as state, self._stack:
                task = asyncio.create_task(self._start(app))
                yield state
                task.cancel()

        return lifespan

    async def settled(self) -> str:
        """Once the pages are mounted or could not be: "ready" or "failed"."""
        await self._settled.wait()
        return self.state

    async def _start(self, app) -> None:
        try:
            await self._mount_now(app)
        finally:
            self._settled.set()

    async def _mount_now(self, app) -> None:
        routes_before = len(app.router.routes)
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._mount, app)
            mounted = app.router.routes[routes_before:]
            # what gradio's mount_gradio_app runs in the lifespan it wraps (past here)
            for route in mounted:
                gradio_app = route.app
                await self._stack.enter_async_context(gradio_app.router.lifespan_context(gradio_app))
                gradio_app.get_blocks().run_startup_events()
                await gradio_app.get_blocks().run_extra_startup_events()
        except Exception:
            self.state = "failed"
            log.exception("the chat page could not be loaded; the JSON API keeps serving")
            return
        app.router.routes[:] = [r for r in app.router.routes if r not in self._placeholders]
        self.state = "ready"
