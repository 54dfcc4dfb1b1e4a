"""The question log when PostgreSQL goes away or stalls: answers never wait for it, rows
wait in a bounded buffer and arrive when it returns, and what overflows is counted as lost
(in /healthz's figures and, once it can be written, in the log's own losses table); a
table locked by another connection makes the log slow, not the answers, and what can't
be written at stop is counted. These stop and restart the session's one cluster."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from contextlib import contextmanager

import psycopg
from servers import PROJECT, eventually, free_port

from assistant.questionlog import postgres as postgres_store
from assistant.questionlog.postgres import STATEMENT_SECONDS
from assistant.questionlog.stores import open_store
from assistant.questionlog.writer import COMMIT_WAIT, SLOW, UNREACHABLE, QuestionLog
from assistant.records import Answer


def refused(question: str) -> Answer:
    return Answer(question, False, "The article does not cover that.")


def test_rows_asked_while_postgresql_is_down_arrive_when_it_returns(outage):
    url = outage.create_database()
    log = QuestionLog(url)
    before = log.record(refused("asked before"), 0.01, "api")
    outage.stop()
    during = [log.record(refused(f"asked while down {i}"), 0.01, "api") for i in range(5)]
    assert all(during)  # each answer got its id: nothing waited on the database
    assert eventually(lambda: log.status() == UNREACHABLE, 30)
    assert log.flush(30) and log.waiting == 5
    assert log.health()["question_log"] | {"problem": ""} == {"problem": "", "waiting": 5, "lost": 0}

    outage.start()
    assert eventually(lambda: log.flush(30) and log.waiting == 0, 60)
    assert log.status() == "ok" and log.last_error == "" and log.health() == {}
    assert sorted(r.id for r in log.read()) == sorted([before, *during])
    assert log.losses() == []
    log.close()


def test_what_overflows_the_buffer_is_counted_lost_and_recorded_when_postgresql_returns(outage):
    url = outage.create_database()
    log = QuestionLog(url, buffer_rows=3)
    log.flush()
    outage.stop()
    ids = [log.record(refused(f"question {i}"), 0.01, "api") for i in range(5)]
    assert eventually(lambda: log.flush(30) and log.waiting == 3, 30)
    assert (log.skipped, log.health()["question_log"]["lost"]) == (2, 2)

    outage.start()
    assert eventually(lambda: log.flush(30) and log.waiting == 0, 60)
    assert sorted(r.id for r in log.read()) == sorted(ids[:3])  # the first three waited; the last two found the buffer full
    [loss] = log.losses()  # written into the log itself, so the dashboard shows it until dismissed
    assert loss.questions == 2 and loss.problem
    log.close()


def test_a_log_started_while_postgresql_is_down_creates_its_schema_when_it_comes_up(outage):
    url = outage.create_database()
    outage.stop()
    log = QuestionLog(url)
    assert eventually(lambda: log.status() == UNREACHABLE, 30)
    question_id = log.record(refused("asked before the database was up"), 0.01, "api")
    assert question_id

    outage.start()
    assert eventually(lambda: log.flush(30) and log.waiting == 0 and log.status() == "ok", 60)
    assert [r.id for r in log.read()] == [question_id] and log.store.schema_version() == 2
    log.close()


def insights(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")} | {"PYTHONPATH": str(PROJECT)}
    return subprocess.run([sys.executable, "-m", "assistant", "insights", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_assistant_insights_names_a_database_that_does_not_answer_in_one_line():
    port = free_port()  # nothing listens there
    done = insights("--db", f"postgresql://reader:secret@127.0.0.1:{port}/log")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: the question log at postgresql://127.0.0.1:{port}/log can't be read (")
    assert "secret" not in line and "reader" not in line


def test_assistant_insights_refuses_a_url_it_cant_use_in_one_line():
    done = insights("--db", "mysql://reader:secret@db.example/log")
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: ASSISTANT_DATABASE_URL: 'mysql://db.example/log' is neither "
                                   "sqlite:///path/to/file.db nor postgresql://user@host:port/database")


@contextmanager
def locked_questions(url: str):
    """Another connection holding the questions table, as a long migration or a stuck report would."""
    with psycopg.connect(url) as holder:
        holder.execute("LOCK TABLE questions IN ACCESS EXCLUSIVE MODE")
        yield
        holder.rollback()


def test_answers_do_not_wait_on_a_locked_table_and_the_log_says_it_is_slow(postgres):
    url = postgres.create_database()
    log = QuestionLog(url)
    assert log.flush() and log.status() == "ok"
    with locked_questions(url):
        started = time.monotonic()
        ids = [log.record(refused(f"asked while locked {i}"), 0.01, "api") for i in range(6)]
        waited = time.monotonic() - started
        assert all(ids) and waited < 3  # the answers' whole wait; it was 1 s each
        assert eventually(lambda: log.status() == SLOW, 30)
        assert log.health()["question_log"]["problem"] == f"writes take longer than {COMMIT_WAIT:g} s"
    assert eventually(lambda: log.flush(30) and log.status() == "ok", 60)  # the next quick write clears it
    assert sorted(r.id for r in log.read()) == sorted(ids) and log.skipped == 0
    log.close()


def test_every_connection_bounds_its_statements(postgres):
    store = open_store(postgres.create_database())
    with store.transaction() as db:
        assert db.execute("SHOW statement_timeout").fetchone()[0] == f"{STATEMENT_SECONDS:g}s"
        client = db.conn.info.get_parameters()  # libpq's own: the connect timeout and keepalives of our side
        assert (client["connect_timeout"], client["keepalives"], client["keepalives_idle"]) == ("2", "1", "10")
        assert client["tcp_user_timeout"] == str(int(STATEMENT_SECONDS * 2000))
    store.close()


def test_a_write_stuck_behind_a_lock_is_cancelled_and_its_rows_held_until_the_table_is_free(postgres, monkeypatch):
    monkeypatch.setattr(postgres_store, "STATEMENT_SECONDS", 1.0)
    url = postgres.create_database()
    log = QuestionLog(url)
    log.flush()
    with locked_questions(url):
        question_id = log.record(refused("asked while locked"), 0.01, "api")
        assert eventually(lambda: log.status() == UNREACHABLE, 20)
        assert log.waiting == 1 and "did not finish a write within 1 s" in log.last_error
    assert eventually(lambda: log.flush(30) and log.waiting == 0 and log.status() == "ok", 60)
    assert [r.id for r in log.read()] == [question_id] and log.skipped == 0
    log.close()


def test_what_cant_be_written_at_stop_is_counted_and_logged(postgres, caplog):
    url = postgres.create_database()
    log = QuestionLog(url)
    log.flush()
    with locked_questions(url), caplog.at_level(logging.ERROR, logger="assistant.questionlog"):
        for i in range(6):
            log.record(refused(f"asked while locked {i}"), 0.01, "api")
        started = time.monotonic()
        log.close(timeout=1)
        assert time.monotonic() - started < 10
    assert log.skipped == 6
    assert any("stopped with 6 questions answered but not recorded" in r.getMessage() for r in caplog.records)
