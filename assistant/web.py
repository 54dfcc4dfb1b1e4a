"""The web shell: a FastAPI app with the Gradio chat mounted at "/", a JSON API, a
health check and an article page for citation links. Handlers only translate
HTTP <-> engine calls; retrieval lives in the engine.
"""
from __future__ import annotations

import atexit
import html
import time

from .errors import InvalidQuestion
from .passages import slugify
from .render import as_json, as_markdown
from .settings import Settings

NOTE = "Answers quote the article word for word, with numbered sources. They are not medical advice."


def example_questions(assistant, count: int = 4) -> list[str]:
    """Example questions drawn from the article's own section headings (the shortest,
    which are the most specific: "Sun Protection", "Dynamic Wrinkles")."""
    labels = list(dict.fromkeys(p.section[-1] for p in assistant.index.passages
                                if p.section and p.section[-1] not in ("Introduction", "Conclusion")))
    shortest = sorted(labels, key=len)[:count]
    return [f"Tell me about {label.lower()}" for label in labels if label in shortest]


def article_page(assistant, slug: str) -> str | None:
    """The indexed article as plain HTML with heading anchors, or None if unknown."""
    passages = [p for p in assistant.index.passages if p.doc_slug == slug]
    if not passages:
        return None
    parts = [f"<h1>{html.escape(passages[0].doc_title)}</h1>"]
    shown: set[tuple[str, ...]] = set()
    for p in passages:
        for depth in range(1, len(p.section) + 1):
            heading = p.section[:depth]
            if heading not in shown and heading[-1] not in ("Introduction",):
                shown.add(heading)
                tag = f"h{min(depth + 1, 6)}"
                parts.append(f'<{tag} id="{slugify(heading[-1])}">{html.escape(heading[-1])}</{tag}>')
        parts.append(f"<p>{html.escape(p.text)}</p>")
    style = "body{max-width:44rem;margin:2rem auto;padding:0 1rem;font:17px/1.6 system-ui,sans-serif}:target{background:#fff3b0}"
    return f'<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{html.escape(passages[0].doc_title)}</title><style>{style}</style><body>{"".join(parts)}</body></html>'


CSS = """
.message mark { background: #fff3b0; color: inherit; padding: 0 .1em; border-radius: 2px; }
.dark .message mark { background: #5c4d00; }
footer { display: none !important; }
"""


def freshness(assistant) -> str:
    """"Index built … from N articles, M passages" for readers and the owner."""
    manifest = assistant.index.manifest
    articles = manifest.documents
    return (f"Index built {manifest.built_at.replace('T', ' ').replace('+00:00', ' UTC')} from "
            f"{articles} article{'s' if articles != 1 else ''}, {len(assistant.index.passages)} passages.")


def ask_recorded(assistant, questions, question: str, history, channel: str):
    """assistant.ask, timed and put in the question log: (answer, question id or None).
    Raises InvalidQuestion, as ask does, without recording anything."""
    started = time.perf_counter()
    answer = assistant.ask(question, history=history)
    return answer, questions.record(answer, time.perf_counter() - started, channel)


CHAT_MEMORY = 6  # messages of a chat kept for follow-ups: the topic comes from the last answer


