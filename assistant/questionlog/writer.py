"""The question log: every question a reader asks (answered or refused), its cited
passages, latency and later its feedback, in the store ASSISTANT_DATABASE_URL names
(stores.py: a SQLite file by default, or PostgreSQL shared by replicas).

Writes go through one writer thread that commits whatever is queued as one
transaction; `record` waits (at most COMMIT_WAIT) for its row's commit, so an
answer sent is a row in the store, even if the process is killed right after. A
write that takes longer than that (a locked table, a stalled database) makes the
log "slow": answers stop waiting for it, and /healthz says so, until a write is
quick again. When
the store is unreachable (PostgreSQL down), rows wait in a bounded buffer and are
written when it answers again; what overflows is lost. Any other failure of a batch
(a locked, unwritable or corrupt file) is logged once and the batch counted as
lost, never raised into a request. Losses are written into the log itself (`losses`)
once it can be written again, until the owner dismisses them. A writer thread that
dies is restarted. At stop, what can't be written within STOP_SECONDS is counted
and logged in one line. Text is made printable before it is queued. Stores no IP address,
cookie or user id, masks e-mail addresses and phone-like numbers, and deletes rows
older than the retention period. Summarising is questionlog/insights.py's.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from pathlib import Path

from assistant.questionlog.feedback import Feedback
from assistant.questionlog.legacy import import_legacy
from assistant.questionlog.privacy import masked
from assistant.questionlog.records import LoggedQuestion
from assistant.questionlog.store import Loss, Store, timestamp
from assistant.questionlog.stores import open_store
from assistant.records import Answer
from assistant.text.cleaning import printable

log = logging.getLogger("assistant.questionlog")

QUEUE_SIZE = 10_000  # questions waiting for the writer; past this they are dropped (and logged)
BATCH_SIZE = 500
BUFFER_ROWS = 50_000  # questions held while the store is unreachable (about 500 bytes each); past this they are lost
RETRY_SECONDS = 2.0  # how often an unreachable store is tried again
PURGE_EVERY_SECONDS = 3600
COMMIT_WAIT = 0.25  # seconds an answer waits for its row's commit (about 1 ms when the log is healthy); a write longer than this is slow
STOP_SECONDS = 5.0  # at stop, how long the writer may take to write what is queued; what it has not written then is counted lost
UNREACHABLE = "degraded: question log unreachable"
SLOW = "degraded: question log slow"


class QuestionLog:
    """Records questions and feedback into a store (a file path, a URL or a Store) from a writer thread."""

    enabled = True

    def __init__(self, store: Store | str | Path, retention_days: int = 90, legacy_feedback: Path | None = None,
                 buffer_rows: int = BUFFER_ROWS):
        self.store = store if isinstance(store, Store) else open_store(store)
        self.retention_days = retention_days
        self.legacy_feedback = legacy_feedback  # data/feedback.jsonl from before this log existed
        self.buffer_rows = buffer_rows
        self.last_error = ""  # the latest write problem, "" once writes succeed again
        self.skipped = 0  # questions not recorded since start-up
        self.unreachable = False  # the store does not answer: rows are held, and tried again every RETRY_SECONDS
        self.slow_seconds = 0.0  # how long the last write took, when that was longer than COMMIT_WAIT (0: quick)
        self._busy_since: float | None = None  # when the writer's current round started (None: waiting for work)
        self._batch: list = []  # the batch the writer has in hand
        self._abandoned = False  # stopped with the writer still busy: what it had was counted lost
        self._held: list[tuple] = []  # question rows waiting for an unreachable store (the writer's own)
        self._queue: queue.Queue = queue.Queue(QUEUE_SIZE)
        self._lock = threading.Lock()
        self._unsaved: Loss | None = None  # losses not yet written into the log's own `losses` table
        self._closed = False
        self._thread = self._start_writer()

    @property
    def waiting(self) -> int:
        """Questions held in memory until the store answers again."""
        return len(self._held)

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
        if not (self.last_error or self.slow):
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

    def read(self, since: datetime | None = None) -> list[LoggedQuestion]:
        """Recorded questions since `since`, oldest first. Raises QuestionLogUnreadable."""
        return self.store.read(since)

    def losses(self) -> list[Loss]:
        """Questions lost and not yet dismissed by the owner: those recorded in the log,
        then those since its last successful write. Raises QuestionLogUnreadable."""
        return self.store.read_losses() + self.unsaved_losses()

    def unsaved_losses(self) -> list[Loss]:
        """Losses this process knows of and has not written into the log yet."""
        with self._lock:
            return [self._unsaved] if self._unsaved else []

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

    @property
    def slow(self) -> bool:
        """True while a write takes, or the last one took, longer than COMMIT_WAIT: answers don't wait for it."""
        busy_since = self._busy_since
        return bool(self.slow_seconds) or (busy_since is not None and time.monotonic() - busy_since > COMMIT_WAIT)

    def status(self) -> str:
        """"ok", UNREACHABLE while the store does not answer, or SLOW while its writes are slow (for /healthz)."""
        return UNREACHABLE if self.unreachable else SLOW if self.slow else "ok"

    def health(self) -> dict:
        """What /healthz says about the log: nothing while all is well."""
        if not (self.last_error or self.skipped or self._held or self.slow):
            return {}
        problem = self.last_error or (f"writes take longer than {COMMIT_WAIT:g} s" if self.slow else "")
        return {"question_log": {"problem": problem, "waiting": self.waiting, "lost": self.skipped}}

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written, held or skipped (a held store is tried now)."""
        done: Future = Future()
        self._ensure_writer()
        self._queue.put(("flush", None, done))
        try:
            done.result(timeout)
            return True
        except TimeoutError:
            return False

    def close(self, timeout: float = STOP_SECONDS) -> None:
        """Write what is queued, then stop the writer (at server shutdown). What is not
        written within `timeout` seconds (a stalled database) is counted lost and logged."""
        self._closed = True
        if self._abandoned:
            return
        if self._thread.is_alive():
            deadline = time.monotonic() + timeout
            try:
                self._queue.put(("stop", None, None), timeout=timeout)
            except queue.Full:
                pass
            self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            self._abandon(timeout)
            return  # the writer still holds a connection: the process exits around it
        self.store.close()

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
                log.error("question log %s: the writer thread had stopped; restarted it", self.store.name)
                self._thread = self._start_writer()

    def _write_forever(self) -> None:
        ready = False  # schema checked (and legacy feedback imported) on the current connection
        purged: float | None = None
        retry_at = 0.0
        batch: list = []  # the first round writes nothing: it creates or migrates the schema at start-up
        try:
            while True:
                self._batch = batch
                forced = any(kind in ("flush", "stop") for kind, _, _ in batch)
                if self.unreachable and not forced and time.monotonic() < retry_at:
                    self._hold(batch)  # no use trying before RETRY_SECONDS have passed
                    results: list = [None] * len(batch)
                else:
                    self._busy_since = time.monotonic()
                    try:
                        if not ready:
                            self.store.migrate()
                            self._import_legacy()
                            ready = True
                        if purged is None or time.monotonic() - purged > PURGE_EVERY_SECONDS:
                            self._purge()
                            purged = time.monotonic()
                        results = self._write(batch)
                        self._recovered()
                    except Exception as exc:  # noqa: BLE001 - whatever a batch does, the writer must live on
                        ready = False
                        self.store.reset()
                        problem = self.store.describe(exc)
                        if self.store.unreachable(exc):
                            self.unreachable, retry_at = True, time.monotonic() + RETRY_SECONDS
                            self._hold(batch, problem)
                        else:  # it answered, with an error: holding these rows would not help
                            self.unreachable = False
                            held, self._held = self._held, []
                            self._fail(problem, lost=_questions_in(batch) + len(held))
                        results = [None] * len(batch)
                    finally:
                        self._timed(batch)
                if self._abandoned:
                    return  # close() gave up on this round and counted it
                _settle(batch, results)
                self._batch = []  # its questions are written, held or counted by now
                if any(kind == "stop" for kind, _, _ in batch):
                    if self._held:
                        self._lost_at_stop(len(self._held), self.last_error)
                    return
                batch = self._next_batch(max(0.0, retry_at - time.monotonic()) if self.unreachable else PURGE_EVERY_SECONDS)
        except BaseException as exc:  # noqa: BLE001 - counted and reported; the next caller restarts the writer
            self._busy_since = None
            held, self._held = self._held, []
            self._fail(f"the writer stopped: {type(exc).__name__}: {exc}", lost=_questions_in(batch) + len(held))
            _settle(batch, [None] * len(batch))

    def _import_legacy(self) -> None:
        """The old feedback.jsonl, tried once per start: if the store refuses it, it is left
        as it is and logged, and questions are recorded as usual."""
        source, self.legacy_feedback = self.legacy_feedback, None
        try:
            import_legacy(self.store, source)
        except Exception as exc:
            if self.store.unreachable(exc):
                self.legacy_feedback = source  # tried again when the store answers
                raise
            log.error("question log %s: %s was not imported (%s); it is left as it is, and questions are recorded as usual",
                      self.store.name, source, self.store.describe(exc))

    def _timed(self, batch: list) -> None:
        """The round that started at _busy_since is over: a write that took longer than
        COMMIT_WAIT makes the log slow, a quick one makes it quick again (a round with
        nothing to write says nothing)."""
        seconds, self._busy_since = time.monotonic() - (self._busy_since or time.monotonic()), None
        if not batch:
            return
        if seconds > COMMIT_WAIT and not self.slow_seconds:
            log.warning("question log %s: a write took %.1f s; answers don't wait for the log until writes are quick again",
                        self.store.name, seconds)
        elif seconds <= COMMIT_WAIT and self.slow_seconds:
            log.warning("question log %s: writes are quick again", self.store.name)
        self.slow_seconds = round(seconds, 3) if seconds > COMMIT_WAIT else 0.0

    def _abandon(self, timeout: float) -> None:
        """close() waited `timeout` seconds for a writer that is still busy: count what it
        had in hand, held or queued as lost, and answer whoever waits on it."""
        queued = []
        while True:
            try:
                queued.append(self._queue.get_nowait())
            except queue.Empty:
                break
        in_hand, held = self._batch, list(self._held)
        held_ids = {row[0] for row in held}  # a batch being held is in both for a moment
        lost = len(held) + sum(kind == "question" and row[0] not in held_ids for kind, row, _ in in_hand) + _questions_in(queued)
        reason = self.last_error or f"the write did not finish within {timeout:g} s"
        self._lost_at_stop(lost, reason)
        self._abandoned = True
        _settle(in_hand + queued, [None] * (len(in_hand) + len(queued)))

    def _lost_at_stop(self, lost: int, reason: str) -> None:
        with self._lock:
            self.skipped += lost
        log.error("question log %s: stopped with %d questions answered but not recorded (%s)", self.store.name, lost, reason)

    def _next_batch(self, wait: float) -> list:
        """Everything queued, up to BATCH_SIZE, waiting up to `wait` seconds for the first
        item ([] after that, so the hourly purge and the retries still run)."""
        try:
            batch = [self._queue.get(timeout=wait)] if wait > 0 else [self._queue.get_nowait()]
        except queue.Empty:
            return []
        while len(batch) < BATCH_SIZE:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list) -> list[bool | None]:
        """One transaction for the held rows, the batch, and the losses not yet recorded;
        feedback gets whether its question exists."""
        with self._lock:
            unsaved, self._unsaved = self._unsaved, None
        questions = self._held + [payload for kind, payload, _ in batch if kind == "question"]
        updates = [(kind, payload) for kind, payload, _ in batch if kind in ("feedback", "dismiss")]
        if not (questions or updates or unsaved):
            return [True] * len(batch)
        try:
            found = iter(self.store.write(questions, updates, unsaved))
        except BaseException:
            with self._lock:
                self._unsaved = unsaved.plus(self._unsaved) if unsaved else self._unsaved
            raise
        self._held = []
        return [next(found) if kind in ("feedback", "dismiss") else True for kind, _, _ in batch]

    def _hold(self, batch: list, problem: str = "") -> None:
        """Keep the batch's questions for when the store answers again, up to buffer_rows;
        the rest is lost. Feedback and dismissals are answered "not saved" (the caller retries)."""
        rows = [payload for kind, payload, _ in batch if kind == "question"]
        room = max(0, self.buffer_rows - len(self._held))
        self._held.extend(rows[:room])
        overflow = len(rows) - min(room, len(rows))
        if problem or overflow:
            self._fail(problem or self.last_error, lost=overflow)

    def _recovered(self) -> None:
        if self.unreachable:
            log.warning("question log %s: reachable again; the questions held meanwhile are written", self.store.name)
        self.unreachable = False
        self.last_error = ""

    def _purge(self) -> None:
        cutoff = timestamp(datetime.now(timezone.utc) - timedelta(days=self.retention_days))
        removed = self.store.purge(cutoff)
        if removed:
            log.info("question log: removed %d questions older than %d days", removed, self.retention_days)

    def _fail(self, problem: str, lost: int = 0) -> None:
        """Log a problem once (not once per question) and count the questions it lost."""
        if self._abandoned:
            return  # counted at stop
        with self._lock:
            self.skipped += lost
            if lost:
                now = timestamp()
                self._unsaved = (self._unsaved or Loss(now, now, 0, problem)).plus(Loss(now, now, lost, problem))
            if problem != self.last_error:
                if self.unreachable:
                    log.error("question log %s: %s; questions wait in memory (up to %d) until it answers",
                              self.store.name, problem, self.buffer_rows)
                else:
                    log.error("question log %s: %s; questions are not recorded until this is fixed", self.store.name, problem)
            self.last_error = problem


def _questions_in(batch: list) -> int:
    return sum(kind == "question" for kind, _, _ in batch)


def _settle(batch: list, results: list) -> None:
    """Tell whoever waits on an item of the batch how it went (None: not written)."""
    for (_, _, done), result in zip(batch, results):
        if done is not None and not done.done():
            done.set_result(result)
