"""The web app: a FastAPI app of our routers (web/routers/), with the Gradio chat mounted
at "/" and the dashboard at /insights (gradio_pages.py; by a served app just after it
starts answering, late_pages.py), wrapped by the hardening. Handlers only translate
HTTP <-> engine calls; retrieval lives in the engine.
"""
from __future__ import annotations

import asyncio
import atexit
from contextlib import asynccontextmanager
from functools import partial

from assistant.settings import Settings


def create_app(settings: Settings | None = None, live=None, pages_later: bool = False):
    """The whole server. `live` (a LiveAssistant) is made from `settings` when not given.
    With `pages_later`, the Gradio pages are imported and mounted once the server runs
    (late_pages.py), so the API answers seconds earlier."""
    import os

    from assistant.engine.live import open_live
    from assistant.web.hardening import check_limits, harden

    settings = settings or Settings.from_env()
    check_limits(settings)  # a mistyped limit stops the start, before the model loads
    # No telemetry or version check from Gradio: read when a Blocks is made, and the
    # server must make no outside call (the env var, not an argument, covers every page).
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    live = live or open_live(settings)
    live.load_model()  # now, before the server listens, so the first reader doesn't wait for it

    from fastapi_offline import FastAPIOffline

    from assistant.http.counters import Counters
    from assistant.http.error_bodies import install as install_error_handlers
    from assistant.http.owner_login import Logins
    from assistant.questionlog.logs import open_log
    from assistant.web.gradio_pages import mount_pages
    from assistant.web.routers import admin, ask, feedback, health, pages, widget

    questions = open_log(settings)
    # what is queued is written (or counted lost) before the process exits: at the end of the
    # app's lifespan, because uvicorn re-raises SIGTERM once it has stopped and atexit never runs
    # then; atexit still covers an app that was never served
    atexit.register(questions.close)

    @asynccontextmanager
    async def lifespan(app):
        yield
        await asyncio.to_thread(questions.close)

    live.follow_index(settings.reload_seconds)
    if settings.watch_corpus:
        live.follow_corpus()
    # /docs from the Swagger UI files installed with fastapi-offline, never a CDN
    app = FastAPIOffline(title="Article assistant", summary="Answers quote the articles word for word, with numbered sources.",
                         redoc_url=None, lifespan=lifespan)
    install_error_handlers(app)
    counters = Counters(settings.rate_limit_storage)  # every limit below counts here (shared by replicas on Redis)
    logins = Logins(settings.login_rate_limit, counters)  # wrong admin tokens: shared by /insights and /api/reindex
    for routes in (ask.router(settings, live, questions), feedback.router(questions), admin.router(settings, live, logins),
                   health.router(live, questions, counters), pages.router(live), widget.router(live, settings)):
        app.include_router(routes)  # all before Gradio's catch-all mount at "/"
    mounted: dict = {}  # mount -> Blocks, once mounted (harden's GradioEvents reads it)
    mount = partial(mount_pages, settings=settings, live=live, questions=questions, counters=counters, pages=mounted)
    if pages_later:
        from assistant.web.late_pages import LatePages

        app.state.late_pages = LatePages(app, mount)  # web/launch.py says when they are ready
    else:
        app.state.late_pages = None
        mount(app)
    return harden(app, settings, logins, pages=mounted, counters=counters)
