"""The web shell: a FastAPI app with the Gradio chat mounted at "/", a JSON API, a
health check and an article page for citation links. Handlers only translate
HTTP <-> engine calls; retrieval lives in the engine.
"""
from __future__ import annotations

import html
from collections import defaultdict

from .errors import InvalidQuestion
from .passages import slugify
from .render import as_json, as_markdown
from .settings import Settings

NOTE = "Answers quote the article word for word, with numbered sources. They are not medical advice."


def example_questions(assistant, count: int = 4) -> list[str]:
    """Example questions drawn from the article's own section headings."""
    labels = [p.section[-1] for p in assistant.index.passages if p.section and p.section[-1] not in ("Introduction", "Conclusion")]
    return [f"What does the article say about {label.lower()}?" for label in dict.fromkeys(labels)][:count]


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


def chat_ui(assistant):
    import gradio as gr

    def respond(message: str, history: list) -> str:
        try:
            return as_markdown(assistant.ask(message, history=history))
        except InvalidQuestion as exc:
            return str(exc)

    return gr.ChatInterface(
        respond,
        title="Ask this article",
        description=NOTE,
        examples=example_questions(assistant),
        chatbot=gr.Chatbot(label="Article assistant", sanitize_html=True, render_markdown=True),
        textbox=gr.Textbox(placeholder="Ask about wrinkles, collagen, sun protection…", max_length=2000),
        api_visibility="private",
    )


def create_app(settings: Settings | None = None, assistant=None):
    import gradio as gr
    from fastapi import Body, FastAPI, HTTPException, Query
    from fastapi.responses import HTMLResponse, JSONResponse

    from .engine import Assistant

    settings = settings or Settings.from_env()
    assistant = assistant or Assistant.load(settings)
    app = FastAPI(title="Article assistant", summary=NOTE)

    def answer_json(question: str, history: list | None) -> JSONResponse:
        try:
            answer = assistant.ask(question, history=history)
        except InvalidQuestion as exc:
            status = 413 if len(question) > settings.max_question_chars else 422
            return JSONResponse({"error": str(exc)}, status_code=status)
        return JSONResponse(as_json(answer) | {"index_version": assistant.index.manifest.version})

    @app.get("/api/ask")
    def ask_get(q: str = Query("", description="the question")):
        return answer_json(q, None)

    @app.post("/api/ask")
    def ask_post(question: str = Body("", embed=True), history: list = Body(default_factory=list, embed=True)):
        return answer_json(question, history)

    @app.get("/healthz")
    def healthz():
        manifest = assistant.index.manifest
        return {"status": "ok", "index_version": manifest.version, "built_at": manifest.built_at,
                "articles": manifest.documents, "passages": len(assistant.index.passages)}

    @app.get("/articles/{slug}", response_class=HTMLResponse)
    def article(slug: str):
        page = article_page(assistant, slug)
        if page is None:
            raise HTTPException(404, "no such article")
        return HTMLResponse(page)

    demo = chat_ui(assistant)
    demo.queue(max_size=64, api_open=False, default_concurrency_limit=4)
    return gr.mount_gradio_app(app, demo, path="/", ssr_mode=False, footer_links=[])


def serve(settings: Settings | None = None) -> None:
    import uvicorn

    settings = settings or Settings.from_env()
    print(f"serving on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
