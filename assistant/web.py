"""The web shell: a FastAPI app with the Gradio chat (chat.py) mounted at "/" (by a
served app just after it starts answering: pages.py), a JSON API, a health check and an
article page for citation links. Handlers only translate HTTP <-> engine calls;
retrieval lives in the engine.
"""
from __future__ import annotations

import atexit
import time

from .chat import NOTE
from .errors import InvalidQuestion
from .render import as_json
from .settings import Settings

def ask_recorded(assistant, questions, question: str, history, channel: str):
    """assistant.ask, timed and put in the question log: (answer, question id or None).
    Raises InvalidQuestion, as ask does, without recording anything."""
    started = time.perf_counter()
    answer = assistant.ask(question, history=history)
    return answer, questions.record(answer, time.perf_counter() - started, channel)


def open_live(settings: Settings):
    """The LiveAssistant the server answers from: built if need be, except on a replica,
    which only loads what the builder wrote."""
    from .errors import IndexNotFound
    from .live import LiveAssistant

    try:
        return LiveAssistant(settings, build=not settings.replica)
    except IndexNotFound as exc:
        raise IndexNotFound(f"{exc} (a replica never builds one)" if settings.replica else str(exc)) from None


def create_app(settings: Settings | None = None, live=None, pages_later: bool = False):
    """The whole server. `live` (a LiveAssistant) is made from `settings` when not given.
    With `pages_later`, the Gradio pages are imported and mounted once the server runs
    (pages.py), so the API answers seconds earlier."""
    import os

    settings = settings or Settings.from_env()
    check_limits(settings)  # a mistyped limit stops the start, before the model loads
    # No telemetry or version check from Gradio: read when a Blocks is made, and the
    # server must make no outside call (the env var, not an argument, covers every page).
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    live = live or open_live(settings)
    live.load_model()  # now, before the server listens, so the first reader doesn't wait for it

    from fastapi import Body, Header, HTTPException, Query, Request
    from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
    from fastapi_offline import FastAPIOffline

    from .articlepage import article_blocks, article_html
    from .chat import add_chat_script
    from .errors import AssistantError, IndexBusy
    from .httperrors import documented, error_response
    from .httperrors import install as install_error_handlers
    from .questionlog import Feedback, open_log
    from .ratelimits import Counters
    from .security import Logins
    from .widget import add_widget_routes

    questions = open_log(settings)
    atexit.register(questions.close)  # what is queued is written before the process exits
    live.follow_index(settings.reload_seconds)
    if settings.watch_corpus:
        live.follow_corpus()
    # /docs from the Swagger UI files installed with fastapi-offline, never a CDN
    app = FastAPIOffline(title="Article assistant", summary=NOTE, redoc_url=None)
    install_error_handlers(app)
    counters = Counters(settings.rate_limit_storage)  # every limit below counts here (shared by replicas on Redis)
    logins = Logins(settings.login_rate_limit, counters)  # wrong admin tokens: shared by /insights and /api/reindex

    def answer_json(question: str, history: list | None) -> JSONResponse:
        assistant = live.current  # one index for the whole request, even if a swap happens
        try:
            answer, question_id = ask_recorded(assistant, questions, question, history, "api")
        except InvalidQuestion as exc:
            too_long = len(question) > settings.max_question_chars
            return error_response(413 if too_long else 422, str(exc), "too_large" if too_long else "bad_request")
        except AssistantError as exc:  # the model or index can't answer just now
            return error_response(503, str(exc))
        logged = {"question_id": question_id} if question_id else {}
        suggestions = {"suggestions": follow_ups(assistant, answer, history)}
        return JSONResponse(as_json(answer) | {"index_version": assistant.index.manifest.version} | logged | suggestions)

    @app.get("/api/ask", responses=documented(413, 422, 429, 500, 503))
    def ask_get(q: str = Query("", description="the question")):
        return answer_json(q, None)

    @app.post("/api/ask", responses=documented(400, 413, 422, 429, 500, 503))
    def ask_post(question: str = Body("", embed=True), history: list = Body(default_factory=list, embed=True)):
        return answer_json(question, history)

    @app.post("/api/feedback", responses=documented(400, 404, 413, 422, 429, 500, 503))
    def give_feedback(payload: object = Body(None)):
        """Thumbs on an answer: {"question_id": from /api/ask, "helpful": bool, "comment": optional, ≤ 500 chars}."""
        if not questions.enabled:
            return error_response(404, "Feedback is not recorded here: question logging is off.")
        try:
            feedback = Feedback.parse(payload)
        except AssistantError as exc:
            return error_response(422, str(exc))
        saved = questions.feedback(feedback)
        if saved is None:
            return error_response(503, "Feedback could not be saved just now; please try again later.")
        if not saved:
            return error_response(404, "No such question (it may be older than the log keeps).")
        return {"recorded": True}

    def reindex(request: Request, authorization: str = Header("")):
        """Rebuild from the corpus and swap the new index in (a CMS webhook).
        Needs `Authorization: Bearer $ASSISTANT_ADMIN_TOKEN`; disabled without a token."""
        if not settings.admin_token:
            raise HTTPException(404, "reindexing over HTTP is disabled: set ASSISTANT_ADMIN_TOKEN to enable it")
        client = request.client.host if request.client else "unknown"
        if wait := logins.wait(client):
            message, headers = logins.refusal(wait)
            return error_response(429, message, headers={k.decode(): v.decode() for k, v in headers})
        if not logins.check(client, authorization, settings.admin_token):
            raise HTTPException(401, "wrong or missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        if settings.replica:
            return error_response(409, "This server is a replica and never builds: run `assistant build` "
                                       "where the index is written; replicas follow it.")
        try:
            report = live.rebuild()
        except IndexBusy as exc:
            return error_response(409, str(exc))
        except AssistantError as exc:
            return error_response(422, str(exc))
        return {"passages": report.passages, "embedded": report.embedded, "reused": report.reused,
                "removed": report.removed, "seconds": round(report.seconds, 3),
                "index_version": live.current.index.manifest.version}

    # FastAPI injects the Request by the annotation's type, which it can't resolve from
    # the string (postponed annotations, a local import): give it the class, then route.
    reindex.__annotations__["request"] = Request
    app.post("/api/reindex", responses=documented(400, 401, 404, 409, 413, 422, 429, 500))(reindex)

    @app.get("/healthz", responses=documented(500))
    def healthz():
        assistant = live.current
        manifest = assistant.index.manifest
        degraded = [status for status in (counters.status(), questions.status()) if status != "ok"]
        health = {"status": "; ".join(degraded) or "ok", "index_version": manifest.version, "built_at": manifest.built_at,
                  "articles": manifest.documents, "passages": len(assistant.index.passages),
                  "pages": late.state if late else "ready"} | questions.health()
        if live.last_error:
            health["index_problem"] = live.last_error  # serving the last good index meanwhile
        return health

    @app.get("/articles/{slug}", response_class=HTMLResponse, responses=documented(404, 422, 500))
    def article(slug: str):
        page = article_blocks(live.current.index.passages, slug)
        if page is None:
            raise HTTPException(404, "no such article")
        return HTMLResponse(article_html(page))

    @app.get("/insights", include_in_schema=False)
    def insights_slash():
        return RedirectResponse("/insights/", status_code=308)

    add_widget_routes(app, settings, live)
    add_chat_script(app)
    pages: dict = {}  # mount -> Blocks, once mounted (harden's GradioEvents reads it)

    def mount_pages(app) -> None:
        import gradio as gr

        from .chat import CSS as CHAT_CSS
        from .chat import HEAD as CHAT_HEAD
        from .chat import chat_ui
        from .dashboard import CSS as INSIGHTS_CSS
        from .dashboard import insights_ui

        dashboard = insights_ui(settings, lambda texts: live.current.embedder.encode(texts), questions,
                                lambda: live.current.index.passages)
        dashboard.queue(max_size=16, api_open=False, default_concurrency_limit=1)
        closed = {"ssr_mode": False, "footer_links": [], "run_history": False, "enable_monitoring": False,
                  "mcp_server": False, "pwa": False, "max_file_size": 1}  # nothing of Gradio's that we don't use
        gr.mount_gradio_app(app, dashboard, path="/insights", css=INSIGHTS_CSS, **closed)  # before "/"
        demo = chat_ui(live, settings, questions, counters)
        demo.queue(max_size=64, api_open=False, default_concurrency_limit=4)
        gr.mount_gradio_app(app, demo, path="/", css=CHAT_CSS, head=CHAT_HEAD, **closed)
        pages.update({"/": demo, "/insights": dashboard})

    if pages_later:
        from .pages import LatePages

        late = LatePages(app, mount_pages)
    else:
        late = None
        mount_pages(app)
    app.state.late_pages = late  # launch.py says when they are ready
    return harden(app, settings, logins, pages=pages, counters=counters)


def follow_ups(assistant, answer, history) -> list[str]:
    """Suggested next questions for an API answer: nearby sections the reader's questions
    (this one and those in `history`) haven't covered."""
    from .followup import turns
    from .suggest import outline_for

    asked = [text for role, text in turns(history) if role == "user"]
    return outline_for(assistant.index).follow_ups(answer, asked)


def check_limits(settings: Settings) -> None:
    """InvalidArgument naming the setting when a rate, a trusted proxy or the replica's
    settings can't be used."""
    from . import proxies
    from .errors import InvalidArgument
    from .log import checked_url
    from .ratelimits import checked_storage
    from .security import checked_rate

    checked_rate("ASSISTANT_RATE_LIMIT", settings.rate_limit)
    checked_rate("ASSISTANT_FEEDBACK_RATE_LIMIT", settings.feedback_rate_limit)
    checked_rate("ASSISTANT_LOGIN_RATE_LIMIT", settings.login_rate_limit)
    checked_storage(settings.rate_limit_storage)
    proxies.checked(settings.trusted_proxies)
    checked_url(settings.question_log_url)  # a question log URL that is neither sqlite nor postgresql
    if settings.replica and settings.watch_corpus:
        raise InvalidArgument("a replica never builds, so it can't watch the corpus: run `assistant watch` "
                              "where the index is written, and start the replica without --watch/ASSISTANT_WATCH")


def harden(app, settings: Settings, logins=None, pages: dict | None = None, counters=None):
    """Wrap the app; the last added runs first. From the outside in: the trusted
    proxies' client address, CORS (so errors carry it too), security headers, the
    500 net, the owner's login, Gradio's unused routes shut, rate limits, the body cap
    and JSON check, and events that name one of the `pages`' (mount -> Blocks) handlers.
    Every limit counts in `counters` (made from settings.rate_limit_storage when not given)."""
    from starlette.middleware.cors import CORSMiddleware
    from starlette.routing import Mount

    from . import proxies
    from .gradioroutes import GradioEvents, GradioRoutes
    from .headers import SecurityHeaders
    from .httperrors import CatchAll
    from .ratelimits import Counters
    from .requestbody import RequestBody
    from .security import FEEDBACK_PREFIXES, Logins, OwnerOnly, RateLimit

    check_limits(settings)  # here, not when the middleware is built on the first request
    counters = counters or Counters(settings.rate_limit_storage)
    gradio_mounts = ("", "/insights")
    own_routes = [r for r in app.router.routes if not (isinstance(r, Mount) and r.path in gradio_mounts)]
    app.add_middleware(GradioEvents, pages=pages if pages is not None else {})  # the same dict: filled when the pages mount
    app.add_middleware(RequestBody, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimit, rate=settings.rate_limit, counters=counters)
    app.add_middleware(RateLimit, rate=settings.feedback_rate_limit, prefixes=FEEDBACK_PREFIXES, what="ratings",
                       counters=counters)
    app.add_middleware(GradioRoutes, own_routes=own_routes, mounts=gradio_mounts)
    app.add_middleware(OwnerOnly, prefix="/insights", token=settings.admin_token,
                       logins=logins or Logins(settings.login_rate_limit, counters))
    app.add_middleware(CatchAll)
    app.add_middleware(SecurityHeaders, allowed_origins=settings.allowed_origins)
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins), allow_methods=["GET", "POST"],
                       allow_headers=["content-type"], expose_headers=["retry-after"], max_age=600)
    proxies.trust(app, settings.trusted_proxies)
    return app


def serve(settings: Settings | None = None) -> None:
    """The server on settings.host:port (see launch.serve)."""
    from .launch import serve as launch

    launch(settings)
