"""What every question-log store does, in SQL both SQLite and PostgreSQL run as written:
the schema and its migrations, writing a batch, retention, reading for reports. A store
subclass only says how to connect, how a transaction starts, which of its errors mean
"unreachable, try again later", and how it finds a table (the one query that differs).
Placeholders are "?" here; a store whose driver wants another style translates them.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from assistant.errors import AssistantError
from assistant.questionlog.records import LoggedQuestion

# Each entry brings the schema from the version before it to its own number (1-based).
# Every step is idempotent, so a log made before versions were recorded (version 0,
# with some of these tables already there) is brought up to date by running them all.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the questions, as the first log had them
    ("""CREATE TABLE IF NOT EXISTS questions (
        id TEXT PRIMARY KEY,
        asked_at TEXT NOT NULL,
        question TEXT NOT NULL,
        answerable INTEGER NOT NULL,
        passage_ids TEXT NOT NULL DEFAULT '[]',
        latency_ms DOUBLE PRECISION,
        channel TEXT NOT NULL DEFAULT '',
        helpful INTEGER,
        comment TEXT NOT NULL DEFAULT '',
        feedback_at TEXT)""",
     "CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at)"),
    # 2: questions answered but not recorded, shown to the owner until dismissed
    ("""CREATE TABLE IF NOT EXISTS losses (
        first_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        questions INTEGER NOT NULL,
        problem TEXT NOT NULL,
        dismissed_at TEXT)""",),
)
SCHEMA_VERSION = len(MIGRATIONS)

QUESTION_COLUMNS = "id, asked_at, question, answerable, passage_ids, latency_ms, channel"
ROW_COLUMNS = QUESTION_COLUMNS + ", helpful, comment, feedback_at"
INSERT_QUESTION = f"INSERT INTO questions ({QUESTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
INSERT_ROW = f"INSERT INTO questions ({ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
SET_FEEDBACK = "UPDATE questions SET helpful = ?, comment = ?, feedback_at = ? WHERE id = ?"
INSERT_LOSS = "INSERT INTO losses (first_at, last_at, questions, problem) VALUES (?, ?, ?, ?)"
DISMISS_LOSSES = "UPDATE losses SET dismissed_at = ? WHERE dismissed_at IS NULL"
SELECT_ROWS = f"SELECT {ROW_COLUMNS} FROM questions WHERE asked_at >= ? ORDER BY asked_at, id"
SELECT_LOSSES = "SELECT first_at, last_at, questions, problem FROM losses WHERE dismissed_at IS NULL ORDER BY first_at"


class QuestionLogUnreadable(AssistantError):
    """The question log can't be read: a damaged file, or a database that does not answer."""


class SchemaTooNew(AssistantError):
    """The log was written by a newer version of the assistant."""


def timestamp(moment: datetime | None = None) -> str:
    """UTC as "2026-11-24T05:01:02.345Z": sorts as text in every store, and SQLite's date() reads it."""
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Loss:
    """Questions that were answered but not recorded, from `first_at` to `last_at`."""

    first_at: str
    last_at: str
    questions: int
    problem: str

    def plus(self, other: "Loss | None") -> "Loss":
        if other is None:
            return self
        return Loss(min(self.first_at, other.first_at), max(self.last_at, other.last_at),
                    self.questions + other.questions, other.problem or self.problem)


