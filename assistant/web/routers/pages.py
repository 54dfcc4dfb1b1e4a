"""Pages of our own beside Gradio's: /articles/<slug>, the article a citation links to
(with the quoted sentence highlighted by its text fragment), and /chat.js, the chat
page's one script (the CSP allows no inline one)."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response

from assistant.content.article_page import article_blocks, article_html
from assistant.http.error_bodies import documented

CHAT_SCRIPT = Path(__file__).parent.parent / "static" / "chat.js"


def router(live) -> APIRouter:
    """The page routes over `live` (a LiveAssistant), added before Gradio's catch-all mount."""
    routes = APIRouter()
    script = CHAT_SCRIPT.read_bytes()

    @routes.get("/articles/{slug}", response_class=HTMLResponse, responses=documented(404, 422, 500))
    def article(slug: str):
        page = article_blocks(live.current.index.passages, slug)
        if page is None:
            raise HTTPException(404, "no such article")
        return HTMLResponse(article_html(page))

    @routes.get("/chat.js", include_in_schema=False)
    def chat_js() -> Response:
        return Response(script, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "public, max-age=300"})

    return routes
