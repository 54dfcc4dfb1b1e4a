"""A reader's thumbs on an answer, checked before it reaches the log: the question id the
answer carried, a verdict and an optional short comment (printable, masked)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.errors import AssistantError
from assistant.questionlog.privacy import masked
from assistant.text.cleaning import printable

MAX_COMMENT_CHARS = 500
_ID = re.compile(r"^[0-9a-f]{32}$")


class InvalidFeedback(AssistantError):
    """Feedback without a valid question id or verdict, or with an over-long comment."""


@dataclass(frozen=True)
class Feedback:
    question_id: str
    helpful: bool
    comment: str = ""

    @classmethod
    def parse(cls, payload: object) -> "Feedback":
        """{"question_id": "…", "helpful": true, "comment": "…"} -> Feedback, or InvalidFeedback."""
        if not isinstance(payload, dict):
            raise InvalidFeedback('Send a JSON object: {"question_id": "…", "helpful": true or false}.')
        question_id, helpful, comment = payload.get("question_id"), payload.get("helpful"), payload.get("comment") or ""
        if not isinstance(question_id, str) or not _ID.match(question_id):
            raise InvalidFeedback("question_id must be the id returned with the answer.")
        if not isinstance(helpful, bool):
            raise InvalidFeedback("helpful must be true or false.")
        if not isinstance(comment, str):
            raise InvalidFeedback("comment must be text.")
        if len(comment) > MAX_COMMENT_CHARS:
            raise InvalidFeedback(f"The comment is {len(comment):,} characters; keep it under {MAX_COMMENT_CHARS}.")
        return cls(question_id, helpful, masked(printable(comment).strip()))  # no lone surrogate or control character
