"""The embeddable chat widget: /widget.js (the one tag a blog pastes), /embed (the same
widget, inline, for an iframe) and /api/examples (the questions it offers before the
first one, when the page lists none). The files are static; all the answering is the
JSON API's. CORS and frame-ancestors are set by the hardening (web/hardening.py).
"""
from __future__ import annotations

import gzip
from html import escape
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from assistant.answer.suggest import outline_for
from assistant.web.site_texts import site_texts

STATIC_DIR = Path(__file__).parent.parent / "static"


SITE_SLOT = "var SITE = {};"


def router(live, settings) -> APIRouter:
    """GET /widget.js, GET /embed and GET /api/examples, over `live` (the served LiveAssistant)."""
    routes = APIRouter()
    # Read (and compressed) once: the files ship inside the package and never change while
    # serving; the owner's texts (settings and the index at start-up) are written into the script.
    texts = site_texts(settings, live.current.index)
    source = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    script = source.replace(SITE_SLOT, f"var SITE = {texts.as_script()};", 1).encode()
    packed = gzip.compress(script, compresslevel=9, mtime=0)
    embed = (STATIC_DIR / "embed.html").read_text(encoding="utf-8").replace("Ask this article", escape(texts.title))

    @routes.get("/widget.js", include_in_schema=False)
    def widget_js(request: Request) -> Response:
        headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(packed, media_type="text/javascript; charset=utf-8", headers=headers | {"Content-Encoding": "gzip"})
        return Response(script, media_type="text/javascript; charset=utf-8", headers=headers)

    @routes.get("/api/examples")
    def examples() -> dict:
        """Three questions drawn from the articles' headings: {"examples": [...]}."""
        return {"examples": outline_for(live.current.index).examples(3)}

    @routes.get("/embed", include_in_schema=False, response_class=HTMLResponse)
    def embed_page() -> HTMLResponse:
        return HTMLResponse(embed, headers={"Cache-Control": "public, max-age=300"})

    return routes
