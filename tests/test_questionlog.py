"""The question log: what is recorded, feedback on it, retention, privacy, schema
migration, and that a broken database never reaches the caller. The contract tests
run against both stores, a SQLite file and a real PostgreSQL (`log_url`); the
SQLite-only ones hold its file's lock, damage it or check its journal mode."""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest

from assistant.errors import InvalidArgument
from assistant.questionlog.feedback import Feedback, InvalidFeedback
from assistant.questionlog.logs import NoLog, open_log, read
from assistant.questionlog.store import SCHEMA_VERSION, QuestionLogUnreadable
from assistant.questionlog.stores import open_store
from assistant.questionlog.writer import QuestionLog
from assistant.records import Answer, Citation
from assistant.settings import Settings

CROWS_FEET = Citation(1, "Wrinkles", "Dynamic Wrinkles", "/articles/w#dynamic-wrinkles", "Common examples include crow's feet.",
                      0.7, "w#dynamic-wrinkles-0", (0, 36))


def answered(question: str) -> Answer:
    return Answer(question, True, "Common examples include crow's feet. [1]", (CROWS_FEET,))


def refused(question: str) -> Answer:
    return Answer(question, False, "The article does not cover that.")


@contextmanager
def sql(url: str):
    """A connection to the store at `url` inside one transaction ("?" placeholders in both)."""
    store = open_store(url)
    try:
        with store.transaction() as db:
            yield db
    finally:
        store.close()


@pytest.fixture
def question_log(log_url):
    log = QuestionLog(log_url)
    yield log
    log.close()


@pytest.fixture
def sqlite_log(tmp_path):
    log = QuestionLog(tmp_path / "data" / "questions.db")
    yield log
    log.close()


def test_a_question_is_recorded_with_its_citations_and_latency(question_log):
    question_id = question_log.record(answered("What are crow's feet?"), 0.0123, "api")
    question_log.flush()
    [row] = question_log.read()
    assert row.id == question_id and len(question_id) == 32
    assert (row.question, row.answerable, row.passage_ids, row.channel) == ("What are crow's feet?", True, ("w#dynamic-wrinkles-0",), "api")
    assert row.latency_ms == 12.3
    assert row.helpful is None and row.asked_at.endswith("Z")


