"""Index build throughput, against the bare model encoding the same texts, and the
time of an incremental rebuild after one paragraph of a 1,000-article corpus changes.

The model is loaded before any build is timed; a cold model load (a fresh process:
imports + weights) is measured separately, since a CLI build pays it too.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import common

ROUNDS, QUICK_ROUNDS = 3, 1
ARTICLES, QUICK_ARTICLES, PARAGRAPHS = 30, 10, 10  # ~300 passages (quick ~100) for throughput
BIG_ARTICLES, QUICK_BIG_ARTICLES, BIG_PARAGRAPHS = 1000, 30, 3
LOAD_SCRIPT = ("import time; t = time.perf_counter(); from assistant.model.embedder import Embedder; "
               "Embedder().model; print(time.perf_counter() - t)")


def cold_model_load() -> float:
    """Seconds for a fresh interpreter to import the libraries and load the model."""
    done = subprocess.run([sys.executable, "-c", LOAD_SCRIPT], cwd=common.PROJECT, capture_output=True,
                          text=True, check=True, timeout=300)
    return float(done.stdout.strip().splitlines()[-1])


def build_texts(index_dir: Path, embedder) -> tuple[list[str], list[str]]:
    """What a full build runs through the model: each passage's embedding text, plus its
    sentences unless the model pools sentence vectors from the passage's own pass."""
    from assistant.content.passages import embedding_text
    from assistant.search import index as index_store

    passages = index_store.load(index_dir).passages
    one_pass = hasattr(embedder.model, "encode_with_spans")
    return [embedding_text(p) for p in passages], [] if one_pass else [s for p in passages for s in p.sentence_texts()]


def bare_encode(embedder, texts: list[str]) -> float:
    """Seconds for the model alone to embed `texts`, batched as the Embedder batches."""
    started = time.perf_counter()
    embedder.model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return time.perf_counter() - started


def throughput(root: Path, embedder, articles: int, rounds: int) -> dict:
    """Full builds into fresh folders, interleaved with bare encodes of the same texts."""
    from assistant.engine import build as index_build

    corpus = root / "corpus"
    common.write_synthetic_corpus(corpus, articles, PARAGRAPHS)
    builds, passages_only, same_texts = [], [], []
    for r in range(rounds):
        report = index_build.build(corpus, root / f"index-{r}", embedder)
        builds.append(report.seconds)
        texts, sentences = build_texts(root / f"index-{r}", embedder)
        passages_only.append(bare_encode(embedder, texts))
        same_texts.append(bare_encode(embedder, texts + sentences) if sentences else passages_only[-1])
    n = report.passages
    return {"passages": n, "sentences_encoded_apart": len(sentences), "build_s": common.median(builds),
            "build_passages_per_s": n / common.median(builds),
            "bare_passage_texts_per_s": n / common.median(passages_only),
            "bare_same_texts_passages_per_s": n / common.median(same_texts)}


def incremental(root: Path, embedder, articles: int, rounds: int) -> dict:
    """Full build of a many-small-files corpus, then edit one paragraph and rebuild, `rounds` times."""
    from assistant.content import corpus as corpus_files
    from assistant.content.passages import passages_of_all
    from assistant.engine import build as index_build
    from assistant.search import index as index_store

    corpus, index = root / "corpus", root / "index"
    files = common.write_synthetic_corpus(corpus, articles, BIG_PARAGRAPHS, seed=1)
    full = index_build.build(corpus, index, embedder)
    edits = []
    for r in range(rounds):
        path = files[(r * 37) % len(files)]
        paragraphs = path.read_text(encoding="utf-8").split("\n\n")
        paragraphs[1] = f"Edit {r} notes that sunscreen protects the skin every day. " + paragraphs[1]
        path.write_text("\n\n".join(paragraphs), encoding="utf-8")
        edits.append(index_build.build(corpus, index, embedder))
    # where an incremental build's time goes (each step alone, after the builds)
    documents = corpus_files.load_corpus(corpus)[0]
    steps = {"read + parse corpus": common.timed(corpus_files.load_corpus, corpus)[0],
             "corpus fingerprint": common.timed(corpus_files.fingerprint, corpus)[0],
             "load previous index": common.timed(index_store.load, index, embedder.model_id)[0],
             "split passages (token checks)": common.timed(passages_of_all, documents, embedder.fits)[0]}
    last = edits[-1]
    return {"articles": articles, "full_build_s": full.seconds, "full_passages": full.passages,
            "incremental_s": common.median([e.seconds for e in edits]), "passages": last.passages,
            "embedded": last.embedded, "reused": last.reused, "steps_s": steps}


def run(quick: bool = False) -> dict:
    rounds = QUICK_ROUNDS if quick else ROUNDS
    embedder = common.embedder()
    results = {"rounds": rounds, "cold_model_load_s": common.median([cold_model_load() for _ in range(rounds)])}
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        results["throughput"] = throughput(Path(tmp) / "throughput", embedder,
                                           QUICK_ARTICLES if quick else ARTICLES, rounds)
        results["incremental"] = incremental(Path(tmp) / "incremental", embedder,
                                             QUICK_BIG_ARTICLES if quick else BIG_ARTICLES, rounds)
    return results


def rows(results: dict) -> list[tuple[str, str, str]]:
    speed, again = results["throughput"], results["incremental"]
    ratio = speed["build_passages_per_s"] / speed["bare_same_texts_passages_per_s"]
    out = [
        common.row("model load, fresh process (imports + weights)", f"{results['cold_model_load_s']:.1f} s"),
        common.row(f"full build, {speed['passages']} passages", f"{speed['build_s']:.1f} s = "
                   f"{speed['build_passages_per_s']:.1f} passages/s"),
        common.row("bare model.encode of the passage texts", f"{speed['bare_passage_texts_per_s']:.1f} passages/s"),
    ]
    if speed["sentences_encoded_apart"]:  # the build also encodes every sentence on its own
        out.append(common.row(f"bare encode, passages + their {speed['sentences_encoded_apart']} sentences",
                              f"{speed['bare_same_texts_passages_per_s']:.1f} passages/s"))
    out += [
        common.row("build ÷ bare encode of the same texts", f"{ratio:.3f}", "≥ 0.9", ratio >= 0.9),
        common.row(f"full build, {again['articles']} articles ({again['full_passages']} passages)",
                   f"{again['full_build_s']:.1f} s"),
        common.row(f"incremental build, 1 paragraph edited ({again['embedded']} embedded, {again['reused']} reused)",
                   f"{again['incremental_s']:.2f} s", "≤ 5 s (+ model load)", again["incremental_s"] <= 5),
    ]
    out += [common.row(f"  step timed alone: {step}", f"{seconds:.2f} s") for step, seconds in again["steps_s"].items()]
    return out
