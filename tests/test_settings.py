"""Settings: flags win over ASSISTANT_* variables, which win over the defaults."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import PROJECT_DIR, Settings


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("ASSISTANT_CORPUS_DIR", "ASSISTANT_INDEX_DIR", "ASSISTANT_MODEL", "ASSISTANT_HOST", "ASSISTANT_PORT"):
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
