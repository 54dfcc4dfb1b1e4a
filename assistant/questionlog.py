"""The question log: every question a reader asks (answered or refused), its cited
passages, latency and later its feedback, in SQLite (stdlib, WAL mode).

Writes go through one writer thread that commits whatever is queued as one
transaction; `record` waits (at most COMMIT_WAIT) for its row's commit, so an
answer sent is a row on disk, even if the process is killed right after. A
locked, unwritable or corrupt database, or any other failure of a batch, is
logged once and the batch counted as lost, never raised into a request; the
count is kept in the log itself (`losses`) once it can be written again, until
the owner dismisses it. A writer thread that dies is restarted. Text is made
printable before it is queued. Stores no IP address, cookie or user id, masks
e-mail addresses and phone-like numbers, and deletes rows older than the
retention period. Reading for reports is `read()`; summarising is insights.py.
"""
from __future__ import annotations

import json
import logging
import queue
import re
import sqlite3
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .errors import AssistantError
from .question import printable
from .records import Answer, LoggedQuestion

log = logging.getLogger(__name__)

MAX_COMMENT_CHARS = 500
QUEUE_SIZE = 10_000  # questions waiting to be written; past this they are dropped (and logged)
BATCH_SIZE = 500
PURGE_EVERY_SECONDS = 3600
LOCK_WAIT_MS = 2000  # how long the writer waits on a lock before skipping a batch
COMMIT_WAIT = 1.0  # seconds an answer waits for its row's commit (about 1 ms when the log is healthy)
_ID = re.compile(r"^[0-9a-f]{32}$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()./-]{5,}\d")

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY,
    asked_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answerable INTEGER NOT NULL,
    passage_ids TEXT NOT NULL DEFAULT '[]',
    latency_ms REAL,
    channel TEXT NOT NULL DEFAULT '',
    helpful INTEGER,
    comment TEXT NOT NULL DEFAULT '',
    feedback_at TEXT
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at);
CREATE TABLE IF NOT EXISTS losses (
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    questions INTEGER NOT NULL,
    problem TEXT NOT NULL,
    dismissed_at TEXT
);
"""


class QuestionLogUnreadable(AssistantError):
    """The question log exists but is not a readable SQLite database."""


class InvalidFeedback(AssistantError):
    """Feedback without a valid question id or verdict, or with an over-long comment."""


def timestamp(moment: datetime | None = None) -> str:
    """UTC as "2026-11-24T05:01:02.345Z": sorts as text, and SQLite's date() reads it."""
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def masked(question: str) -> str:
    """The question with e-mail addresses and phone-like numbers replaced: readers
    sometimes type them, and the owner needs neither to see what was asked."""
    return _PHONE.sub("[number]", _EMAIL.sub("[email]", question))


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


