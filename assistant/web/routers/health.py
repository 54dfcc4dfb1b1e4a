"""GET /healthz: what is served (index version, articles, passages), whether the pages are
up, and anything degraded (the question log, shared rate limits, a bad newer index). A
model that can't encode makes it 503: no question can be answered, so a load balancer or
an uptime monitor must see the server as down, not "ok"."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistant.http.error_bodies import documented


def router(live, questions, counters) -> APIRouter:
    """The health route over `live`, `questions` (the question log) and the rate-limit `counters`."""
    routes = APIRouter()

    @routes.get("/healthz", responses=documented(500) | {503: {"description": "The model can't be loaded, so no question "
                                                                     "can be answered; the body is this report"}})
    def healthz(request: Request):
        assistant = live.current
        manifest = assistant.index.manifest
        late = request.app.state.late_pages  # pages mounted after start-up (late_pages.py), or None
        degraded = [status for status in (counters.status(), questions.status()) if status != "ok"]
        health = {"status": "; ".join(degraded) or "ok", "index_version": manifest.version, "built_at": manifest.built_at,
                  "articles": manifest.documents, "passages": len(assistant.index.passages),
                  "pages": late.state if late else "ready"} | questions.health()
        if live.last_error:
            health["index_problem"] = live.last_error  # serving the last good index meanwhile
        if problem := live.model_status():
            return JSONResponse({**health, "status": f"model not loaded: {problem}"}, status_code=503)
        return health

    return routes
