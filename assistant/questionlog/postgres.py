"""The question log in PostgreSQL through psycopg 3 and a psycopg_pool connection
pool, so replicas share one log. Imported only when a postgresql:// URL is set.

"Unreachable" here is any OperationalError (refused, timed out, shut down, out of
connections or disk, a statement cancelled after STATEMENT_SECONDS behind a lock):
the writer holds those rows and tries again. Every connection has a connect timeout,
a statement timeout and TCP keepalives, so a stalled server or a dead link ends a
write with an error instead of holding the writer for ever. Other errors (a row
PostgreSQL refuses) cost their batch, as in SQLite.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from assistant.errors import safe_url, scrubbed
from assistant.questionlog.store import Store

CONNECT_SECONDS = 2.0  # the writer gives up on a connection after this, and holds its rows
READ_SECONDS = 5.0  # a report waits this long for a connection
STATEMENT_SECONDS = 5.0  # a write (a lock wait included) is cancelled after this, and its rows held
REPORT_STATEMENT_SECONDS = 60.0  # a report's query may take longer (the owner's summary of months of questions)
RECONNECT_SECONDS = 2.0  # the pool's attempts to reconnect end after this; the next request starts new ones
MIGRATION_LOCK = 7_315_001  # any constant: replicas starting at once migrate one after the other

# Our writer logs an outage once; the pool would warn at every attempt to reconnect.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


class PostgresStore(Store):
    table_exists_sql = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
    migration_lock_sql = f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"
    errors = (psycopg.Error,)

    def __init__(self, url: str):
        self.url = url
        self.name = safe_url(url)
        self._pool: ConnectionPool | None = None

    @contextmanager
    def transaction(self) -> Iterator["_QuestionMarks"]:
        with self._connections().connection(timeout=CONNECT_SECONDS) as conn:  # commits on exit
            yield _QuestionMarks(conn)

    @contextmanager
    def reading(self) -> Iterator["_QuestionMarks"]:
        with self._connections().connection(timeout=READ_SECONDS) as conn:
            conn.execute(f"SET LOCAL statement_timeout = {int(REPORT_STATEMENT_SECONDS * 1000)}")  # this transaction only
            yield _QuestionMarks(conn)

    def unreachable(self, exc: BaseException) -> bool:
        return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))

    def unreadable(self, exc: BaseException) -> str:
        return f"the question log at {self.name} can't be read ({scrubbed(_first_line(exc), self.url)})"

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, PoolTimeout):  # its own text only says how long it waited
            return f"PostgreSQL does not answer (no connection within {CONNECT_SECONDS:g} s)"
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return f"PostgreSQL did not finish a write within {STATEMENT_SECONDS:g} s (a lock held on the log, or the server overloaded)"
        return scrubbed(_first_line(exc), self.url)  # libpq names the user it failed to sign in

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        self._pool = None  # used again after this (a report after shutdown), it opens a new pool

    def _connections(self) -> ConnectionPool:
        if self._pool is None:
            # check: a connection the server dropped (a restart) is replaced before it is used
            self._pool = ConnectionPool(self.url, min_size=1, max_size=4, open=False, name="question-log",
                                        timeout=CONNECT_SECONDS, reconnect_timeout=RECONNECT_SECONDS,
                                        check=ConnectionPool.check_connection,
                                        kwargs=connection_options())
            self._pool.open(wait=False)  # a server starts even when the database is down
        return self._pool


def connection_options() -> dict:
    """libpq parameters for every connection of the pool: bounded connect, statements and a silent link."""
    return {"connect_timeout": int(CONNECT_SECONDS), "application_name": "article-assistant",
            "options": f"-c statement_timeout={int(STATEMENT_SECONDS * 1000)}",
            # a peer that vanished (a dead link, a host gone) is noticed in about 20 s, not the kernel's 2 hours
            "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 2,
            "tcp_user_timeout": int(STATEMENT_SECONDS * 1000) * 2}


class _QuestionMarks:
    """A psycopg connection that takes the stores' "?" placeholders (psycopg's are %s)."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor:
        return self.conn.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