class QuestionLog:
    """Records questions and feedback into the SQLite file at `path` from a writer thread."""

    enabled = True

    def __init__(self, path: Path, retention_days: int = 90, legacy_feedback: Path | None = None):
        self.path = Path(path)
        self.retention_days = retention_days
        self.legacy_feedback = legacy_feedback  # data/feedback.jsonl from before this log existed
        self.last_error = ""  # the latest write problem, "" once writes succeed again
        self.skipped = 0  # questions not recorded since start-up
        self._queue: queue.Queue = queue.Queue(QUEUE_SIZE)
        self._lock = threading.Lock()
        self._unsaved: Loss | None = None  # losses not yet written into the log's own `losses` table
        self._closed = False
        self._thread = self._start_writer()

    def record(self, answer: Answer, seconds: float, channel: str) -> str | None:
        """Queue one asked question and wait for its commit (at most COMMIT_WAIT, and not
        at all while the log is failing); returns its id (for feedback), or None if it
        could not even be queued. Never raises: the answer matters more than its row."""
        committed: Future = Future()
        try:
            question_id = uuid.uuid4().hex
            row = (question_id, timestamp(), masked(printable(answer.question)), int(answer.answerable),
                   json.dumps([c.passage_id for c in answer.citations]), round(seconds * 1000, 2), channel)
            self._ensure_writer()
            self._queue.put_nowait(("question", row, committed))
        except queue.Full:
            self._fail("the write queue is full", lost=1)
            return None
        except Exception as exc:  # a bug here must cost a log row, not a reader's answer
            self._fail(f"could not queue a question: {type(exc).__name__}: {exc}", lost=1)
            return None
        if not self.last_error:
            try:
                committed.result(COMMIT_WAIT)
            except TimeoutError:
                pass  # still queued: written when the database answers, or counted as lost
        return question_id

    def feedback(self, feedback: Feedback, timeout: float = 3.0) -> bool | None:
        """Attach a verdict (and comment) to a recorded question, replacing an earlier one.
        True: saved; False: no such question; None: the database could not be written."""
        done: Future = Future()
        try:
            self._ensure_writer()
            self._queue.put_nowait(("feedback", (int(feedback.helpful), feedback.comment, timestamp(), feedback.question_id), done))
            return done.result(timeout)
        except (queue.Full, TimeoutError):
            return None

    def losses(self) -> list[Loss]:
        """Questions lost and not yet dismissed by the owner: those recorded in the log,
        then those since its last successful write. Raises QuestionLogUnreadable."""
        with self._lock:
            unsaved = self._unsaved
        return read_losses(self.path) + ([unsaved] if unsaved else [])

    def dismiss_losses(self, timeout: float = 3.0) -> bool:
        """The owner has seen the losses: stop showing them. False if the log can't be written."""
        with self._lock:
            self._unsaved = None
        done: Future = Future()
        try:
            self._ensure_writer()
            self._queue.put_nowait(("dismiss", (timestamp(),), done))
            return bool(done.result(timeout))
        except (queue.Full, TimeoutError):
            return False

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written (or skipped)."""
        done: Future = Future()
        self._ensure_writer()
        self._queue.put(("flush", None, done))
        try:
            done.result(timeout)
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        """Write what is queued, then stop the writer (at server shutdown)."""
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(("stop", None, None))
            self._thread.join(10)

    # -- the writer thread --------------------------------------------------------

    def _start_writer(self) -> threading.Thread:
        thread = threading.Thread(target=self._write_forever, name="question-log", daemon=True)
        thread.start()
        return thread

    def _ensure_writer(self) -> None:
        """Restart the writer if it died (it never should: see _write_forever)."""
        if self._thread.is_alive() or self._closed:
            return
        with self._lock:
            if not self._thread.is_alive():
                log.error("question log %s: the writer thread had stopped; restarted it", self.path)
                self._thread = self._start_writer()

    def _write_forever(self) -> None:
        db: sqlite3.Connection | None = None
        purged: float | None = None
        batch: list = []
        try:
            while True:
                batch = self._next_batch()
                try:
                    if db is None:
                        db = self._connect()
                    if purged is None or time.monotonic() - purged > PURGE_EVERY_SECONDS:
                        self._purge(db)
                        purged = time.monotonic()
                    results = self._write(db, batch)
                    self.last_error = ""
                except Exception as exc:  # noqa: BLE001 - whatever a batch does, the writer must live on
                    self._fail(str(exc) or type(exc).__name__, lost=_questions_in(batch))
                    results = [None] * len(batch)
                    if db is not None:
                        db.close()
                    db = None  # reconnect next time: the file may be writable again
                _settle(batch, results)
                if any(kind == "stop" for kind, _, _ in batch):
                    return
                batch = []
        except BaseException as exc:  # noqa: BLE001 - counted and reported; the next caller restarts the writer
            self._fail(f"the writer stopped: {type(exc).__name__}: {exc}", lost=_questions_in(batch))
            _settle(batch, [None] * len(batch))
        finally:
            if db is not None:
                db.close()

    def _next_batch(self) -> list:
        """Everything queued, up to BATCH_SIZE, waiting for the first item ([] after an
        hour of silence, so the hourly purge still runs)."""
        try:
            batch = [self._queue.get(timeout=PURGE_EVERY_SECONDS)]
        except queue.Empty:
            return []
        while len(batch) < BATCH_SIZE:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=LOCK_WAIT_MS / 1000, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            self._import_legacy(db)
        except BaseException:
            db.close()
            raise
        return db

    def _write(self, db: sqlite3.Connection, batch: list) -> list[bool | None]:
        """One transaction for the whole batch, with the losses not yet recorded; feedback
        gets whether its question exists."""
        results: list[bool | None] = []
        with self._lock:
            unsaved, self._unsaved = self._unsaved, None
        try:
            db.execute("BEGIN IMMEDIATE")
            if unsaved:
                db.execute("INSERT INTO losses (first_at, last_at, questions, problem) VALUES (?, ?, ?, ?)",
                           (unsaved.first_at, unsaved.last_at, unsaved.questions, unsaved.problem))
            for kind, payload, _ in batch:
                if kind == "question":
                    db.execute("INSERT OR IGNORE INTO questions (id, asked_at, question, answerable, passage_ids, "
                               "latency_ms, channel) VALUES (?, ?, ?, ?, ?, ?, ?)", payload)
                    results.append(True)
                elif kind == "feedback":
                    cursor = db.execute("UPDATE questions SET helpful = ?, comment = ?, feedback_at = ? WHERE id = ?", payload)
                    results.append(cursor.rowcount > 0)
                elif kind == "dismiss":
                    db.execute("UPDATE losses SET dismissed_at = ? WHERE dismissed_at IS NULL", payload)
                    results.append(True)
                else:
                    results.append(True)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            with self._lock:
                self._unsaved = unsaved.plus(self._unsaved) if unsaved else self._unsaved
            raise
        return results

    def _purge(self, db: sqlite3.Connection) -> None:
        cutoff = timestamp(datetime.now(timezone.utc) - timedelta(days=self.retention_days))
        removed = db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
        db.execute("DELETE FROM losses WHERE dismissed_at < ?", (cutoff,))
        if removed:
            log.info("question log: removed %d questions older than %d days", removed, self.retention_days)

    def _import_legacy(self, db: sqlite3.Connection) -> None:
        """Move thumbs from the old feedback.jsonl into the log (ids derived from each
        line, so an import interrupted before the rename is not repeated)."""
        source = self.legacy_feedback
        if source is None or not source.is_file():
            return
        rows = []
        for line in source.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
                moment = datetime.fromisoformat(entry["time"])
                helpful, ids = int(bool(entry["helpful"])), [str(i) for i in entry.get("passage_ids") or []]
                rows.append((uuid.uuid5(uuid.NAMESPACE_URL, line).hex, timestamp(moment), masked(str(entry["question"])[:1000]),
                             int(bool(ids)), json.dumps(ids), None, "chat", helpful, str(entry.get("comment") or "")[:MAX_COMMENT_CHARS],
                             timestamp(moment)))
            except (ValueError, KeyError, TypeError):
                continue
        with db:
            db.executemany("INSERT OR IGNORE INTO questions (id, asked_at, question, answerable, passage_ids, latency_ms, "
                           "channel, helpful, comment, feedback_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        source.rename(source.with_name(source.name + ".imported"))
        log.info("question log: imported %d feedback entries from %s", len(rows), source)

    def _fail(self, problem: str, lost: int = 0) -> None:
        """Log a problem once (not once per question) and count the questions it lost."""
        with self._lock:
            self.skipped += lost
            if lost:
                now = timestamp()
                self._unsaved = (self._unsaved or Loss(now, now, 0, problem)).plus(Loss(now, now, lost, problem))
            if problem != self.last_error:
                log.error("question log %s: %s; questions are not recorded until this is fixed", self.path, problem)
            self.last_error = problem


def _questions_in(batch: list) -> int:
    return sum(kind == "question" for kind, _, _ in batch)


def _settle(batch: list, results: list) -> None:
    """Tell whoever waits on an item of the batch how it went (None: not written)."""
    for (_, _, done), result in zip(batch, results):
        if done is not None and not done.done():
            done.set_result(result)


class NoLog:
    """Stands in for QuestionLog when ASSISTANT_LOG_QUESTIONS=0: records nothing."""

    enabled = False
    last_error = ""
    skipped = 0

    def losses(self) -> list[Loss]:
        return []

    def dismiss_losses(self, timeout: float = 3.0) -> bool:
        return True

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
        return NoLog()
    return QuestionLog(settings.question_db, settings.retention_days, settings.data_dir / "feedback.jsonl")


def read(path: Path, since: datetime | None = None) -> list[LoggedQuestion]:
    """Recorded questions asked since `since` (all when None), oldest first; [] when
    nothing was ever recorded. Never creates the database."""
    path = Path(path)
    if not path.is_file():
        return []
    try:
        db = sqlite3.connect(path, timeout=5)
        try:
            rows = db.execute("SELECT id, asked_at, question, answerable, passage_ids, latency_ms, channel, helpful, comment, "
                              "feedback_at FROM questions WHERE asked_at >= ? ORDER BY asked_at, id",
                              (timestamp(since) if since else "",)).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise QuestionLogUnreadable(f"the question log {path} can't be read ({exc}); move it aside and a new one is started") from None
    return [LoggedQuestion(id=r[0], asked_at=r[1], question=r[2], answerable=bool(r[3]), passage_ids=tuple(_ids(r[4])),
                           latency_ms=r[5], channel=r[6], helpful=None if r[7] is None else bool(r[7]), comment=r[8],
                           feedback_at=r[9]) for r in rows]


def read_losses(path: Path) -> list[Loss]:
    """Losses recorded in the log and not dismissed, oldest first; [] without a log."""
    path = Path(path)
    if not path.is_file():
        return []
    try:
        db = sqlite3.connect(path, timeout=5)
        try:
            if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'losses'").fetchone():
                return []  # a log from before losses were recorded
            rows = db.execute("SELECT first_at, last_at, questions, problem FROM losses WHERE dismissed_at IS NULL "
                              "ORDER BY first_at").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise QuestionLogUnreadable(f"the question log {path} can't be read ({exc}); move it aside and a new one is started") from None
    return [Loss(*row) for row in rows]


def _ids(raw: str) -> list[str]:
    try:
        ids = json.loads(raw)
    except ValueError:
        return []
    return [str(i) for i in ids] if isinstance(ids, list) else []
