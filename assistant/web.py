"""The web shell: a FastAPI app with the Gradio chat (chat.py) mounted at "/", a JSON
API, a health check and an article page for citation links. Handlers only translate
HTTP <-> engine calls; retrieval lives in the engine.
"""
from __future__ import annotations

import atexit
import time

from .chat import NOTE
from .errors import InvalidQuestion
from .render import as_json
from .settings import Settings

def ask_recorded(assistant, questions, question: str, history, channel: str):
    """assistant.ask, timed and put in the question log: (answer, question id or None), the
    citations linking to exactly their quoted sentence. Raises InvalidQuestion, as ask
    does, without recording anything."""
    from .fragments import linker_for

    started = time.perf_counter()
    answer = linker_for(assistant.index).relink(assistant.ask(question, history=history))
    return answer, questions.record(answer, time.perf_counter() - started, channel)


def create_app(settings: Settings | None = None, live=None):
    """The whole server. `live` (a LiveAssistant) is made from `settings` when not given."""
    from .live import LiveAssistant

    settings = settings or Settings.from_env()
    live = live or LiveAssistant(settings)

    import gradio as gr
    from fastapi import Body, FastAPI, Header, HTTPException, Query
    from fastapi.responses import HTMLResponse, JSONResponse

    from .articlepage import article_blocks, article_html
    from .chat import mount_chat
    from .dashboard import CSS as INSIGHTS_CSS
    from .dashboard import insights_ui
    from .errors import AssistantError, IndexBusy
    from .questionlog import Feedback, open_log
    from .security import is_owner
    from .widget import add_widget_routes

    questions = open_log(settings)
    atexit.register(questions.close)  # what is queued is written before the process exits
    live.follow_index(settings.reload_seconds)
    if settings.watch_corpus:
        live.follow_corpus()
    app = FastAPI(title="Article assistant", summary=NOTE)

    def answer_json(question: str, history: list | None) -> JSONResponse:
        assistant = live.current  # one index for the whole request, even if a swap happens
        try:
            answer, question_id = ask_recorded(assistant, questions, question, history, "api")
        except InvalidQuestion as exc:
            status = 413 if len(question) > settings.max_question_chars else 422
            return JSONResponse({"error": str(exc)}, status_code=status)
        logged = {"question_id": question_id} if question_id else {}
        suggestions = {"suggestions": follow_ups(assistant, answer, history)}
        return JSONResponse(as_json(answer) | {"index_version": assistant.index.manifest.version} | logged | suggestions)

    @app.get("/api/ask")
    def ask_get(q: str = Query("", description="the question")):
        return answer_json(q, None)

    @app.post("/api/ask")
    def ask_post(question: str = Body("", embed=True), history: list = Body(default_factory=list, embed=True)):
        return answer_json(question, history)

    @app.post("/api/feedback")
    def give_feedback(payload: object = Body(None)):
        """Thumbs on an answer: {"question_id": from /api/ask, "helpful": bool, "comment": optional, ≤ 500 chars}."""
        if not questions.enabled:
            return JSONResponse({"error": "Feedback is not recorded here: question logging is off."}, status_code=404)
        try:
            feedback = Feedback.parse(payload)
        except AssistantError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        saved = questions.feedback(feedback)
        if saved is None:
            return JSONResponse({"error": "Feedback could not be saved just now; please try again later."}, status_code=503)
        if not saved:
            return JSONResponse({"error": "No such question (it may be older than the log keeps)."}, status_code=404)
        return {"recorded": True}

    @app.post("/api/reindex")
    def reindex(authorization: str = Header("")):
        """Rebuild from the corpus and swap the new index in (a CMS webhook).
        Needs `Authorization: Bearer $ASSISTANT_ADMIN_TOKEN`; disabled without a token."""
        if not settings.admin_token:
            raise HTTPException(404, "reindexing over HTTP is disabled: set ASSISTANT_ADMIN_TOKEN to enable it")
        if not is_owner(authorization, settings.admin_token):
            raise HTTPException(401, "wrong or missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        try:
            report = live.rebuild()
        except IndexBusy as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        except AssistantError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return {"passages": report.passages, "embedded": report.embedded, "reused": report.reused,
                "removed": report.removed, "seconds": round(report.seconds, 3),
                "index_version": live.current.index.manifest.version}

    @app.get("/healthz")
    def healthz():
        assistant = live.current
        manifest = assistant.index.manifest
        health = {"status": "ok", "index_version": manifest.version, "built_at": manifest.built_at,
                  "articles": manifest.documents, "passages": len(assistant.index.passages)}
        if live.last_error:
            health["index_problem"] = live.last_error  # serving the last good index meanwhile
        return health

    @app.get("/articles/{slug}", response_class=HTMLResponse)
    def article(slug: str):
        page = article_blocks(live.current.index.passages, slug)
        if page is None:
            raise HTTPException(404, "no such article")
        return HTMLResponse(article_html(page))

    add_widget_routes(app, settings, live)
    dashboard = insights_ui(settings, lambda texts: live.current.embedder.encode(texts), questions,
                            lambda: live.current.index.passages)
    dashboard.queue(max_size=16, api_open=False, default_concurrency_limit=1)
    app = gr.mount_gradio_app(app, dashboard, path="/insights", ssr_mode=False, footer_links=[], css=INSIGHTS_CSS)  # before "/"
    app = mount_chat(app, live, settings, questions)
    live.load_model_in_background()
    return harden(app, settings)


def follow_ups(assistant, answer, history) -> list[str]:
    """Suggested next questions for an API answer: nearby sections the reader's questions
    (this one and those in `history`) haven't covered."""
    from .followup import turns
    from .suggest import outline_for

    asked = [text for role, text in turns(history) if role == "user"]
    return outline_for(assistant.index).follow_ups(answer, asked)


def harden(app, settings: Settings):
    """Wrap the app: CORS for allowed origins only, frame-ancestors, body cap, rate limit."""
    import limits  # noqa: F401  (fail at start-up, not on the first request, if it is missing)
    from starlette.middleware.cors import CORSMiddleware

    from .security import FEEDBACK_PREFIXES, FEEDBACK_RATE, BodyLimit, OwnerOnly, RateLimit, SecurityHeaders

    app.add_middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins), allow_methods=["GET", "POST"],
                       allow_headers=["content-type"], max_age=600)
    app.add_middleware(SecurityHeaders, allowed_origins=settings.allowed_origins)
    app.add_middleware(OwnerOnly, prefix="/insights", token=settings.admin_token)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimit, rate=settings.rate_limit)
    app.add_middleware(RateLimit, rate=FEEDBACK_RATE, prefixes=FEEDBACK_PREFIXES)
    return app


def serve(settings: Settings | None = None) -> None:
    """The server on settings.host:port (see launch.serve)."""
    from .launch import serve as launch

    launch(settings)
