"""Settings: flags win over ASSISTANT_* variables, which win over the defaults."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import PROJECT_DIR, Settings


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("ASSISTANT_CORPUS_DIR", "ASSISTANT_INDEX_DIR", "ASSISTANT_MODEL", "ASSISTANT_HOST", "ASSISTANT_PORT",
                 "ASSISTANT_DATA_DIR", "ASSISTANT_DB", "ASSISTANT_LOG_QUESTIONS", "ASSISTANT_RETENTION_DAYS",
                 "ASSISTANT_DATABASE_URL", "ASSISTANT_LOG_BUFFER_ROWS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_point_at_the_checkout(clean_env):
    settings = Settings.from_env()
    assert settings.corpus_dir == PROJECT_DIR / "corpus"
    assert settings.index_dir == PROJECT_DIR / "index"
    assert settings.top_k == 3 and settings.max_question_chars == 1000


def test_environment_variables_replace_the_defaults(clean_env, tmp_path):
    clean_env.setenv("ASSISTANT_CORPUS_DIR", str(tmp_path / "articles"))
    clean_env.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "idx"))
    clean_env.setenv("ASSISTANT_PORT", "8123")
    settings = Settings.from_env()
    assert (settings.corpus_dir, settings.index_dir, settings.port) == (tmp_path / "articles", tmp_path / "idx", 8123)


def test_flags_replace_environment_variables(clean_env, tmp_path):
    clean_env.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "from-env"))
    settings = Settings.from_env(index_dir=str(tmp_path / "from-flag"))
    assert settings.index_dir == tmp_path / "from-flag"
    assert isinstance(settings.index_dir, Path)


def test_a_non_numeric_port_falls_back_to_the_default(clean_env):
    clean_env.setenv("ASSISTANT_PORT", "eighty")
    assert Settings.from_env().port == 7860


def test_an_unset_flag_keeps_the_environment_variable(clean_env, tmp_path):
    clean_env.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "from-env"))
    clean_env.setenv("ASSISTANT_CORPUS_DIR", str(tmp_path / "articles"))
    settings = Settings.from_env(corpus_dir=None, index_dir=None, host=None, port=None)  # what cli._settings passes
    assert settings.index_dir == tmp_path / "from-env"
    assert settings.corpus_dir == tmp_path / "articles"


def test_the_question_log_lives_under_data_unless_told_otherwise(clean_env, tmp_path):
    settings = Settings.from_env()
    assert (settings.question_db, settings.log_questions, settings.retention_days) == (PROJECT_DIR / "data" / "questions.db", True, 90)
    clean_env.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "d"))
    assert Settings.from_env().question_db == tmp_path / "d" / "questions.db"
    clean_env.setenv("ASSISTANT_DB", str(tmp_path / "log.sqlite"))
    clean_env.setenv("ASSISTANT_RETENTION_DAYS", "30")
    clean_env.setenv("ASSISTANT_LOG_QUESTIONS", "0")
    settings = Settings.from_env()
    assert (settings.question_db, settings.log_questions, settings.retention_days) == (tmp_path / "log.sqlite", False, 30)


def test_the_question_log_url_is_the_sqlite_file_unless_a_database_url_is_set(clean_env, tmp_path):
    clean_env.setenv("ASSISTANT_DB", str(tmp_path / "log.sqlite"))
    settings = Settings.from_env()
    assert (settings.question_log_url, settings.log_buffer_rows) == (f"sqlite:///{tmp_path}/log.sqlite", 50_000)
    clean_env.setenv("ASSISTANT_DATABASE_URL", " postgresql://assistant@db.example:5432/log ")
    clean_env.setenv("ASSISTANT_LOG_BUFFER_ROWS", "1000")
    settings = Settings.from_env()
    assert (settings.question_log_url, settings.log_buffer_rows) == ("postgresql://assistant@db.example:5432/log", 1000)


@pytest.mark.parametrize("days", ["0", "-5", "ninety", ""])
def test_a_retention_that_is_not_a_positive_number_keeps_the_default(clean_env, days):
    clean_env.setenv("ASSISTANT_RETENTION_DAYS", days)
    assert Settings.from_env().retention_days == 90


def test_no_proxy_is_trusted_unless_named(monkeypatch):
    for name in ("ASSISTANT_TRUSTED_PROXIES", "ASSISTANT_FEEDBACK_RATE_LIMIT", "ASSISTANT_REQUEST_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    assert Settings.from_env().trusted_proxies == ()
    monkeypatch.setenv("ASSISTANT_TRUSTED_PROXIES", " 127.0.0.1, 10.0.0.0/8 ,")
    monkeypatch.setenv("ASSISTANT_FEEDBACK_RATE_LIMIT", "20/minute")
    monkeypatch.setenv("ASSISTANT_REQUEST_TIMEOUT", "2.5")
    settings = Settings.from_env()
    assert (settings.trusted_proxies, settings.feedback_rate_limit, settings.request_timeout) == (
        ("127.0.0.1", "10.0.0.0/8"), "20/minute", 2.5)


def test_a_replica_and_shared_limits_are_chosen_by_environment(monkeypatch):
    for name in ("ASSISTANT_REPLICA", "ASSISTANT_RATE_LIMIT_STORAGE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert (settings.replica, settings.rate_limit_storage) == (False, "memory://")
    monkeypatch.setenv("ASSISTANT_REPLICA", "1")
    monkeypatch.setenv("ASSISTANT_RATE_LIMIT_STORAGE", " redis://10.0.0.5:6379/0 ")
    settings = Settings.from_env()
    assert (settings.replica, settings.rate_limit_storage) == (True, "redis://10.0.0.5:6379/0")
