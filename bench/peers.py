"""Ours against two off-the-shelf peers on the same passages and the same model:
the LangChain FAISS vector-store recipe and txtai's hybrid (BM25 + dense) index.

It measures retrieval quality (hit@1, MRR over the top 10) and end-to-end query
latency, interleaved in one process. It does not tune the peers: each runs as its
documentation sets it up, given the local model folder and nothing downloaded.
"""
from __future__ import annotations

import os

# Before any library that might reach for the hub is imported (here or by a peer).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from assistant.content.passages import embedding_text
from assistant.engine import build as index_build
from assistant.engine.assistant import Assistant
from assistant.eval.questions import RANKS_SEEN
from assistant.model.embedder import Embedder, model_path
from assistant.search import index as index_store
from assistant.settings import DEFAULT_MODEL, PROJECT_DIR, Settings

CORPUS_DIR = PROJECT_DIR / "corpus"
QUESTIONS = PROJECT_DIR / "tests" / "eval" / "dev.jsonl"
REPETITIONS = 5
QUICK_REPETITIONS = 2
ANSWER_K = 3  # what a reader is shown; the latency call of every system asks for this many
FLOOR = "model_encode_only"  # reference latency, not ranked
RATIO_TARGET = 0.7  # ours p50 / faster peer p50
PACKAGES = ("txtai", "langchain-community", "langchain-core", "langchain-huggingface",
            "sentence-transformers", "faiss-cpu", "bm25s", "torch", "huggingface-hub")
TXTAI_CONFIG_NOTE = ("Embeddings(path=<local model folder>, method='sentence-transformers', backend='faiss', "
                     "hybrid=True, content=True) -> scoring bm25 (terms, normalize), convex fusion, weights 0.5/0.5")


@dataclass(frozen=True)
class System:
    """One retrieval system under test: a ranking for quality, a call for latency."""

    name: str
    ranked_positions: Callable[[str], list[int]] | None  # passage positions, best first, top RANKS_SEEN
    query: Callable[[str], object]  # one end-to-end query, as a reader would make it
    setup_seconds: float


def _ours(settings: Settings, embedder: Embedder) -> System:
    started = time.perf_counter()
    assistant = Assistant.load(settings, embedder=embedder)
    assistant.warm_up()
    positions = {p.id: i for i, p in enumerate(assistant.index.passages)}
    clear = getattr(embedder, "cache_clear", None) or getattr(embedder, "clear_cache", None)

    def query(question: str):
        if clear:  # measured cold, like the peers, which cache nothing
            clear()
        return assistant.ask(question)

    def ranked(question: str) -> list[int]:
        return [positions[h.passage.id] for h in assistant.rank(question).hits[:RANKS_SEEN]]

    return System("ours", ranked, query, time.perf_counter() - started)


def _encoder_floor(embedder: Embedder) -> System:
    """Not a system: one query through the shared model alone, the cost all three pay."""
    return System(FLOOR, None, lambda q: embedder.encode([q]), 0.0)


def _langchain(documents: list[str], model_folder: str) -> System:
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    started = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=model_folder, model_kwargs={"device": "cpu"},
                                       encode_kwargs={"normalize_embeddings": True})
    store = FAISS.from_texts(documents, embeddings, metadatas=[{"position": i} for i in range(len(documents))])

    def ranked(question: str) -> list[int]:
        return [doc.metadata["position"] for doc, _ in store.similarity_search_with_score(question, k=RANKS_SEEN)]

    return System("langchain_faiss", ranked, lambda q: store.similarity_search_with_score(q, k=ANSWER_K),
                  time.perf_counter() - started)


def _txtai(documents: list[str], model_folder: str) -> System:
    from txtai import Embeddings

    started = time.perf_counter()
    # hybrid=True expands to scoring={"method": "bm25", "terms": True, "normalize": True}
    # plus a dense index; "sentence-transformers" makes txtai encode with the same
    # library as ours (for a bare folder it would otherwise infer its own pooling).
    embeddings = Embeddings(path=model_folder, method="sentence-transformers", backend="faiss",
                            hybrid=True, content=True)
    embeddings.index([(str(i), text, None) for i, text in enumerate(documents)])

    def ranked(question: str) -> list[int]:
        return [int(row["id"]) for row in embeddings.search(question, RANKS_SEEN)]

    return System("txtai_hybrid", ranked, lambda q: embeddings.search(q, ANSWER_K), time.perf_counter() - started)


