"""Shared helpers for the bench sections: percentiles, timing, the project's questions,
temp copies of the corpus/index, synthetic article corpora, and row/table formatting.

Nothing here measures anything by itself, and nothing writes into the checkout:
every corpus and index a section touches lives in a temp folder.
"""
from __future__ import annotations

import functools
import json
import random
import shutil
import statistics
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DEV_QUESTIONS = PROJECT / "tests" / "eval" / "dev.jsonl"


# --- numbers ---------------------------------------------------------------

def percentile(values, p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation between samples."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * p / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(seconds) -> dict:
    """p50/p95/p99/max in milliseconds of a list of durations in seconds."""
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95),
            "p99": percentile(ms, 99), "max": max(ms) if ms else float("nan")}


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


# --- the project's questions and model -------------------------------------

def dev_questions() -> list[str]:
    """The "q" of every line of tests/eval/dev.jsonl, in file order."""
    lines = DEV_QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()]


@functools.cache
def embedder():
    """One loaded Embedder shared by the in-process sections (the model loads once per run)."""
    from assistant.model.embedder import Embedder

    loaded = Embedder()
    loaded.model  # noqa: B018  (load now, not inside a timed call)
    return loaded


@functools.cache
def reference_model():
    """The bundled model on sentence-transformers itself (torch fp32): the bare encode the
    issue's throughput target is counted in. Only the bench process imports torch."""
    from sentence_transformers import SentenceTransformer

    from assistant.model.embedder import model_path
    from assistant.settings import DEFAULT_MODEL

    return SentenceTransformer(model_path(DEFAULT_MODEL), device="cpu")


def cache_clearer(embedder_) -> object | None:
    """The query-embedding cache's clear function, if the embedder has one: a method
    `cache_clear`/`clear_cache`, or an lru_cache-wrapped attribute with `cache_clear`."""
    for name in ("cache_clear", "clear_cache"):
        if callable(getattr(embedder_, name, None)):
            return getattr(embedder_, name)
    for name in dir(embedder_):
        if name.startswith("__") or name == "model":
            continue
        attribute = getattr(type(embedder_), name, None)
        if isinstance(attribute, property):
            continue  # don't trigger lazy properties
        clear = getattr(getattr(embedder_, name, None), "cache_clear", None)
        if callable(clear):
            return clear
    return None


# --- temp corpora and indexes ----------------------------------------------

def project_copy(root: Path) -> tuple[Path, Path]:
    """Copy the project's corpus (and its index, if it has one) under `root`;
    returns (corpus_dir, index_dir). Building there never touches the checkout."""
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(PROJECT / "corpus", corpus)
    index.mkdir(parents=True)
    manifest = PROJECT / "index" / "manifest.json"
    if manifest.is_file():
        for name in [manifest.name, *json.loads(manifest.read_text()).get("files", {}).values()]:
            if (PROJECT / "index" / name).is_file():
                shutil.copy2(PROJECT / "index" / name, index / name)
    return corpus, index


def built_project_copy(root: Path):
    """`project_copy`, then bring the copied index up to date; returns Settings for it."""
    from assistant.engine import build as index_build
    from assistant.settings import Settings

    corpus, index = project_copy(root)
    index_build.build(corpus, index, embedder())
    return Settings.from_env(corpus_dir=corpus, index_dir=index, data_dir=root / "data")


VOCABULARY = {
    "adjective": "fine deep static dynamic dry oily sensitive mature youthful firm elastic thin gentle "
                 "daily nightly visible subtle early lasting natural".split(),
    "noun": "skin collagen elastin wrinkle crease line pore sunscreen serum retinoid moisturizer cleanser "
            "forehead cheek jawline eyelid muscle expression routine barrier texture tone hydration "
            "peptide antioxidant vitamin cream mask exfoliant toner".split(),
    "verb": "supports softens protects restores thickens smooths weakens repairs shields reduces "
            "strengthens relaxes hydrates brightens deepens".split(),
    "place": "around the eyes|across the forehead|near the mouth|along the jawline|between the brows|"
             "on the cheeks|under the eyes|at the temples".split("|"),
    "opener": "Over time|In most cases|For many people|With age|Every morning|After sun exposure|"
              "According to dermatologists|In dry weather".split("|"),
}


def synthetic_sentence(rng: random.Random) -> str:
    """One article-like sentence from the fixed skin-care vocabulary."""
    v = VOCABULARY
    shape = rng.randrange(3)
    if shape == 0:
        text = (f"{rng.choice(v['opener'])}, {rng.choice(v['adjective'])} {rng.choice(v['noun'])} "
                f"{rng.choice(v['verb'])} the {rng.choice(v['noun'])} {rng.choice(v['place'])}")
    elif shape == 1:
        text = (f"A {rng.choice(v['adjective'])} {rng.choice(v['noun'])} {rng.choice(v['verb'])} "
                f"{rng.choice(v['adjective'])} {rng.choice(v['noun'])} and {rng.choice(v['verb'])} "
                f"the {rng.choice(v['noun'])} {rng.choice(v['place'])}")
    else:
        text = (f"Using {rng.choice(v['noun'])} with {rng.choice(v['noun'])} "
                f"{rng.choice(v['verb'])} {rng.choice(v['adjective'])} {rng.choice(v['noun'])}, "
                f"especially {rng.choice(v['place'])}")
    return text + "."


def synthetic_paragraph(rng: random.Random, sentences: tuple[int, int] = (3, 5)) -> str:
    return " ".join(synthetic_sentence(rng) for _ in range(rng.randint(*sentences)))


def synthetic_article(rng: random.Random, number: int, paragraphs: int) -> str:
    """A plain-text article: title line, a heading ("Word Word:") every three paragraphs."""
    v = VOCABULARY
    lines = [f"{rng.choice(v['adjective']).title()} {rng.choice(v['noun']).title()} Notes, Part {number}"]
    for i in range(paragraphs):
        if i and i % 3 == 0:
            lines.append(f"{rng.choice(v['adjective']).title()} {rng.choice(v['noun']).title()} Care:")
        lines.append(synthetic_paragraph(rng))
    return "\n\n".join(lines) + "\n"


def write_synthetic_corpus(corpus: Path, articles: int, paragraphs: int, seed: int = 0) -> list[Path]:
    """`articles` deterministic .txt articles of `paragraphs` paragraphs each; returns the files."""
    rng = random.Random(seed)
    corpus.mkdir(parents=True, exist_ok=True)
    files = []
    for n in range(articles):
        path = corpus / f"article-{n:04d}.txt"
        path.write_text(synthetic_article(rng, n, paragraphs), encoding="utf-8")
        files.append(path)
    return files


# --- rows and the table ----------------------------------------------------

def row(metric: str, measured: str, target: str = "", ok: bool | None = None) -> tuple[str, str, str]:
    """A table row; `ok` marks the target met (✓) or missed (✗)."""
    mark = "" if ok is None else (" ✓" if ok else " ✗")
    return metric, measured, (target + mark).strip()


def format_table(rows) -> str:
    header = ("metric", "measured", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    line = lambda r: " | ".join(cell.ljust(width) for cell, width in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), "-+-".join("-" * w for w in widths), *map(line, rows)])
