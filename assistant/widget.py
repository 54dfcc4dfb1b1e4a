"""The embeddable chat widget: serves /widget.js (the one tag a blog pastes) and
/embed (the same widget, inline, for an iframe). The files are static; all the
answering is the JSON API's. CORS and frame-ancestors are set in web.py/security.py.
"""
from __future__ import annotations

from pathlib import Path

from .settings import Settings

STATIC_DIR = Path(__file__).parent / "static"


def add_widget_routes(app, settings: Settings) -> None:
    """Adds GET /widget.js and GET /embed to a FastAPI app (before Gradio's catch-all mount).
    `settings` is taken like harden() takes it; the static files need none of it today."""
    from fastapi.responses import HTMLResponse, Response

    # Read once: the files ship inside the package and never change while serving.
    script = (STATIC_DIR / "widget.js").read_bytes()
    embed = (STATIC_DIR / "embed.html").read_text(encoding="utf-8")

    @app.get("/widget.js", include_in_schema=False)
    def widget_js() -> Response:
        return Response(script, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})

    @app.get("/embed", include_in_schema=False, response_class=HTMLResponse)
    def embed_page() -> HTMLResponse:
        return HTMLResponse(embed, headers={"Cache-Control": "public, max-age=300"})