def _questions() -> list[dict]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("gold") and not r.get("out_of_scope")]


def _quality(system: System, questions: list[dict], texts: Sequence[str]) -> dict:
    """hit@1 and MRR over the top RANKS_SEEN, judged on the passage text as `assistant.eval.questions` does."""
    hits1 = 0
    reciprocal = 0.0
    misses = []
    for row in questions:
        gold = [g.casefold() for g in row["gold"]]
        ranking = system.ranked_positions(row["q"])
        rank = next((i + 1 for i, pos in enumerate(ranking) if any(g in texts[pos].casefold() for g in gold)), None)
        hits1 += rank == 1
        reciprocal += 1 / rank if rank else 0.0
        if rank != 1:
            misses.append(f"{row['q']} (gold at rank {rank or f'>{RANKS_SEEN}'})")
    n = max(len(questions), 1)
    return {"hit_at_1": round(hits1 / n, 4), "mrr": round(reciprocal / n, 4), "misses": misses}


def _latencies(systems: list[System], questions: list[str], repetitions: int) -> dict[str, dict[str, list[float]]]:
    """Per-call milliseconds, wall clock and process CPU, round-robin: every system
    answers a question before the next one, and the system that goes first rotates,
    so drift hits all alike. CPU time is kept because on a shared machine the wall
    clock also measures the neighbours."""
    for system in systems:  # warm-up: lazy loads, first-call allocations, caches of the peers' libraries
        for question in questions[:3]:
            system.query(question)
    timings = {s.name: {"wall": [], "cpu": []} for s in systems}
    turn = 0
    for _ in range(repetitions):
        for question in questions:
            order = systems[turn % len(systems):] + systems[: turn % len(systems)]
            turn += 1
            for system in order:
                wall, cpu = time.perf_counter(), time.process_time()
                system.query(question)
                timings[system.name]["wall"].append((time.perf_counter() - wall) * 1000)
                timings[system.name]["cpu"].append((time.process_time() - cpu) * 1000)
    return timings


def _torch_threads() -> int:
    # with intra-op threads >= free cores, a busy machine slows every system's
    # forward pass several-fold (threads wait on each other); worth seeing next to the figures
    import torch

    return torch.get_num_threads()


