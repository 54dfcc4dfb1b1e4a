"""The embeddable chat widget: serves /widget.js (the one tag a blog pastes), /embed
(the same widget, inline, for an iframe) and /api/examples (the questions it offers
before the first one, when the page lists none). The files are static; all the
answering is the JSON API's. CORS and frame-ancestors are set in web.py/security.py.
"""
from __future__ import annotations

from pathlib import Path

from .settings import Settings

STATIC_DIR = Path(__file__).parent / "static"


def add_widget_routes(app, settings: Settings, live) -> None:
    """Adds GET /widget.js, GET /embed and GET /api/examples to a FastAPI app (before
    Gradio's catch-all mount). `live` is the served LiveAssistant."""
    import gzip

    from fastapi import Request
    from fastapi.responses import HTMLResponse, Response

    # Read (and compressed) once: the files ship inside the package and never change while serving.
    script = (STATIC_DIR / "widget.js").read_bytes()
    packed = gzip.compress(script, compresslevel=9, mtime=0)
    embed = (STATIC_DIR / "embed.html").read_text(encoding="utf-8")

    def widget_js(request: Request) -> Response:
        headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(packed, media_type="text/javascript; charset=utf-8", headers=headers | {"Content-Encoding": "gzip"})
        return Response(script, media_type="text/javascript; charset=utf-8", headers=headers)

    # FastAPI injects the request by the annotation's type, which it can't resolve from
    # the string (postponed annotations, a local import): give it the class, then route.
    widget_js.__annotations__["request"] = Request
    app.get("/widget.js", include_in_schema=False)(widget_js)

    @app.get("/api/examples")
    def examples() -> dict:
        """Three questions drawn from the articles' headings: {"examples": [...]}."""
        from .suggest import outline_for

        return {"examples": outline_for(live.current.index).examples(3)}

    @app.get("/embed", include_in_schema=False, response_class=HTMLResponse)
    def embed_page() -> HTMLResponse:
        return HTMLResponse(embed, headers={"Cache-Control": "public, max-age=300"})
