"""Shared fixtures: a fast deterministic fake embedder, a throwaway copy of the
project's corpus, and one real-model Assistant for the whole session."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT_CORPUS = PROJECT_DIR / "corpus"
ARTICLE_NAME = "facial-expression-muscles-and-wrinkles.txt"
ARTICLE = PROJECT_CORPUS / ARTICLE_NAME
EVAL_DIR = Path(__file__).resolve().parent / "eval"

_WORD = re.compile(r"[a-z0-9]+")
_SUFFIXES = ("ing", "ed", "es", "s")


def _stem(word: str) -> str:
    """Crude suffix stripping: enough for "wrinkles" and "wrinkle" to share a bucket."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


class FakeEmbedder:
    """Same interface as assistant.embed.Embedder, but a hashed bag of words.

    Deterministic across processes (blake2b, not hash()), instant, and it records
    every text it was asked to encode so tests can count what a build embedded.
    """

    model_id = "fake-hash-64"
    dim = 64
    max_tokens = 200

    def __init__(self) -> None:
        self.calls = 0
        self.texts: list[str] = []

    @staticmethod
    def vector(text: str) -> np.ndarray:
        vector = np.zeros(FakeEmbedder.dim, dtype=np.float32)
        for word in _WORD.findall(text.casefold()):
            digest = hashlib.blake2b(_stem(word).encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % FakeEmbedder.dim] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def fits(self, text: str) -> bool:
        return len(text.split()) <= self.max_tokens

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vector(t) for t in texts]).astype(np.float32)


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
def real_assistant(tmp_path_factory):
    """An Assistant over a copy of the project corpus, indexed with the real model."""
    from assistant.embed import Embedder
    from assistant.engine import Assistant
    from assistant.index import build
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
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium where it can")
    sync_api = pytest.importorskip("playwright.sync_api")
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
        pytest.skip("PostgreSQL's initdb/pg_ctl are missing (/usr/lib/postgresql/*/bin): "
                    "`make test` installs Debian's postgresql where it can")
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