def _versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _peer(build: Callable[[], System], failures: dict[str, str], name: str) -> System | None:
    """A peer that cannot be imported or run offline is reported, not fatal."""
    try:
        return build()
    except Exception as exc:  # ImportError, offline hub errors, API changes...
        failures[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return None


def run(quick: bool = False) -> dict:
    """Build our index from the project corpus in a temp folder, give its passages to
    the peers, and measure all three."""
    started = time.perf_counter()
    repetitions = QUICK_REPETITIONS if quick else REPETITIONS
    model_folder = model_path(DEFAULT_MODEL)
    questions = _questions()
    embedder = Embedder(DEFAULT_MODEL)
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        index_dir = Path(tmp) / "index"
        report = index_build.build(CORPUS_DIR, index_dir, embedder)
        passages = index_store.load(index_dir, embedder.model_id).passages
        texts = [p.text for p in passages]
        # the peers get exactly what our engine embeds: "title › section\ntext", one per passage
        documents = [embedding_text(p) for p in passages]

        systems = [_ours(Settings(corpus_dir=CORPUS_DIR, index_dir=index_dir), embedder)]
        for name, build in (("langchain_faiss", lambda: _langchain(documents, model_folder)),
                            ("txtai_hybrid", lambda: _txtai(documents, model_folder))):
            peer = _peer(build, failures, name)
            if peer:
                systems.append(peer)

        results: dict = {"systems": {}}
        for system in systems:
            results["systems"][system.name] = {"setup_s": round(system.setup_seconds, 2),
                                               **_quality(system, questions, texts)}
        results["systems"][FLOOR] = {}
        load_before = os.getloadavg()[0]
        timings = _latencies(systems + [_encoder_floor(embedder)], [r["q"] for r in questions], repetitions)
    for name, calls in timings.items():
        wall = sorted(calls["wall"])
        results["systems"][name] |= {"p50_ms": round(statistics.median(wall), 2),
                                     "p90_ms": round(wall[int(0.9 * (len(wall) - 1))], 2),
                                     "cpu_p50_ms": round(statistics.median(calls["cpu"]), 2),
                                     "calls": len(wall)}
    for name, error in failures.items():
        results["systems"][name] = {"error": error}

    ours = results["systems"]["ours"]
    peers = {name: r for name, r in results["systems"].items() if name not in ("ours", FLOOR) and "error" not in r}
    if peers:
        faster = min(peers, key=lambda name: peers[name]["p50_ms"])
        faster_cpu = min(peers, key=lambda name: peers[name]["cpu_p50_ms"])
        results |= {
            "faster_peer": faster,
            "p50_ratio": round(ours["p50_ms"] / peers[faster]["p50_ms"], 3),
            "cpu_p50_ratio": round(ours["cpu_p50_ms"] / peers[faster_cpu]["cpu_p50_ms"], 3),
            "ours_higher_hit_at_1": all(ours["hit_at_1"] > r["hit_at_1"] for r in peers.values()),
            "ours_higher_mrr": all(ours["mrr"] > r["mrr"] for r in peers.values()),
        }
    results |= {
        "quick": quick,
        "questions": len(questions),
        "repetitions": repetitions,
        "passages": len(passages),
        "index_build_s": round(report.seconds, 2),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before, after timing
        "cpus": os.cpu_count(),
        "torch_threads": _torch_threads(),
        "ratio_target": RATIO_TARGET,
        "peer_documents": "embedding_text(passage): the context line + passage text our engine embeds",
        "txtai_config": TXTAI_CONFIG_NOTE,
        "langchain_config": "HuggingFaceEmbeddings(model_name=<local model folder>, normalize_embeddings=True); "
                            "FAISS.from_texts (IndexFlatL2); similarity_search_with_score",
        "versions": _versions(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return results


def rows(results: dict) -> list[tuple[str, str, str]]:
    """(metric, measured, target) rows for the benchmark table."""
    table: list[tuple[str, str, str]] = []
    for name, r in results["systems"].items():
        if "error" in r:
            table.append((f"{name}", f"not run: {r['error']}", ""))
            continue
        if name == FLOOR:
            table.append(("shared model, query encode alone p50 (ms, reference)", f"{r['p50_ms']:.1f}", ""))
            continue
        table += [
            (f"{name} p50 latency (ms, one query end to end)", f"{r['p50_ms']:.1f}", ""),
            (f"{name} hit@1", f"{r['hit_at_1']:.3f}", ""),
            (f"{name} MRR@{RANKS_SEEN}", f"{r['mrr']:.3f}", ""),
        ]
    if "p50_ratio" in results:
        ours = results["systems"]["ours"]
        peers = {n: r for n, r in results["systems"].items() if n not in ("ours", FLOOR) and "error" not in r}
        best_hit = max(r["hit_at_1"] for r in peers.values())
        best_mrr = max(r["mrr"] for r in peers.values())
        table += [
            (f"p50 ours / faster peer ({results['faster_peer']})", f"{results['p50_ratio']:.2f}",
             f"<= {results['ratio_target']}"),
            ("CPU-time p50 ours / faster peer (less sensitive to a busy machine)", f"{results['cpu_p50_ratio']:.2f}",
             f"<= {results['ratio_target']}"),
            ("hit@1 ours vs best peer", f"{ours['hit_at_1']:.3f} vs {best_hit:.3f} "
             f"({'higher' if results['ours_higher_hit_at_1'] else 'not higher'})", "higher than every peer"),
            ("MRR ours vs best peer", f"{ours['mrr']:.3f} vs {best_mrr:.3f} "
             f"({'higher' if results['ours_higher_mrr'] else 'not higher'})", "higher than every peer"),
        ]
    return table
