"""The question log's records: a logged question as read back, and the Insights drawn from
the log (groups of questions, counts per day). The pipeline's own records are in records.py."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoggedQuestion:
    """One row of the question log: what a reader asked and, later, whether it helped."""

    id: str
    asked_at: str  # UTC, "2026-11-24T05:01:02.345Z"
    question: str
    answerable: bool
    passage_ids: tuple[str, ...] = ()
    latency_ms: float | None = None
    channel: str = ""  # "chat" (the Gradio page) or "api" (the widget and other clients)
    helpful: bool | None = None  # None: no feedback
    comment: str = ""
    feedback_at: str | None = None


@dataclass(frozen=True)
class QuestionGroup:
    """Questions that ask the same thing (same content words, or paraphrases by embedding)."""

    question: str  # the most common phrasing
    count: int
    variants: tuple[str, ...]  # distinct phrasings, most common first
    answered: int
    helpful: int
    unhelpful: int
    last_asked: str

    @property
    def refused(self) -> int:
        return self.count - self.answered


@dataclass(frozen=True)
class DayCount:
    date: str  # "2026-11-24", UTC
    questions: int
    answered: int
    helpful: int
    unhelpful: int

    @property
    def refused(self) -> int:
        return self.questions - self.answered


@dataclass(frozen=True)
class Insights:
    """What readers asked in a period, for the owner: `assistant insights` and /insights."""

    days: int
    since: str
    questions: int
    answered: int
    helpful: int
    unhelpful: int
    median_latency_ms: float | None
    top_questions: tuple[QuestionGroup, ...]
    unanswered: tuple[QuestionGroup, ...]
    unhelpful_answers: tuple[LoggedQuestion, ...]
    per_day: tuple[DayCount, ...]

    @property
    def refused(self) -> int:
        return self.questions - self.answered

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.questions if self.questions else None

    @property
    def helpful_ratio(self) -> float | None:
        rated = self.helpful + self.unhelpful
        return self.helpful / rated if rated else None
