"""A setting's URL in messages (issue 24, row 8): whatever the owner typed, no user,
password or query secret reaches an error, a log line or `assistant insights`. One
function, urls.safe_url, renders every URL; urls.scrubbed cleans what libraries say
about one. Fast: no server, nothing listening where the URLs point."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import psycopg
import pytest
from conftest import PROJECT_DIR
from limits import parse
from servers import free_port

from assistant.errors import InvalidArgument, safe_url, scrubbed
from assistant.http.counters import Counters
from assistant.questionlog.postgres import PostgresStore
from assistant.questionlog.stores import checked_url

# (the URL as typed, how a message shows it, what must never show)
FORMS = [
    # libpq reads the password "p@ss?word"; urllib would end the authority at the '?'
    ("postgresql://assistant:p%40ss?word@db.example:5432/log", "postgresql://db.example:5432/log",
     ("assistant", "p%40ss", "p@ss", "?word")),
    ("postgresql://u:p%zzss@h/db", "postgresql://h/db", ("p%zzss", "zzss")),  # a bad percent-escape
    ("redis://h:6379/0?password=secret", "redis://h:6379/0", ("secret",)),
    ("redis:/:secret@h:6379", "redis:…", ("secret",)),  # one slash short
    ("rediss://:secret@h", "rediss://h", ("secret",)),
    ("postgresql://u:pa/ss@h/db", "postgresql://…", ("pa/ss", "u:pa")),  # a raw '/' in the password
]


def test_a_url_shows_its_host_and_path_only():
    assert {url: safe_url(url) for url, _, _ in FORMS} == {url: shown for url, shown, _ in FORMS}
    assert not [(url, secret) for url, _, secrets in FORMS for secret in secrets if secret in safe_url(url)]
    for url in ("memory://", "sqlite:////srv/assistant/data/questions.db", "redis://127.0.0.1:6379/0",
                "postgresql://h1:5432,h2:5433/log", "redis+unix:///run/redis.sock"):  # nothing to hide
        assert safe_url(url) == url


def test_what_a_library_says_about_a_url_loses_its_secrets():
    url = "postgresql://assistant:p%40ss?word@db.example:5432/log"
    said = 'connection failed: FATAL:  password authentication failed for user "assistant" (password p@ss?word)'
    assert scrubbed(said, url) == 'connection failed: FATAL:  password authentication failed for user "…" (password …)'


@pytest.mark.parametrize("url, shown, secrets", [form for form in FORMS if form[0].startswith("postgresql")])
def test_a_database_url_libpq_refuses_is_one_line_without_its_secrets(url, shown, secrets):
    try:
        checked_url(url)
    except InvalidArgument as exc:
        message = str(exc)
        assert message.startswith(f"ASSISTANT_DATABASE_URL: {shown} ")
        assert not any(secret in message for secret in secrets), message
    else:
        assert safe_url(url) == shown  # libpq reads it: nothing to say yet


@pytest.mark.parametrize("url, shown", [("redis:/:secret@h:6379", "redis:…"), ("redis://:secret@h:notaport/0", "redis://…"),
                                        ("redis+sentinel://:secret@h?password=secret", "redis+sentinel://h")])
def test_a_rate_limit_storage_it_refuses_is_one_line_without_its_secrets(url, shown):
    with pytest.raises(InvalidArgument) as refused:
        Counters(url)
    message = str(refused.value)
    assert message.startswith("ASSISTANT_RATE_LIMIT_STORAGE: ") and shown in message and "secret" not in message


def test_an_unreachable_redis_is_logged_without_the_query_password(caplog):
    port = free_port()
    counters = Counters(f"redis://127.0.0.1:{port}/0?password=hunter2")  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="assistant.ratelimits"):
        assert counters.hit(parse("5/minute"), "client", "a")
    assert caplog.records and all("hunter2" not in r.getMessage() for r in caplog.records)
    assert f"redis://127.0.0.1:{port}/0 " in caplog.records[0].getMessage()


def test_the_question_log_names_neither_user_nor_password_when_postgresql_refuses():
    store = PostgresStore("postgresql://assistant:p%40ss?word@db.example:5432/log")
    refused = psycopg.OperationalError('connection failed: FATAL:  password authentication failed for user "assistant"')
    for message in (store.describe(refused), store.unreadable(refused), store.name):
        assert '"assistant"' not in message and "assistant:" not in message and "p%40ss" not in message, message
        assert "?word" not in message and "p@ss" not in message, message
    assert store.unreadable(refused).startswith("the question log at postgresql://db.example:5432/log can't be read")


def test_insights_on_an_unreachable_database_names_only_its_host(tmp_path):
    port = free_port()  # nothing listens: refused at once
    url = f"postgresql://assistant:p%40ss?word@127.0.0.1:{port}/log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_HOME=str(tmp_path), PYTHONPATH=str(PROJECT_DIR))
    proc = subprocess.run([sys.executable, "-m", "assistant", "insights", "--db", url], capture_output=True,
                          cwd=tmp_path, env=env, timeout=60)
    said = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode == 2 and f"postgresql://127.0.0.1:{port}/log" in said, said
    assert "assistant:" not in said and "p%40ss" not in said and "?word" not in said, said