def test_the_sqlite_file_is_in_wal_mode(sqlite_log):
    sqlite_log.record(refused("What time is it?"), 0.01, "api")
    sqlite_log.flush()
    with sqlite3.connect(sqlite_log.store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_feedback_attaches_to_its_question_and_a_second_vote_replaces_the_first(question_log):
    question_id = question_log.record(answered("Does sunscreen help?"), 0.01, "chat")
    assert question_log.feedback(Feedback(question_id, True)) is True
    assert question_log.feedback(Feedback(question_id, False, "It did not say which SPF")) is True
    [row] = question_log.read()
    assert (row.helpful, row.comment) == (False, "It did not say which SPF")
    assert row.feedback_at >= row.asked_at


def test_a_comment_with_a_lone_surrogate_is_saved_and_the_log_goes_on(question_log):
    question_id = question_log.record(answered("Does sunscreen help?"), 0.01, "api")
    feedback = Feedback.parse(json.loads('{"question_id": "%s", "helpful": false, "comment": "bad \\ud800 byte"}' % question_id))
    assert question_log.feedback(feedback) is True
    later = question_log.record(answered("What is collagen?"), 0.01, "api")
    question_log.flush()
    rows = {row.id: row for row in question_log.read()}
    assert rows[question_id].comment == "bad ? byte" and later in rows


def test_control_characters_and_lone_surrogates_are_replaced_before_the_row_is_queued(question_log):
    question_id = question_log.record(answered("what \x00are\x1b[2J crow's\r feet\ud800\x85?"), 0.01, "api")
    assert question_log.feedback(Feedback.parse({"question_id": question_id, "helpful": False,
                                                  "comment": "line one\nline\x07 two\ud83d"})) is True
    [row] = question_log.read()
    assert row.question == "what \ufffdare\ufffd[2J crow's\ufffd feet?\ufffd?"
    assert row.comment == "line one\nline\ufffd two?"


def test_an_answered_question_is_committed_before_record_returns(question_log):
    question_id = question_log.record(answered("What are crow's feet?"), 0.01, "api")
    assert [row.id for row in question_log.read()] == [question_id]  # no flush: already on disk


def test_a_batch_that_fails_in_an_unexpected_way_is_counted_and_the_writer_lives_on(question_log, monkeypatch):
    real_write = question_log._write
    calls = {"n": 0}

    def write_once_badly(batch):  # the first batch with a question in it
        if any(kind == "question" for kind, _, _ in batch) and not calls["n"]:
            calls["n"] += 1
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return real_write(batch)

    monkeypatch.setattr(question_log, "_write", write_once_badly)
    question_log.record(answered("first"), 0.01, "api")
    question_log.flush()
    question_log.record(answered("second"), 0.01, "api")
    question_log.flush()
    assert [row.question for row in question_log.read()] == ["second"]


class WriterKilled(BaseException):
    """Not an Exception: nothing in the writer's loop catches it, so the thread ends."""


def test_a_writer_thread_that_dies_is_restarted_and_its_batch_counted(question_log, monkeypatch, caplog):
    real_write = question_log._write
    calls = {"n": 0}

    def die_once(batch):
        if any(kind == "question" for kind, _, _ in batch) and not calls["n"]:
            calls["n"] += 1
            raise WriterKilled("gone")
        return real_write(batch)

    monkeypatch.setattr(question_log, "_write", die_once)
    with caplog.at_level(logging.ERROR, logger="assistant.questionlog"):
        question_log.record(answered("first"), 0.01, "api")
        question_log._thread.join(10)
        assert not question_log._thread.is_alive()
        question_log.record(answered("second"), 0.01, "api")
    question_log.flush()
    assert [row.question for row in question_log.read()] == ["second"]
    assert [(loss.questions, loss.problem) for loss in question_log.losses()] == [(1, "the writer stopped: WriterKilled: gone")]
    assert any("restarted" in r.getMessage() for r in caplog.records)


def test_losses_stay_on_the_dashboard_after_recovery_and_a_restart_until_dismissed(log_url, monkeypatch):
    first = QuestionLog(log_url)
    first.record(answered("before"), 0.01, "api")
    real_write = first.store.write

    def refuse_once(*args):
        monkeypatch.setattr(first.store, "write", real_write)
        raise RuntimeError("the store refused the batch")

    monkeypatch.setattr(first.store, "write", refuse_once)
    first.record(answered("while refused"), 0.01, "api")
    first.flush()
    first.record(answered("after"), 0.01, "api")  # the log recovers, and records what it lost
    first.close()
    assert first.last_error == ""

    second = QuestionLog(log_url)  # a restart
    [loss] = second.losses()
    assert (loss.questions, loss.problem) == (1, "the store refused the batch") and loss.first_at <= loss.last_at
    assert second.dismiss_losses() is True
    assert second.losses() == []
    second.close()
    third = QuestionLog(log_url)
    assert third.losses() == [] and [r.question for r in third.read()] == ["before", "after"]
    third.close()


def test_feedback_on_an_unknown_question_is_reported_as_such(question_log):
    assert question_log.feedback(Feedback("0" * 32, True)) is False


def test_no_address_is_stored_and_contact_details_in_a_question_are_masked(question_log, log_url):
    question_log.record(refused("Can you email me at jane.doe@example.com or call +44 20 7946 0958?"), 0.01, "api")
    question_log.flush()
    [row] = question_log.read()
    assert row.question == "Can you email me at [email] or call [number]?"
    with sql(log_url) as db:
        columns = [c[0] for c in db.execute("SELECT * FROM questions").description]
    assert not {"ip", "address", "client", "cookie", "user", "user_id"} & set(columns)
    assert columns == ["id", "asked_at", "question", "answerable", "passage_ids", "latency_ms", "channel",
                       "helpful", "comment", "feedback_at"]  # the whole row: nothing about the reader


def test_concurrent_writers_lose_and_duplicate_nothing(question_log):
    ids: list[str] = []

    def ask_many(n: int) -> None:
        for i in range(50):
            ids.append(question_log.record(answered(f"question {n}-{i}"), 0.01, "api"))

    threads = [threading.Thread(target=ask_many, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    question_log.flush()
    rows = question_log.read()
    assert sorted(r.id for r in rows) == sorted(ids) and len(set(ids)) == 400


def test_rows_older_than_the_retention_period_are_removed(log_url):
    first = QuestionLog(log_url, retention_days=90)
    old_id = first.record(answered("an old question"), 0.01, "api")
    first.record(answered("a recent question"), 0.01, "api")
    first.close()
    long_ago = (datetime.now(timezone.utc) - timedelta(days=91)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with sql(log_url) as db:
        db.execute("UPDATE questions SET asked_at = ? WHERE id = ?", (long_ago, old_id))
    second = QuestionLog(log_url, retention_days=90)  # purges at start-up
    second.flush()
    second.close()
    assert [r.question for r in read(log_url)] == ["a recent question"]


def test_an_unwritable_database_is_logged_and_skipped(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    log = QuestionLog(blocker / "questions.db")
    with caplog.at_level(logging.WARNING, logger="assistant.questionlog"):
        assert log.record(answered("What are crow's feet?"), 0.01, "api")
        assert log.flush()
    assert log.feedback(Feedback("0" * 32, True)) is None
    log.close()
    assert "File exists" in log.last_error and log.skipped == 1
    assert [r.getMessage().endswith("questions are not recorded until this is fixed") for r in caplog.records] == [True]


def test_a_locked_sqlite_file_skips_that_batch_and_recovers(sqlite_log):
    question_log = sqlite_log
    question_log.record(answered("first"), 0.01, "api")
    question_log.flush()
    holder = sqlite3.connect(question_log.store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    question_log.record(answered("while locked"), 0.01, "api")  # returns at once: the writer waits, not the caller
    question_log.flush()
    assert "locked" in question_log.last_error
    holder.execute("ROLLBACK")
    holder.close()
    question_log.record(answered("after"), 0.01, "api")
    question_log.flush()
    assert [r.question for r in question_log.read()] == ["first", "after"]
    assert question_log.last_error == ""


def test_a_corrupt_database_is_skipped_when_writing_and_named_when_reading(tmp_path):
    path = tmp_path / "questions.db"
    path.write_bytes(b"\x00garbage, not SQLite" * 100)
    log = QuestionLog(path)
    log.record(answered("What are crow's feet?"), 0.01, "api")
    log.flush()
    log.close()
    assert log.last_error
    with pytest.raises(QuestionLogUnreadable, match="move it aside"):
        read(path)


OLD_SCHEMA = """CREATE TABLE questions (id TEXT PRIMARY KEY, asked_at TEXT NOT NULL, question TEXT NOT NULL,
    answerable INTEGER NOT NULL, passage_ids TEXT NOT NULL DEFAULT '[]', latency_ms REAL, channel TEXT NOT NULL DEFAULT '',
    helpful INTEGER, comment TEXT NOT NULL DEFAULT '', feedback_at TEXT)"""  # the first log: no losses, no version


def test_a_log_from_before_schema_versions_is_migrated_and_keeps_its_rows(log_url):
    with sql(log_url) as db:
        db.execute(OLD_SCHEMA)
        db.execute("INSERT INTO questions (id, asked_at, question, answerable) VALUES (?, ?, ?, ?)",
                   ("a" * 32, "2026-11-20T10:00:00.000Z", "what are crows feet", 1))
    log = QuestionLog(log_url)
    new_id = log.record(answered("What is collagen?"), 0.01, "api")
    assert log.flush() and log.last_error == ""
    assert log.store.schema_version() == SCHEMA_VERSION == 2
    assert [(r.id, r.question) for r in log.read()] == [("a" * 32, "what are crows feet"), (new_id, "What is collagen?")]
    assert log.losses() == [] and log.dismiss_losses() is True  # the table the old schema lacked
    log.close()


def test_a_log_written_by_a_newer_version_is_not_touched(log_url, caplog):
    with sql(log_url) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    log = QuestionLog(log_url)
    with caplog.at_level(logging.ERROR, logger="assistant.questionlog"):
        log.record(answered("What is collagen?"), 0.01, "api")
        log.flush()
    log.close()
    assert "upgrade the assistant" in log.last_error and log.skipped == 1 and log.status() == "ok"
    assert log.read() == []  # nothing created beside the newer schema


@pytest.mark.parametrize("url", ["mysql://db.example/log", "sqlite://relative.db", "questions.db", "sqlite:///",
                                 "postgresql://db.example:port/log"])
def test_a_database_url_this_server_cant_use_is_refused_with_a_reason(url):
    with pytest.raises(InvalidArgument, match="ASSISTANT_DATABASE_URL: .*(neither sqlite|not a valid PostgreSQL URL)"):
        open_store(url)


def test_reading_a_log_that_does_not_exist_creates_nothing(tmp_path):
    assert read(tmp_path / "missing.db") == []
    assert not (tmp_path / "missing.db").exists()


def test_logging_off_records_nothing_and_creates_no_file(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", log_questions=False)
    log = open_log(settings)
    assert isinstance(log, NoLog) and not log.enabled
    assert log.record(answered("What are crow's feet?"), 0.01, "api") is None
    assert log.feedback(Feedback("0" * 32, True)) is None
    assert not (tmp_path / "data").exists()


def test_thumbs_from_the_old_feedback_file_are_imported_once(tmp_path, log_url):
    data = tmp_path / "data"
    data.mkdir()
    (data / "feedback.jsonl").write_text("\n".join([
        json.dumps({"time": "2026-11-20T10:00:00+00:00", "question": "does sunscreen help", "helpful": False,
                    "passage_ids": ["w#sun-protection-0"], "comment": ""}),
        "not json",
        json.dumps({"time": "2026-11-21T10:00:00+00:00", "question": "what is collagen", "helpful": True, "passage_ids": []}),
    ]) + "\n")
    log = open_log(Settings(data_dir=data, database_url=log_url))
    log.flush()
    log.close()
    rows = read(log_url)
    assert [(r.question, r.helpful, r.passage_ids) for r in rows] == [
        ("does sunscreen help", False, ("w#sun-protection-0",)), ("what is collagen", True, ())]
    assert not (data / "feedback.jsonl").exists() and (data / "feedback.jsonl.imported").exists()


@pytest.mark.parametrize("payload, message", [
    (["not", "an", "object"], "JSON object"),
    ({"question_id": "abc", "helpful": True}, "question_id"),
    ({"question_id": "0" * 32, "helpful": "yes"}, "true or false"),
    ({"question_id": "0" * 32, "helpful": False, "comment": 5}, "text"),
    ({"question_id": "0" * 32, "helpful": False, "comment": "x" * 501}, "under 500"),
])
def test_malformed_feedback_is_refused_with_a_reason(payload, message):
    with pytest.raises(InvalidFeedback, match=message):
        Feedback.parse(payload)


def test_feedback_comments_are_trimmed_and_masked():
    feedback = Feedback.parse({"question_id": "a" * 32, "helpful": False, "comment": "  write to me: a@b.org  "})
    assert feedback == Feedback("a" * 32, False, "write to me: [email]")


def test_a_full_queue_drops_the_question_not_the_answer(tmp_path, monkeypatch, caplog):
    from assistant.questionlog import writer as questionlog

    monkeypatch.setattr(questionlog, "QUEUE_SIZE", 3)
    log = QuestionLog(tmp_path / "questions.db")
    log.flush()
    holder = sqlite3.connect(log.store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # the writer is stuck waiting on this lock
    with caplog.at_level(logging.WARNING, logger="assistant.questionlog"):
        ids = [log.record(answered(f"question {i}"), 0.01, "api") for i in range(10)]
    holder.execute("ROLLBACK")
    holder.close()
    log.close()
    assert None in ids and log.skipped >= ids.count(None)
    assert any("write queue is full" in r.getMessage() for r in caplog.records)


def test_a_legacy_line_with_a_nul_or_a_lone_surrogate_is_cleaned_and_the_log_goes_on(tmp_path, log_url):
    data = tmp_path / "data"
    data.mkdir()
    (data / "feedback.jsonl").write_text(
        '{"time": "2026-11-20T10:00:00+00:00", "question": "does sunscreen \\ud800 help", "helpful": false}\n'
        '{"time": "2026-11-21T10:00:00+00:00", "question": "what is\\u0000 collagen", "helpful": true, '
        '"comment": "nul\\u0000 here"}\n')
    log = open_log(Settings(data_dir=data, database_url=log_url))
    later = log.record(answered("What are crow's feet?"), 0.01, "api")
    log.flush()
    log.close()
    assert [(r.question, r.comment) for r in read(log_url)] == [
        ("does sunscreen ? help", ""), ("what is\ufffd collagen", "nul\ufffd here"), ("What are crow's feet?", "")]
    assert later and log.skipped == 0 and log.last_error == ""
    assert (data / "feedback.jsonl.imported").exists()


def test_a_legacy_file_the_store_refuses_is_left_as_it_is_and_questions_are_still_recorded(tmp_path, log_url, caplog):
    data = tmp_path / "data"
    data.mkdir()
    legacy = data / "feedback.jsonl"
    legacy.write_text(json.dumps({"time": "2026-11-20T10:00:00+00:00", "question": "does sunscreen help", "helpful": False}) + "\n")
    store = open_store(log_url)

    def refuse(rows):
        raise RuntimeError("the store refused the old rows")

    store.import_rows = refuse
    with caplog.at_level(logging.ERROR, logger="assistant.questionlog"):
        log = QuestionLog(store, legacy_feedback=legacy)
        first = log.record(answered("What are crow's feet?"), 0.01, "api")
        second = log.record(answered("What is collagen?"), 0.01, "api")
        log.flush()
    log.close()
    assert [r.id for r in read(log_url)] == [first, second] and log.skipped == 0 and log.status() == "ok"
    assert legacy.exists()  # tried again at the next start
    [line] = [r.getMessage() for r in caplog.records]
    assert "was not imported (the store refused the old rows)" in line
