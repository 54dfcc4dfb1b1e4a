"""The owner's routes: POST /api/reindex (a CMS webhook, behind the admin token) and the
/insights address without its slash (the page itself is a Gradio mount, gradio_pages.py)."""
from __future__ import annotations

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import RedirectResponse

from assistant.errors import AssistantError, IndexBusy
from assistant.http.error_bodies import documented, error_response
from assistant.settings import Settings


def router(settings: Settings, live, logins) -> APIRouter:
    """The admin routes over `live` (a LiveAssistant); wrong tokens count in `logins`."""
    routes = APIRouter()

    @routes.post("/api/reindex", responses=documented(400, 401, 404, 409, 413, 422, 429, 500))
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
                "removed": report.removed, "seconds": round(report.seconds, 3), "drafts_skipped": report.drafts_skipped,
                "index_version": live.current.index.manifest.version}

    @routes.get("/insights", include_in_schema=False)
    def insights_slash():
        return RedirectResponse("/insights/", status_code=308)

    return routes