def chat_ui(live, settings: Settings, questions):
    """The chat page: the reader's message is shown escaped (as text, never markup),
    the last exchanges are kept in a State for follow-ups, answers are as_markdown().
    `questions` (the question log) records each turn; thumbs become its feedback."""
    import gradio as gr

    from .question import readable
    from .questionlog import Feedback
    from .render import escape_markdown

    def submit(message: str, shown: list, asked: list, ids: list):
        message = readable(message)
        question_id = None
        turns = asked
        try:
            answer, question_id = ask_recorded(live.current, questions, message, asked, "chat")
            reply = as_markdown(answer)
            # the conversation as the engine reads it: the last exchanges, questions and answers' text
            turns = (asked + [{"role": "user", "content": message}, {"role": "assistant", "content": answer.text}])[-CHAT_MEMORY:]
        except InvalidQuestion as exc:  # not a turn of the conversation
            reply = escape_markdown(str(exc))
        bubble = escape_markdown(message[: settings.max_question_chars]) or "…"
        shown = shown + [{"role": "user", "content": bubble}, {"role": "assistant", "content": reply}]
        return "", shown, turns, ids + [question_id]

    def on_like(vote: gr.LikeData, ids: list) -> None:
        index = vote.index[0] if isinstance(vote.index, (list, tuple)) else vote.index
        turn = index // 2
        if vote.liked in (True, False) and 0 <= turn < len(ids) and ids[turn]:
            questions.feedback(Feedback(ids[turn], vote.liked))

    # Gradio injects LikeData by the annotation's type; with postponed annotations
    # and a lazily imported gradio it can't resolve the string, so give it the class.
    on_like.__annotations__["vote"] = gr.LikeData

    with gr.Blocks(title="Ask this article", fill_height=True) as demo:
        gr.Markdown(f"## Ask this article\n{NOTE}")
        fresh = gr.Markdown(freshness(live.current), elem_id="freshness")
        asked = gr.State([])
        ids = gr.State([])  # the question log's id of each turn, for thumbs
        chatbot = gr.Chatbot(label="Article assistant", sanitize_html=True, render_markdown=True, height="65vh",
                             min_height=300, feedback_options=("Like", "Dislike"), elem_id="chat")
        with gr.Row(equal_height=True):
            box = gr.Textbox(placeholder="Ask about wrinkles, collagen, sun protection…", show_label=False,
                             max_length=settings.max_question_chars, scale=5, autofocus=True, elem_id="question")
            send = gr.Button("Ask", variant="primary", scale=1, min_width=80)
        gr.Examples(example_questions(live.current), inputs=box, label="Try")
        gr.ClearButton([box, chatbot, asked, ids], value="New conversation", size="sm")
        for trigger in (box.submit, send.click):
            trigger(submit, [box, chatbot, asked, ids], [box, chatbot, asked, ids], api_visibility="private")
        if questions.enabled:  # no thumbs when there is nowhere to record them
            chatbot.like(on_like, [ids], None, api_visibility="private")
        demo.load(lambda: freshness(live.current), None, fresh, api_visibility="private")
    return demo


def create_app(settings: Settings | None = None, live=None, pages_later: bool = False):
    """The whole server. `live` (a LiveAssistant) is made from `settings` when not given.
    With `pages_later`, the Gradio pages are imported and mounted once the server runs
    (pages.py), so the API answers seconds earlier."""
    from .live import LiveAssistant

    settings = settings or Settings.from_env()
    live = live or LiveAssistant(settings)
    live.load_model()  # now, so the first reader doesn't wait for it

    from fastapi import Body, FastAPI, Header, HTTPException, Query
    from fastapi.responses import HTMLResponse, JSONResponse

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
        return JSONResponse(as_json(answer) | {"index_version": assistant.index.manifest.version} | logged)

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
                  "articles": manifest.documents, "passages": len(assistant.index.passages),
                  "pages": pages.state if pages else "ready"}
        if live.last_error:
            health["index_problem"] = live.last_error  # serving the last good index meanwhile
        return health

    @app.get("/articles/{slug}", response_class=HTMLResponse)
    def article(slug: str):
        page = article_page(live.current, slug)
        if page is None:
            raise HTTPException(404, "no such article")
        return HTMLResponse(page)

    add_widget_routes(app, settings)

    def mount_pages(app) -> None:
        import gradio as gr

        from .dashboard import insights_ui

        dashboard = insights_ui(settings, lambda texts: live.current.embedder.encode(texts), questions,
                                lambda: live.current.index.passages)
        dashboard.queue(max_size=16, api_open=False, default_concurrency_limit=1)
        gr.mount_gradio_app(app, dashboard, path="/insights", ssr_mode=False, footer_links=[])  # before "/"
        demo = chat_ui(live, settings, questions)
        demo.queue(max_size=64, api_open=False, default_concurrency_limit=4)
        gr.mount_gradio_app(app, demo, path="/", ssr_mode=False, footer_links=[], css=CSS)

    if pages_later:
        from .pages import LatePages

        pages = LatePages(app, mount_pages)
    else:
        pages = None
        mount_pages(app)
    return harden(app, settings)


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
    import logging

    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = settings or Settings.from_env()
    print(f"serving on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(create_app(settings, pages_later=True), host=settings.host, port=settings.port, log_level="warning")
