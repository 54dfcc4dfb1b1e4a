"""The question log when PostgreSQL goes away: answers never wait for it, rows wait in
a bounded buffer and arrive when it returns, and what overflows is counted as lost
(in /healthz's figures and, once it can be written, in the log's own losses table).
These stop and restart the session's one cluster."""
from __future__ import annotations

from servers import eventually

from assistant.questionlog import UNREACHABLE, QuestionLog
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
