"""POST /api/feedback: a reader's thumbs on an answer, checked, then given to the question log."""
from __future__ import annotations

from fastapi import APIRouter, Body

from assistant.errors import AssistantError
from assistant.http.error_bodies import documented, error_response
from assistant.questionlog.feedback import Feedback


def router(questions) -> APIRouter:
    """The feedback route, recording into `questions` (the question log)."""
    routes = APIRouter()

    @routes.post("/api/feedback", responses=documented(400, 404, 413, 422, 429, 500, 503))
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

    return routes
