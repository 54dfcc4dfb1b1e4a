"""Shared fixtures: a fast deterministic fake embedder, a throwaway copy of the
project's corpus, and one real-model Assistant for the whole session. Under CI=true a
test skipped because an engine or the browser is not installed fails instead."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import stories
from fakes import HashedEmbedder
from servers import MISSING, missing

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT_CORPUS = PROJECT_DIR / "corpus"
ARTICLE_NAME = "facial-expression-muscles-and-wrinkles.txt"
ARTICLE = PROJECT_CORPUS / ARTICLE_NAME
EVAL_DIR = Path(__file__).resolve().parent / "eval"

FakeEmbedder = HashedEmbedder  # the name the tests and their child scripts import


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _missing_fails_in_ci(report) -> None:
    """A skip whose reason says an engine or browser is not installed (servers.missing)
    fails under CI=true, naming what is missing: a failed install must not pass green."""
    if not (report.skipped and in_ci() and isinstance(report.longrepr, tuple)):
        return
    reason = str(report.longrepr[2])
    if MISSING in reason:
        report.outcome = "failed"
        report.longrepr = f"CI=true and this would be skipped: {reason.removeprefix('Skipped: ')}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    _missing_fails_in_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield  # a whole module skipped (pytest.skip(..., allow_module_level=True))
    _missing_fails_in_ci(report)
    return report


@pytest.fixture(scope="session", autouse=True)
def export_cache(tmp_path_factory):
    """One ONNX export of the model per test session (torch, in a child process), shared
    by every index and server the tests build; never the user's own cache."""
    if not os.environ.get("ASSISTANT_CACHE_DIR"):
        os.environ["ASSISTANT_CACHE_DIR"] = str(tmp_path_factory.mktemp("exports"))
    return os.environ["ASSISTANT_CACHE_DIR"]


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private copy of the project's corpus that a test may edit freely."""
    target = tmp_path / "corpus"
    shutil.copytree(PROJECT_CORPUS, target)
    return target


@pytest.fixture(scope="session")
def article_text() -> str:
    return ARTICLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """This checkout's wheel, built once, offline, from a copy of its source (pip builds in
    the tree it is given: never the checkout)."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("wheel")
    shutil.copytree(PROJECT_DIR / "assistant", root / "source" / "assistant", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_DIR / name, root / "source")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                           "-w", str(root / "wheels"), str(root / "source")], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    (built,) = (root / "wheels").glob("article_assistant-*.whl")
    return built


def loader(embedder):
    """`load(corpus, index)` for assistant/eval/collection.py: an Assistant over that corpus
    and index with `embedder` (a test's real model, loaded once)."""
    from dataclasses import replace

    from assistant.engine.assistant import Assistant
    from assistant.settings import Settings

    def load(corpus, index):
        return Assistant.load(replace(Settings(), corpus_dir=corpus, index_dir=index), embedder=embedder)

    return load


@pytest.fixture(scope="session")
def real_assistant(tmp_path_factory):
    """An Assistant over a copy of the project corpus, indexed with the real model."""
    from assistant.engine.assistant import Assistant
    from assistant.engine.build import build
    from assistant.model.embedder import Embedder
    from assistant.settings import Settings

    root = tmp_path_factory.mktemp("real")
    corpus = root / "corpus"
    shutil.copytree(PROJECT_CORPUS, corpus)
    embedder = Embedder()
    build(corpus, root / "index", embedder)
    return Assistant.load(Settings(corpus_dir=corpus, index_dir=root / "index"), embedder=embedder)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium driven by Playwright (never a downloaded browser)."""
    from servers import CHROMIUM, CHROMIUM_ARGS, has_chromium

    if not has_chromium():
        pytest.skip(missing(f"chromium ({CHROMIUM})", "chromium"))
    sync_api = pytest.importorskip("playwright.sync_api", reason=missing("the playwright package"))
    # expect() polls until its condition holds; the timeout is only a failsafe, and 5 s
    # (Playwright's default) is too short for a shared 2-core machine under load
    sync_api.expect.set_options(timeout=30_000)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL cluster for the whole session (a test that stops it starts it again)."""
    from deploy.postgres import has_postgres, postgres_cluster

    if not has_postgres():
        pytest.skip(missing("PostgreSQL's initdb and pg_ctl (/usr/lib/postgresql/*/bin)", "postgresql"))
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request, tmp_path):
    """A new, empty question-log store of each kind: the same contract holds for both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'questions.db'}"
    return request.getfixturevalue("postgres").create_database()


@pytest.fixture
def outage(postgres):
    """The session's cluster for a test that stops it: started again afterwards, whatever happened."""
    yield postgres
    if not postgres.running():
        postgres.start()


@pytest.fixture(scope="module")
def story_assistant(real_assistant, tmp_path_factory):
    """A made-up three-paragraph story (tests/stories.py), read in order."""
    return stories.made_up(tmp_path_factory.mktemp("story"), real_assistant.embedder, {"baker.md": stories.STORY})


@pytest.fixture(scope="module")
def guild_blog(real_assistant, tmp_path_factory):
    """Three made-up articles in one corpus: the baker's story, his guild, a harbour."""
    return stories.made_up(tmp_path_factory.mktemp("guild"), real_assistant.embedder,
                           {"baker.md": stories.STORY, "guild.md": stories.GUILD, "harbour.md": stories.HARBOUR})
