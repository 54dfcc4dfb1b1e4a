"""The web shell: a FastAPI app with the Gradio chat mounted at "/", a JSON API, a
health check and an article page for citation links. Handlers only translate
HTTP <-> engine calls; retrieval lives in the engine.
"""
from __future__ import annotations

import atexit
import html
import json
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
CONTEXT_CHARS = 6000  # and at most this many characters of them
CHAT_SHOWN = 100  # messages a chat page keeps (the server holds a copy of each session's)
CHAT_BYTES = 0.75  # of the body cap: the page sends its whole chat with each question, and the rest is the question's
SESSION_SECONDS = 3600  # a chat's state is dropped after an hour without a question


def remembered(asked: list, question: str, answer_text: str) -> list:
    """The conversation as the engine reads it, after an answered turn: the last
    CHAT_MEMORY messages, oldest first dropped until they fit in CONTEXT_CHARS."""
    half = CONTEXT_CHARS // 2
    turns = (asked + [{"role": "user", "content": question[:half]}, {"role": "assistant", "content": answer_text[:half]}])
    turns = turns[-CHAT_MEMORY:]
    while len(turns) > 2 and sum(len(t["content"]) for t in turns) > CONTEXT_CHARS:
        turns = turns[2:]
    return turns


def shown_with(shown: list, ids: list, bubble: str, reply: str, question_id: str | None,
               max_bytes: int) -> tuple[list, list]:
    """The chat on the page and the log id of each of its turns, with one more turn; the
    oldest turns dropped past CHAT_SHOWN messages or `max_bytes` of JSON. Ids stay aligned
    with the turns shown even after the session's state expired (the page keeps them)."""
    ids = [None] * (len(shown) // 2 - len(ids)) + ids + [question_id]
    shown = shown + [{"role": "user", "content": bubble}, {"role": "assistant", "content": reply}]
    while len(shown) > 2 and (len(shown) > CHAT_SHOWN or len(json.dumps(shown, ensure_ascii=False, default=str).encode()) > max_bytes):
        shown, ids = shown[2:], ids[1:]
    return shown, ids[-(len(shown) // 2):]


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
            turns = remembered(asked, message, answer.text)  # questions and answers' text, as the engine reads them
        except InvalidQuestion as exc:  # not a turn of the conversation
            reply = escape_markdown(str(exc))
        bubble = escape_markdown(message[: settings.max_question_chars]) or "…"
        shown, ids = shown_with(shown, ids, bubble, reply, question_id, int(settings.max_body_bytes * CHAT_BYTES))
        return "", shown, turns, ids

    def on_like(vote: gr.LikeData, ids: list) -> None:
        index = vote.index[0] if isinstance(vote.index, (list, tuple)) else vote.index
        turn = index // 2
        if vote.liked in (True, False) and 0 <= turn < len(ids) and ids[turn]:
            questions.feedback(Feedback(ids[turn], vote.liked))

    # Gradio injects LikeData by the annotation's type; with postponed annotations
    # and a lazily imported gradio it can't resolve the string, so give it the class.
    on_like.__annotations__["vote"] = gr.LikeData

    with gr.Blocks(title="Ask this article", fill_height=True, delete_cache=(SESSION_SECONDS, SESSION_SECONDS)) as demo:
        gr.Markdown(f"## Ask this article\n{NOTE}")
        fresh = gr.Markdown(freshness(live.current), elem_id="freshness")
        asked = gr.State([], time_to_live=SESSION_SECONDS)
        ids = gr.State([], time_to_live=SESSION_SECONDS)  # the question log's id of each turn, for thumbs
        chatbot = gr.Chatbot(label="Article assistant", sanitize_html=True, render_markdown=True, height="65vh",
                             min_height=300, feedback_options=("Like", "Dislike"), elem_id="chat")
        with gr.Row(equal_height=True):
            box = gr.Textbox(placeholder="Ask about wrinkles, collagen, sun protection…", show_label=False,
                             max_length=settings.max_question_chars, scale=5, autofocus=True, elem_id="question")
            send = gr.Button("Ask", variant="primary", scale=1, min_width=80)
        gr.Examples(example_questions(live.current), inputs=box, label="Try")
        # not gr.ClearButton: it clears with a js= snippet the browser must eval, which the CSP forbids
        restart = gr.Button("New conversation", size="sm")
        restart.click(lambda: ("", [], [], []), None, [box, chatbot, asked, ids], queue=False, api_visibility="private")
        for trigger in (box.submit, send.click):
            trigger(submit, [box, chatbot, asked, ids], [box, chatbot, asked, ids], api_visibility="private")
        if questions.enabled:  # no thumbs when there is nowhere to record them
            chatbot.like(on_like, [ids], None, api_visibility="private")
        demo.load(lambda: freshness(live.current), None, fresh, api_visibility="private")
    return demo


def create_app(settings: Settings | None = None, live=None):
    """The whole server. `live` (a LiveAssistant) is made from `settings` when not given."""
    import os

    from .errors import IndexNotFound
    from .live import LiveAssistant

    settings = settings or Settings.from_env()
    check_limits(settings)  # a mistyped limit stops the start, before the model loads
    from .log import checked_url

    checked_url(settings.question_log_url)  # so does a question log URL that is neither sqlite nor postgresql
    if settings.replica and settings.watch_corpus:
        from .errors import InvalidArgument

        raise InvalidArgument("a replica never builds, so it can't watch the corpus: run `assistant watch` "
                              "where the index is written, and start the replica without --watch/ASSISTANT_WATCH")
    # No telemetry or version check from Gradio: read when a Blocks is made, and the
    # server must make no outside call (the env var, not an argument, covers every page).
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    try:
        live = live or LiveAssistant(settings, build=not settings.replica)  # a replica only loads what the builder wrote
    except IndexNotFound as exc:
        raise IndexNotFound(f"{exc} (a replica never builds one)" if settings.replica else str(exc)) from None

    import gradio as gr
    from fastapi import Body, Header, HTTPException, Query, Request
    from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
    from fastapi_offline import FastAPIOffline

    from .dashboard import insights_ui
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
        return JSONResponse(as_json(answer) | {"index_version": assistant.index.manifest.version} | logged)

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
                  "articles": manifest.documents, "passages": len(assistant.index.passages)} | questions.health()
        if live.last_error:
            health["index_problem"] = live.last_error  # serving the last good index meanwhile
        return health

    @app.get("/articles/{slug}", response_class=HTMLResponse, responses=documented(404, 422, 500))
    def article(slug: str):
        page = article_page(live.current, slug)
        if page is None:
            raise HTTPException(404, "no such article")
        return HTMLResponse(page)

    @app.get("/insights", include_in_schema=False)
    def insights_slash():
        return RedirectResponse("/insights/", status_code=308)

    add_widget_routes(app, settings)
    dashboard = insights_ui(settings, lambda texts: live.current.embedder.encode(texts), questions,
                            lambda: live.current.index.passages)
    dashboard.queue(max_size=16, api_open=False, default_concurrency_limit=1)
    closed = {"ssr_mode": False, "footer_links": [], "run_history": False, "enable_monitoring": False,
              "mcp_server": False, "pwa": False, "max_file_size": 1}  # nothing of Gradio's that we don't use
    app = gr.mount_gradio_app(app, dashboard, path="/insights", **closed)  # before "/"
    demo = chat_ui(live, settings, questions)
    demo.queue(max_size=64, api_open=False, default_concurrency_limit=4)
    app = gr.mount_gradio_app(app, demo, path="/", css=CSS, **closed)
    live.load_model_in_background()
    return harden(app, settings, logins, pages={"/": demo, "/insights": dashboard}, counters=counters)


def check_limits(settings: Settings) -> None:
    """InvalidArgument naming the setting when a rate or a trusted proxy can't be read."""
    from . import proxies
    from .ratelimits import checked_storage
    from .security import checked_rate

    checked_rate("ASSISTANT_RATE_LIMIT", settings.rate_limit)
    checked_rate("ASSISTANT_FEEDBACK_RATE_LIMIT", settings.feedback_rate_limit)
    checked_rate("ASSISTANT_LOGIN_RATE_LIMIT", settings.login_rate_limit)
    checked_storage(settings.rate_limit_storage)
    proxies.checked(settings.trusted_proxies)


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
    app.add_middleware(GradioEvents, pages=pages or {})
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
    """Run the app under uvicorn with the connection limits of connections.py."""
    import logging
    import sys

    import uvicorn

    from .connections import ConnectionLimits, DropReport, raise_open_files_limit, server_config, summarise_connection_errors
    from .errors import AssistantError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = settings or Settings.from_env()
    open_files = raise_open_files_limit()
    limits = ConnectionLimits.within(open_files, settings.max_connections, settings.request_timeout)
    report = DropReport()
    summarise_connection_errors(report)
    print(f"serving on http://{settings.host}:{settings.port} (open-files limit {open_files}, "
          f"up to {limits.max_connections} connections)", flush=True)
    try:
        app = create_app(settings)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    uvicorn.Server(server_config(app, settings.host, settings.port, limits, report)).run()
