"""The question log in a SQLite file (stdlib, WAL mode): the zero-setup default.
A failure here (locked, unwritable, corrupt, disk full) is never "unreachable": the
writer counts that batch as lost, as it always has, rather than holding rows for a
file that may not come back.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.questionlog.store import Store

LOCK_WAIT_MS = 2000  # how long the writer waits on a lock before skipping a batch


class SQLiteStore(Store):
    table_exists_sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    errors = (sqlite3.Error,)  # BEGIN IMMEDIATE already serialises migrations: no extra lock

    def __init__(self, path: Path):
        self.path = Path(path)
        self.name = str(self.path)
        self._db: sqlite3.Connection | None = None  # the writer's, kept between batches

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self._db is None:
            self._db = self._connect()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection | None]:
        if not self.path.is_file():  # reading never creates the file
            yield None
            return
        db = sqlite3.connect(self.path, timeout=5)
        try:
            yield db
        finally:
            db.close()

    def unreadable(self, exc: BaseException) -> str:
        return f"the question log {self.path} can't be read ({exc}); move it aside and a new one is started"

    def reset(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = None  # reconnect next time: the file may be writable again

    close = reset

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=LOCK_WAIT_MS / 1000, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            db.close()
            raise
        return db
