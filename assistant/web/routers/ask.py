"""GET and POST /api/ask: a question (and the conversation so far) -> the answer as JSON,
with its question-log id and the follow-ups to suggest."""
from __future__ import annotations

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from assistant.answer.conversation import turns
from assistant.answer.render import as_json
from assistant.answer.suggest import outline_for
from assistant.engine.recorded import ask_recorded
from assistant.errors import AssistantError, InvalidQuestion
from assistant.http.error_bodies import documented, error_response
from assistant.settings import Settings


def router(settings: Settings, live, questions) -> APIRouter:
    """The ask routes over `live` (a LiveAssistant), recording into `questions`."""
    routes = APIRouter()

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
        suggestions = {"suggestions": follow_ups(assistant, answer, history)}
        return JSONResponse(as_json(answer) | {"index_version": assistant.index.manifest.version} | logged | suggestions)

    @routes.get("/api/ask", responses=documented(413, 422, 429, 500, 503))
    def ask_get(q: str = Query("", description="the question")):
        return answer_json(q, None)

    @routes.post("/api/ask", responses=documented(400, 413, 422, 429, 500, 503))
    def ask_post(question: str = Body("", embed=True), history: list = Body(default_factory=list, embed=True)):
        return answer_json(question, history)

    return routes


def follow_ups(assistant, answer, history) -> list[str]:
    """Suggested next questions for an API answer: nearby sections the reader's questions
    (this one and those in `history`) haven't covered."""
    asked = [text for role, text in turns(history) if role == "user"]
    return outline_for(assistant.index).follow_ups(answer, asked)