class Connection(Protocol):
    """The part of a DB-API connection the queries use, with "?" placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...


class Store:
    """A question-log database. Subclasses provide the connection parts below the line."""

    name = ""  # where it is, for messages (never a password)
    table_exists_sql = ""  # one row when the table named by the parameter exists
    migration_lock_sql = ""  # taken inside the migration's transaction, when the transaction alone does not serialise it
    errors: tuple[type[BaseException], ...] = ()  # what the driver raises

    def migrate(self) -> int:
        """Create the schema, or bring an older one up to SCHEMA_VERSION; returns the version found."""
        with self.transaction() as db:
            if self.migration_lock_sql:
                db.execute(self.migration_lock_sql)
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            found = row[0] if row else 0
            if found > SCHEMA_VERSION:
                raise SchemaTooNew(f"the question log {self.name} has schema version {found}, newer than this "
                                   f"assistant knows ({SCHEMA_VERSION}): upgrade the assistant")
            for steps in MIGRATIONS[found:]:
                for step in steps:
                    db.execute(step)
            if row is None:
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif found < SCHEMA_VERSION:
                db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
        return found

    def write(self, questions: Sequence[tuple], updates: Sequence[tuple[str, tuple]], loss: Loss | None) -> list[bool]:
        """One transaction: the loss (if any), the new questions, then feedback and
        dismissals in order; returns, per update, whether it found its row."""
        results = []
        with self.transaction() as db:
            if loss:
                db.execute(INSERT_LOSS, (loss.first_at, loss.last_at, loss.questions, loss.problem))
            if questions:
                db.executemany(INSERT_QUESTION, questions)
            for kind, payload in updates:
                if kind == "feedback":
                    results.append(db.execute(SET_FEEDBACK, payload).rowcount > 0)
                else:
                    db.execute(DISMISS_LOSSES, payload)
                    results.append(True)
        return results

    def import_rows(self, rows: Sequence[tuple]) -> None:
        """Whole rows (ROW_COLUMNS), skipping ids already present."""
        with self.transaction() as db:
            db.executemany(INSERT_ROW, rows)

    def purge(self, cutoff: str) -> int:
        """Delete questions asked before `cutoff`, and dismissed losses as old; returns the questions removed."""
        with self.transaction() as db:
            removed = db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM losses WHERE dismissed_at < ?", (cutoff,))
        return removed

    def read(self, since: datetime | None = None) -> list[LoggedQuestion]:
        """Questions asked since `since` (all when None), oldest first; [] before anything was recorded."""
        rows = self._select("questions", SELECT_ROWS, (timestamp(since) if since else "",))
        return [LoggedQuestion(id=r[0], asked_at=r[1], question=r[2], answerable=bool(r[3]), passage_ids=tuple(_ids(r[4])),
                               latency_ms=r[5], channel=r[6], helpful=None if r[7] is None else bool(r[7]), comment=r[8],
                               feedback_at=r[9]) for r in rows]

    def read_losses(self) -> list[Loss]:
        """Losses recorded and not dismissed, oldest first."""
        return [Loss(*row) for row in self._select("losses", SELECT_LOSSES, ())]

    def schema_version(self) -> int:
        """The version recorded in the store (0: none recorded)."""
        rows = self._select("schema_version", "SELECT version FROM schema_version", ())
        return rows[0][0] if rows else 0

    def _select(self, table: str, sql: str, params: tuple) -> list[tuple]:
        try:
            with self.reading() as db:
                if db is None or not db.execute(self.table_exists_sql, (table,)).fetchone():
                    return []
                return [tuple(row) for row in db.execute(sql, params).fetchall()]
        except self.errors as exc:
            raise QuestionLogUnreadable(self.unreadable(exc)) from None

    # -- what each store provides ------------------------------------------------

    def transaction(self) -> AbstractContextManager[Connection]:
        """The writer's connection inside one transaction: committed on exit, rolled back on an error."""
        raise NotImplementedError

    def reading(self) -> AbstractContextManager[Connection | None]:
        """A connection for reports (any thread), or None where nothing was ever recorded."""
        raise NotImplementedError

    def unreachable(self, exc: BaseException) -> bool:
        """True when `exc` means the database can't be reached now and may be later (keep the rows)."""
        return False

    def unreadable(self, exc: BaseException) -> str:
        return f"the question log {self.name} can't be read ({exc})"

    def describe(self, exc: BaseException) -> str:
        """A failed write, in a line for the owner."""
        return str(exc).strip() or type(exc).__name__

    def reset(self) -> None:
        """Forget the writer's connection after a failure: the next transaction reconnects."""

    def close(self) -> None:
        """Release connections (at shutdown, or after a one-off read)."""


def _ids(raw: str) -> list[str]:
    try:
        ids = json.loads(raw)
    except ValueError:
        return []
    return [str(i) for i in ids] if isinstance(ids, list) else []

