"""Which question log a process uses, and reading one: `open_log` gives the writer
(questionlog/writer.py) or, with ASSISTANT_LOG_QUESTIONS=0, `NoLog`, which records
nothing; `read` and `read_losses` read a log by its file or URL without opening a writer.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from assistant.questionlog.feedback import Feedback
from assistant.questionlog.records import LoggedQuestion
from assistant.questionlog.store import Loss
from assistant.questionlog.stores import open_store
from assistant.questionlog.writer import QuestionLog
from assistant.records import Answer


class NoLog:
    """Stands in for QuestionLog when ASSISTANT_LOG_QUESTIONS=0: records nothing, and
    reads what an earlier run recorded at `location` (if given)."""

    enabled = False
    last_error = ""
    skipped = 0
    waiting = 0

    def __init__(self, location: str | Path | None = None):
        self.location = location

    def read(self, since: datetime | None = None) -> list[LoggedQuestion]:
        return read(self.location, since) if self.location else []

    def losses(self) -> list[Loss]:
        return []

    def unsaved_losses(self) -> list[Loss]:
        return []

    def dismiss_losses(self, timeout: float = 3.0) -> bool:
        return True

    def status(self) -> str:
        return "ok"

    def health(self) -> dict:
        return {}

    def record(self, answer: Answer, seconds: float, channel: str) -> None:
        return None

    def feedback(self, feedback: Feedback, timeout: float = 3.0) -> None:
        return None

    def flush(self, timeout: float = 10.0) -> bool:
        return True

    def close(self) -> None:
        pass


def open_log(settings) -> QuestionLog | NoLog:
    if not settings.log_questions:
        return NoLog(settings.question_log_url)
    return QuestionLog(settings.question_log_url, settings.retention_days, settings.data_dir / "feedback.jsonl",
                       settings.log_buffer_rows)


def read(location: str | Path, since: datetime | None = None) -> list[LoggedQuestion]:
    """Recorded questions asked since `since` (all when None), oldest first, from a file
    path or a URL; [] when nothing was ever recorded. Never creates a database."""
    store = open_store(location)
    try:
        return store.read(since)
    finally:
        store.close()


def read_losses(location: str | Path) -> list[Loss]:
    """Losses recorded in the log and not dismissed, oldest first; [] without a log."""
    store = open_store(location)
    try:
        return store.read_losses()
    finally:
        store.close()
