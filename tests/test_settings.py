"""Settings: flags win over ASSISTANT_* variables, which win over the home's assistant.toml,
which wins over the defaults; the home is the folder a command runs in."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import InvalidSetting
from assistant.settings import Settings


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("ASSISTANT_CORPUS_DIR", "ASSISTANT_INDEX_DIR", "ASSISTANT_MODEL", "ASSISTANT_HOST", "ASSISTANT_PORT",
                 "ASSISTANT_DATA_DIR", "ASSISTANT_DB", "ASSISTANT_LOG_QUESTIONS", "ASSISTANT_RETENTION_DAYS",
                 "ASSISTANT_DATABASE_URL", "ASSISTANT_LOG_BUFFER_ROWS", "ASSISTANT_HOME", "ASSISTANT_SITE_TITLE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def home(clean_env, tmp_path):
    """An empty folder the command runs in."""
    clean_env.chdir(tmp_path)
    return tmp_path


def test_defaults_point_into_the_folder_the_command_runs_in(home):
    settings = Settings.from_env()
    assert (settings.home, settings.corpus_dir, settings.index_dir, settings.data_dir) == (
        home, home / "corpus", home / "index", home / "data")
    assert settings.top_k == 3 and settings.max_question_chars == 1000 and settings.config_file is None


def test_a_home_given_by_flag_or_environment_holds_everything(home, clean_env, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("blog")
    assert Settings.from_env(home=elsewhere).index_dir == elsewhere / "index"
    clean_env.setenv("ASSISTANT_HOME", str(elsewhere))
    assert Settings.from_env().question_db == elsewhere / "data" / "questions.db"


def test_assistant_toml_sets_paths_from_the_home_and_the_owner_s_texts(home):
    (home / "assistant.toml").write_text('corpus_dir = "posts"\nsite_title = "Bread notes"\n'
                                         'allowed_origins = ["https://bread.example/"]\nport = 8000\nwatch = true\n')
    settings = Settings.from_env()
    assert (settings.corpus_dir, settings.site_title, settings.allowed_origins, settings.port, settings.watch_corpus) == (
        home / "posts", "Bread notes", ("https://bread.example",), 8000, True)
    assert settings.config_file == home / "assistant.toml"


def test_environment_beats_the_file_and_a_flag_beats_both(home, clean_env):
    (home / "assistant.toml").write_text('site_title = "From the file"\nport = 8000\n')
    clean_env.setenv("ASSISTANT_SITE_TITLE", "From the environment")
    assert Settings.from_env().site_title == "From the environment"
    clean_env.setenv("ASSISTANT_PORT", "8001")
    assert (Settings.from_env().port, Settings.from_env(port=8002).port) == (8001, 8002)


@pytest.mark.parametrize("line, message", [
    ('corpus_dirr = "posts"', "unknown setting 'corpus_dirr'; did you mean 'corpus_dir'?"),
    ('port = "eighty"', "port = 'eighty' is not allowed; port takes a whole number from 1 to 65535"),
    ('allowed_origins = "blog.example"', "allowed_origins takes a list of http(s) origins"),
    ('database_url = 5', "database_url = a secret is not allowed"),
    ('site_title = "unclosed', "not valid TOML"),
])
def test_a_bad_line_in_assistant_toml_is_one_message_naming_the_file_and_the_key(home, line, message):
    (home / "assistant.toml").write_text(line + "\n")
    with pytest.raises(InvalidSetting) as raised:
        Settings.from_env()
    assert str(raised.value).startswith(f"{home / 'assistant.toml'}: ") and message in str(raised.value)
    assert "\n" not in str(raised.value)


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


def test_the_question_log_lives_under_data_unless_told_otherwise(home, clean_env, tmp_path):
    settings = Settings.from_env()
    assert (settings.question_db, settings.log_questions, settings.retention_days) == (home / "data" / "questions.db", True, 90)
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
