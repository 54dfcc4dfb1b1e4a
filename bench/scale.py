"""Scale: how build time, index size, query latency and memory grow from one article
to 100k passages, and which FAISS index type the engine should switch to, and when.

The corpora are synthetic (seeded, article-shaped) and their vectors are hashed bags
of words (`HashEmbedder`), not the model: embedding 100k passages and their
sentences with MiniLM on 2 CPU cores takes far too long. Hashed vectors have the same
dimension, so memory, disk and FAISS/BM25 cost are the real ones; the model's own
encode time is measured once on its own and added where a ratio needs it. Each
size is built and queried in its own process, so sizes don't share memory.
"""
from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.fakes import HashedEmbedder

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT_CORPUS = PROJECT_DIR / "corpus"
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
PARAGRAPHS_PER_ARTICLE = 10
SEED = 20261124
REPEATS = 3
MODEL_RUNS = 3  # serving processes per size with the model in process
HASH_MODEL = "bench-hash-384"
DIM = 384
LATENCY_RATIO_TARGET = 2.0
RSS_TARGET_MB = 1000  # serving 100k passages with the model, on a 1 GB VPS
FAST_MS = 5.0  # a single k=100 search above this is no longer "fast" for an interactive answer
CHILD_TIMEOUT = 900

QUESTIONS = (
    "What causes wrinkles on the forehead?",
    "How does the sun damage collagen?",
    "Why does skin lose elasticity with age?",
    "What is the role of elastin in the skin?",
    "Does sunscreen prevent wrinkles?",
    "How can facial exercises tone the muscles?",
    "What are dynamic wrinkles?",
    "What are static wrinkles?",
    "Which skincare routine reduces wrinkles?",
    "How do retinoids improve skin texture?",
    "Do antioxidants protect the skin from UV rays?",
    "Why do frown lines appear between the eyebrows?",
    "How does smiling cause crow's feet?",
    "What procedures relax facial muscles?",
    "Can facial acupuncture reduce wrinkles?",
    "How does hydration affect the skin barrier?",
    "What is the effect of smoking on collagen?",
    "How does sleep help skin repair?",
    "Which vitamins support collagen production?",
    "Does pollution accelerate skin aging?",
    "How should I protect my eyes from the sun?",
    "What makes wrinkles deeper over time?",
    "How do expression lines form around the mouth?",
    "Why does the skin become thinner as we age?",
    "Which moisturizer is best for dry skin in winter?",
    "How does stress affect facial muscles?",
    "What are marionette lines?",
    "Can a healthy diet slow the aging process?",
    "How often should sunscreen be applied?",
    "What helps skin return to its original shape?",
)

TOPICAL = """skin muscles collagen wrinkles sun elastin sunscreen aging face forehead eyes lines
retinoids antioxidants moisturizer hydration cleansing exercises expression smile frown eyebrows
cheeks lips neck texture elasticity volume acupuncture massage sleep diet water vitamin protein
cells fibroblasts dermis epidermis pores acne redness pigmentation spots ultraviolet radiation
rays damage repair barrier oils serum cream routine genetics stress smoking pollution lifestyle
treatment procedure injections fillers peel laser glow firmness sagging creases folds contraction
relaxation tone strength blood circulation inflammation healing nutrients hyaluronic acid
ceramides peptides niacinamide zinc shade clothing sunglasses hats morning evening winter summer
climate humidity dryness marionette nasolabial crow feet static dynamic proteins production
thinner youthful appearance regimen products prevention""".split()
FILLER = """the a of and to in is that can with for as by this it are be on or from over time more
also may help which their these when our we many such most often while both each not will how
why what over into than its some other your you they has have been during after before because
however overall especially important essential several various""".split()
_SYLLABLES = "ba be bi bo bu da de di do ka ke ki ko la le li lo ma me mi mo na ne ni no ra re ri ro sa se si so ta te ti to va ve vi vo".split()


# ---------------------------------------------------------------- the fake model

class HashEmbedder(HashedEmbedder):
    """The tests' fake embedder (tests/fakes.py), widened to the real model's 384
    dimensions, signed, and keeping no copy of what it encodes."""

    model_id = HASH_MODEL
    dim = DIM
    max_tokens = 256
    signed = True
    record = False


# ---------------------------------------------------------------- synthetic corpus

class _Writer:
    """Seeded article text: Zipf-weighted topical words, filler, and a long tail of
    made-up words (a real blog's vocabulary is not 200 words)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        tail = sorted({"".join(self.rng.choices(_SYLLABLES, k=self.rng.randint(2, 4))) for _ in range(12_000)})
        self.rng.shuffle(tail)
        words, weights = [], []
        for group, share in ((FILLER, 0.45), (TOPICAL, 0.35), (tail, 0.20)):
            harmonic = sum(1 / (r + 1) for r in range(len(group)))
            words += group
            weights += [share / ((r + 1) * harmonic) for r in range(len(group))]
        self.words = words
        self.cumulative = list(np.cumsum(weights))

    def sentence(self, focus: list[str]) -> str:
        rng = self.rng
        length = rng.randint(8, 20)
        topical = int(length * 0.2 + rng.random())  # about a fifth of the words are the article's topic
        words = rng.choices(self.words, cum_weights=self.cumulative, k=length - topical)
        for word in rng.choices(focus, k=topical):
            words.insert(rng.randrange(len(words) + 1), word)
        return words[0].capitalize() + " " + " ".join(words[1:]) + "."

    def paragraph(self, focus: list[str]) -> str:
        return " ".join(self.sentence(focus) for _ in range(self.rng.randint(2, 6)))

    def article(self, n: int) -> str:
        focus = self.rng.sample(TOPICAL, 6)
        title = f"The Role of {focus[0].title()} and {focus[1].title()} in {focus[2].title()} (part {n})"
        lines = [title, ""]
        for i in range(PARAGRAPHS_PER_ARTICLE):
            if i in (1, 6):
                lines += [f"{focus[3 if i == 1 else 4].title()} and {self.rng.choice(TOPICAL)}:", ""]
            lines += [self.paragraph(focus), ""]
        return "\n".join(lines)


def write_corpus(directory: Path, passages: int, seed: int = SEED) -> int:
    """Write passages/10 articles of 10 paragraphs as .txt files; returns the article count."""
    directory.mkdir(parents=True, exist_ok=True)
    writer = _Writer(seed + passages)
    articles = passages // PARAGRAPHS_PER_ARTICLE
    for n in range(articles):
        (directory / f"article-{n:05d}.txt").write_text(writer.article(n), encoding="utf-8")
    return articles


# ---------------------------------------------------------------- child processes

def _rss_mb(field: str = "VmHWM") -> float:
    """This process's own peak (VmHWM) or current (VmRSS) resident memory. Not
    getrusage(RUSAGE_CHILDREN) in the parent: Linux carries the parent's peak across
    fork+exec into the child's ru_maxrss, so a large parent would inflate every child."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_rss_mb() -> float:
    return _rss_mb("VmHWM")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _dir_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file()) / 2**20


def _child_build(corpus: str, index_dir: str, phases: bool = False) -> dict:
    from assistant.engine.build import build

    embedder = HashEmbedder()
    started = time.perf_counter()
    report = build(Path(corpus), Path(index_dir), embedder)
    result = {"build_s": time.perf_counter() - started, "passages": report.passages,
              "documents": report.documents, "build_peak_rss_mb": _peak_rss_mb()}
    if phases:  # a second pass over the build's stages, each timed on its own
        from assistant.content.corpus import fingerprint, load_corpus
        from assistant.content.passages import embedding_text, passages_of_all

        timings: dict[str, float] = {}

        def timed(name: str, fn):
            t = time.perf_counter()
            value = fn()
            timings[name] = time.perf_counter() - t
            return value

        documents, _ = timed("load_corpus (read+parse)", lambda: load_corpus(Path(corpus)))
        timed("fingerprint", lambda: fingerprint(Path(corpus)))
        passages = timed("passages_of_all", lambda: passages_of_all(documents, embedder.fits))
        texts = [embedding_text(p) for p in passages] + [s for p in passages for s in p.sentence_texts()]
        timed(f"hashed encode ({len(texts):,} texts)", lambda: HashEmbedder().encode(texts))
        result["phases_s"] = timings
        result["sentences"] = len(texts) - len(passages)
    return result


def _child_serve(index_dir: str, corpus: str, profile: bool = False, real_model: bool = False) -> dict:
    """Load and query an index; with `real_model`, questions are encoded by the serving
    encoder (ONNX Runtime) in this same process, so RSS and latency include the model
    (the vectors stay hashed: the search costs the same)."""
    from assistant.engine.assistant import Assistant
    from assistant.search.index import load
    from assistant.settings import Settings

    started = time.perf_counter()
    index = load(Path(index_dir), model=HASH_MODEL)
    load_s = time.perf_counter() - started
    rss_loaded = _peak_rss_mb()
    if real_model:
        from assistant.model.embedder import Embedder

        embedder = Embedder()
        embedder.encode(["load the model"])
    else:
        embedder = HashEmbedder()
    forget = getattr(embedder, "cache_clear", lambda: None)  # every timed ask pays its encode
    assistant = Assistant(index, embedder, Settings(corpus_dir=Path(corpus), index_dir=Path(index_dir)))
    started = time.perf_counter()
    assistant.warm_up()
    for q in QUESTIONS:  # warm-up pass: lazy caches, hashed-word cache, page cache
        assistant.ask(q)
    warm_s = time.perf_counter() - started
    latencies, answered = [], 0
    for _ in range(REPEATS):
        for q in QUESTIONS:
            forget()
            t = time.perf_counter()
            answer = assistant.ask(q)
            latencies.append((time.perf_counter() - t) * 1000)
            answered += answer.answerable
    result = {
        "passages": len(index.passages), "load_s": load_s, "warm_up_s": warm_s,
        "p50_ms": _pct(latencies, 0.5), "p95_ms": _pct(latencies, 0.95), "min_ms": min(latencies),
        "answered": answered / len(latencies), "rss_after_load_mb": rss_loaded, "peak_rss_mb": _peak_rss_mb(),
        "rss_serving_mb": _rss_mb("VmRSS"),
    }
    if profile:
        result["breakdown_ms"] = _breakdown(assistant)
        result["profile"] = _profile(assistant)
    return result


def _median_ms(fn, repeats: int = 1) -> float:
    times = []
    for _ in range(repeats):
        for q in QUESTIONS:
            t = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _breakdown(assistant) -> dict:
    """Median cost of each step of `ask`, each timed on its own but interleaved (step
    by step, question by question) so a burst of load on this shared machine hits all
    steps alike. Reaches into Retriever internals, so a step an engine change broke
    reads "n/a" instead of failing the run."""
    from assistant.text.terms import content_terms

    retriever, index, embedder = assistant.retriever, assistant.index, assistant.embedder
    vectors = {q: embedder.encode([q])[0] for q in QUESTIONS}
    lexical = {q: retriever.lexical_scores(content_terms(q)) for q in QUESTIONS}
    ranks = {q: retriever.rank(q, vectors[q]) for q in QUESTIONS}
    k = min(100, index.faiss.ntotal)
    candidates = np.arange(min(200, len(index.passages)))
    steps = {
        "ask (total)": lambda q: assistant.ask(q),
        "encode (hashed; the model adds its own)": lambda q: embedder.encode([q]),
        "retriever.rank (total)": lambda q: retriever.rank(q, vectors[q]),
        "bm25 lexical_scores (get_scores, dense over all passages)": lambda q: retriever.lexical_scores(content_terms(q)),
        "retriever.dense_scores (candidate paragraphs)": lambda q: retriever.dense_scores(
            np.unique([retriever._paragraphs[0][h.row] for h in ranks[q].hits]), vectors[q]),
        "faiss search k=100": lambda q: index.faiss.search(vectors[q].reshape(1, -1), k),
        "np.argsort of one score per passage (full sort)": lambda q: np.argsort(-lexical[q]),
        "np.argpartition of one score per passage (top 100)": lambda q: np.argpartition(-lexical[q], k - 1)[:k],
        "200 x faiss.reconstruct (candidate passage vectors)": lambda q: [index.faiss.reconstruct(int(i)) for i in candidates],
        "200 x (sentence_vectors_of(i) @ q).max(), one matmul each": lambda q: [
            float((index.sentence_vectors_of(int(i)) @ vectors[q]).max(initial=-1.0)) for i in candidates],
        "section_scores (200 candidates)": lambda q: retriever.section_scores(candidates, ranks[q].terms),
        "_answer (refusal check + compose)": lambda q: assistant._answer(q, q, ranks[q], vectors[q]),
    }
    times: dict[str, list[float] | str] = {name: [] for name in steps}
    for _ in range(REPEATS):
        for q in QUESTIONS:
            for name, fn in steps.items():
                if isinstance(times[name], str):
                    continue
                try:
                    t = time.perf_counter()
                    fn(q)
                    times[name].append((time.perf_counter() - t) * 1000)
                except Exception as exc:  # an internal renamed by an engine change
                    times[name] = f"n/a ({type(exc).__name__})"
    return {name: t if isinstance(t, str) else statistics.median(t) for name, t in times.items()}


def _profile(assistant, top: int = 14) -> list[tuple[str, float, float, int]]:
    """cProfile of one ask per question: (function, tottime ms/ask, cumtime ms/ask, calls/ask)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for q in QUESTIONS:
        assistant.ask(q)
    profiler.disable()
    asks = len(QUESTIONS)
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (filename, line, name), (cc, nc, tottime, cumtime, _) in stats.stats.items():
        where = Path(filename).name if filename != "~" else ""
        rows.append((f"{where}:{line}({name})" if where else name, tottime * 1000 / asks, cumtime * 1000 / asks, round(nc / asks)))
    rows.sort(key=lambda r: -r[1])
    return rows[:top]


def _child_model() -> dict:
    from assistant.model.embedder import Embedder

    started = time.perf_counter()
    embedder = Embedder()
    embedder.encode([QUESTIONS[0]])
    result = {"load_s": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb(), "rss_serving_mb": _rss_mb("VmRSS")}
    for q in QUESTIONS:  # warm-up
        embedder.encode([q])
    result["encode_p50_ms"] = _median_ms(lambda q: embedder.encode([q]), REPEATS)
    return result


def _child_baseline() -> dict:
    """Python + numpy + faiss + bm25s + the engine imported, nothing loaded."""
    import bm25s  # noqa: F401
    import faiss  # noqa: F401

    import assistant.engine.assistant  # noqa: F401

    return {"peak_rss_mb": _peak_rss_mb()}


def _thread_env(threads: int | None) -> dict:
    """None: the libraries' defaults (2 threads here); 1: torch, FAISS (OpenMP) and
    numpy's BLAS pinned to one thread each."""
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    if threads:
        env.update({name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    return env


CHILDREN = {"build": _child_build, "serve": _child_serve, "model": _child_model, "baseline": _child_baseline}


def _in_child(kind: str, threads: int | None = None, **kwargs) -> dict:
    """Run CHILDREN[kind](**kwargs) in a fresh interpreter and return its JSON result."""
    command = [sys.executable, "-m", "bench.scale", "--child", kind, json.dumps(kwargs)]
    proc = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True, env=_thread_env(threads))
    out, _ = proc.communicate(timeout=CHILD_TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.scale child {kind} failed with exit code {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------- FAISS study

def _clustered(n: int, rng: np.random.Generator, centers: np.ndarray) -> np.ndarray:
    """Unit vectors scattered around topic centres in all 384 directions (cosine to
    their centre about 0.6): a hard case for graph and cluster indexes, since real
    sentence embeddings vary in far fewer directions."""
    vectors = centers[rng.integers(0, len(centers), n)] + rng.normal(0, 0.068, (n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def _hashed(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashed vectors of n synthetic paragraphs, and of the questions plus 70 unseen sentences."""
    writer, texts, article = _Writer(seed), [], 0
    while len(texts) < n:
        texts += [p for p in writer.article(article).split("\n\n")[1:] if p.strip() and not p.rstrip().endswith(":")]
        article += 1
    other = _Writer(seed + 1)
    queries = list(QUESTIONS) + [other.sentence(other.rng.sample(TOPICAL, 6)) for _ in range(70)]
    embedder = HashEmbedder()
    return embedder.encode(texts[:n]), embedder.encode(queries)


def _search_stats(index, queries: np.ndarray, k: int, truth: np.ndarray | None) -> dict:
    """p50/p95 ms of single-query searches; with `truth` (flat's rows), recall@k and
    the share of flat's top 10 that survive into the k candidates (what the answer needs)."""
    for q in queries[:5]:
        index.search(q.reshape(1, -1), k)
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        _, rows = index.search(q.reshape(1, -1), k)
        times.append((time.perf_counter() - t) * 1000)
        found.append(rows[0])
    stats = {"p50_ms": _pct(times, 0.5), "p95_ms": _pct(times, 0.95), "rows": np.stack(found)}
    if truth is not None:
        stats["recall"] = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(stats["rows"], truth)]))
        stats["top10_kept"] = float(np.mean([len(set(a) & set(b[:10])) / 10 for a, b in zip(stats["rows"], truth)]))
    return stats


def _compare(vectors: np.ndarray, queries: np.ndarray, k: int, default_threads: int) -> dict:
    import faiss

    n, rows = len(vectors), {}
    t = time.perf_counter(); flat = faiss.IndexFlatIP(DIM); flat.add(vectors); build_s = time.perf_counter() - t
    faiss.omp_set_num_threads(1)
    truth = _search_stats(flat, queries, k, None)
    faiss.omp_set_num_threads(default_threads)
    contended = _search_stats(flat, queries, k, None)
    rows["Flat"] = {"build_s": build_s, "p50_ms": truth["p50_ms"], "p95_ms": truth["p95_ms"], "recall": 1.0,
                    "top10_kept": 1.0, f"p50_ms_{default_threads}_threads": contended["p50_ms"], "bytes_per_vector": DIM * 4}
    truth = truth["rows"]
    t = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 80
    hnsw.add(vectors)
    build_s = time.perf_counter() - t
    size = len(faiss.serialize_index(hnsw)) / n
    faiss.omp_set_num_threads(1)
    for ef in (64, 128, 256, 512):  # FAISS searches with max(efSearch, k): efSearch 64 behaves as 100 here
        hnsw.hnsw.efSearch = ef
        stats = _search_stats(hnsw, queries, k, truth)
        rows[f"HNSW32 efC80 efS{ef}"] = {"build_s": build_s, "bytes_per_vector": size,
                                         **{key: v for key, v in stats.items() if key != "rows"}}
    faiss.omp_set_num_threads(default_threads)
    nlist = int(4 * np.sqrt(n))
    t = time.perf_counter()
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.min_points_per_centroid = 16  # 4*sqrt(n) lists: quiet FAISS's "provide more training points"
    ivf.train(vectors)
    ivf.add(vectors)
    build_s = time.perf_counter() - t
    faiss.omp_set_num_threads(1)
    for nprobe in (8, 32):
        ivf.nprobe = nprobe
        stats = _search_stats(ivf, queries, k, truth)
        rows[f"IVFFlat{nlist} nprobe{nprobe}"] = {"build_s": build_s, "bytes_per_vector": DIM * 4 + 8,
                                                   **{key: v for key, v in stats.items() if key != "rows"}}
    faiss.omp_set_num_threads(default_threads)
    return rows


def faiss_study(quick: bool = False) -> dict:
    """Flat vs HNSW vs IVF for single k=100 queries: build s, p50/p95 ms (1 thread),
    recall@100 against flat; and flat's latency curve with 1 and the default threads."""
    import faiss

    default_threads = faiss.omp_get_max_threads()
    rng = np.random.default_rng(SEED)
    centers = rng.normal(0, 1, (500, DIM)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    k = 100
    curve_sizes = (1_000, 3_000, 10_000, 30_000) if quick else (1_000, 3_000, 10_000, 30_000, 100_000, 200_000)
    result: dict = {"default_threads": default_threads, "k": k, "flat_curve": {}, "study": {}}

    queries = _clustered(50, rng, centers)
    base = _clustered(max(curve_sizes), rng, centers)
    for n in curve_sizes:
        flat = faiss.IndexFlatIP(DIM)
        flat.add(base[:n])
        row = {}
        for threads in (1, default_threads):
            faiss.omp_set_num_threads(threads)
            row[f"p50_ms_{threads}_threads"] = _search_stats(flat, queries, min(k, n), None)["p50_ms"]
        result["flat_curve"][n] = row
    faiss.omp_set_num_threads(default_threads)
    del base

    for name, n in ([("hashed", 10_000), ("clustered", 10_000)] if quick else
                    [("hashed", 10_000), ("clustered", 10_000), ("hashed", 100_000)]):
        if name == "hashed":
            vectors, queries = _hashed(n, SEED)
        else:
            vectors, queries = _clustered(n, rng, centers), _clustered(100, rng, centers)
        result["study"][f"{name} {n // 1000}k"] = _compare(vectors, queries, k, default_threads)

    one = {n: row["p50_ms_1_threads"] for n, row in result["flat_curve"].items()}
    slow = [n for n, ms in one.items() if ms > FAST_MS]
    result["flat_slow_from_1_thread"] = min(slow) if slow else None
    # flat is linear in n: where one thread crosses FAST_MS, from the largest size measured
    largest = max(one)
    result["flat_crossover_estimate"] = int(FAST_MS * largest / one[largest]) if one[largest] > 0 else None
    return result


# ---------------------------------------------------------------- the section

def run(quick: bool = False) -> dict:
    """Build each size in its own process, query it in two more (library-default
    threads, and one thread), measure the model once each way, then the FAISS study."""
    started = time.perf_counter()
    sizes = QUICK_SIZES if quick else SIZES
    results: dict = {"quick": quick, "vectors": f"hashed bag of words ({HASH_MODEL}), not the model",
                     "load_average_before": os.getloadavg()[0], "sizes": {}}
    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        article_corpus = root / "article-corpus"
        shutil.copytree(PROJECT_CORPUS, article_corpus)
        targets = [("article", article_corpus, 0.0)]
        for n in sizes:
            t = time.perf_counter()
            write_corpus(root / f"corpus-{n}", n)
            targets.append((str(n), root / f"corpus-{n}", time.perf_counter() - t))
        for name, corpus, generate_s in targets:
            index_dir = root / f"index-{name}"
            largest = name == str(sizes[-1])
            row = {"generate_s": generate_s,
                   **_in_child("build", corpus=str(corpus), index_dir=str(index_dir), phases=largest and not quick)}
            row["index_mb"] = _dir_mb(index_dir)
            for mode, threads in (("default", None), ("1 thread", 1)):
                row[mode] = _in_child("serve", threads, index_dir=str(index_dir), corpus=str(corpus), profile=largest)
            # the ratio the issue judges: three processes each, the median p50's run kept
            # (one run's one-article p50 swung from 6.9 to 10.2 ms on this shared machine)
            served = [_in_child("serve", 1, index_dir=str(index_dir), corpus=str(corpus), real_model=True)
                      for _ in range(MODEL_RUNS)]
            row["with model"] = sorted(served, key=lambda r: r["p50_ms"])[len(served) // 2]
            row["with model"]["p50_ms_runs"] = [r["p50_ms"] for r in served]
            results["sizes"][name] = row
            shutil.rmtree(index_dir, ignore_errors=True)
            if name != "article":
                shutil.rmtree(corpus, ignore_errors=True)
        results["baseline"] = _in_child("baseline")
        results["model"] = {mode: _in_child("model", threads) for mode, threads in (("default", None), ("1 thread", 1))}
        results["faiss"] = faiss_study(quick)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    results["load_average_after"] = os.getloadavg()[0]
    results["seconds"] = time.perf_counter() - started
    return results


def _ms(x: float) -> str:
    return f"{x:.1f} ms" if x >= 1 else f"{x * 1000:.0f} µs"


def rows(results: dict) -> list[tuple[str, str, str]]:
    """(metric, measured, target) for the report table."""
    sizes, model, study = results["sizes"], results["model"], results["faiss"]
    out: list[tuple[str, str, str]] = [
        ("scale: vectors", "hashed bag of words, not the model (same 384 dimensions, so the same memory and search cost)", "—"),
        ("scale: machine load average before / after", f"{results['load_average_before']:.1f} / {results['load_average_after']:.1f} "
         f"(2 cores, shared)", "—"),
    ]
    article = sizes.get("article")
    largest = max((k for k in sizes if k != "article"), key=int, default=None)
    for name, row in sizes.items():
        label = "one article" if name == "article" else f"{int(name):,} passages"
        one, default = row["1 thread"], row["default"]
        out += [
            (f"{label}: build (hashed encode) / index on disk",
             f"{row['build_s']:.1f} s / {row['index_mb']:.1f} MB ({row['passages']:,} passages, {row['documents']:,} files)", "—"),
            (f"{label}: load / warm-up (BM25 + one pass of questions)", f"{one['load_s']:.2f} s / {one['warm_up_s']:.2f} s", "—"),
            (f"{label}: ask p50 / p95, 1 thread (retrieval + answer; hashed encode)",
             f"{_ms(one['p50_ms'])} / {_ms(one['p95_ms'])} (answered {one['answered']:.0%})", "—"),
            (f"{label}: ask p50 / p95, default threads", f"{_ms(default['p50_ms'])} / {_ms(default['p95_ms'])}", "—"),
            (f"{label}: RSS serving, no model: after load / peak / steady", f"{one['rss_after_load_mb']:.0f} / "
             f"{one['peak_rss_mb']:.0f} / {one['rss_serving_mb']:.0f} MB", "—"),
            (f"{label}: peak RSS building (hashed encode)", f"{row['build_peak_rss_mb']:.0f} MB", "—"),
        ]
        if "phases_s" in row:
            phases = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in row["phases_s"].items())
            out.append((f"{label}: build stages timed apart", phases, "—"))
    for mode, m in model.items():
        out.append((f"model process ({mode}): RSS after one encode, peak / steady; encode p50",
                    f"{m['peak_rss_mb']:.0f} / {m['rss_serving_mb']:.0f} MB; {_ms(m['encode_p50_ms'])}", "—"))
    out.append(("interpreter + numpy/faiss/bm25s/engine imported, nothing loaded", f"{results['baseline']['peak_rss_mb']:.0f} MB", "—"))
    if article and largest:
        big = sizes[largest]
        for mode in ("1 thread", "default"):
            encode = model[mode]["encode_p50_ms"]
            b, a = big[mode]["p50_ms"], article[mode]["p50_ms"]
            out.append((f"ask p50 {int(largest):,} / one article, {mode} (retrieval only)",
                        f"{b / a:.1f}× ({_ms(b)} vs {_ms(a)})", f"≤ {LATENCY_RATIO_TARGET:.0f}×"))
            out.append((f"ask p50 {int(largest):,} / one article, {mode} (+ model encode {_ms(encode)} to each)",
                        f"{(b + encode) / (a + encode):.2f}× ({_ms(b + encode)} vs {_ms(a + encode)})", f"≤ {LATENCY_RATIO_TARGET:.0f}×"))
        b, a = big["with model"]["p50_ms"], article["with model"]["p50_ms"]
        runs = " / ".join(f"{x:.1f}" for x in big["with model"].get("p50_ms_runs", [b]))
        runs_a = " / ".join(f"{x:.1f}" for x in article["with model"].get("p50_ms_runs", [a]))
        out.append((f"ask p50 {int(largest):,} / one article, both with the model's encode in process (median of runs)",
                    f"{b / a:.2f}× ({_ms(b)} vs {_ms(a)}; runs {runs} vs {runs_a} ms)", f"≤ {LATENCY_RATIO_TARGET:.0f}×"))
    for name, row in sizes.items():
        served = row["with model"]
        label = "one article" if name == "article" else f"{int(name):,} passages"
        out.append((f"{label}: RSS serving with the model (ONNX), peak / steady after {REPEATS * len(QUESTIONS)} asks",
                    f"{served['peak_rss_mb']:.0f} / {served['rss_serving_mb']:.0f} MB",
                    f"≤ {RSS_TARGET_MB} MB" if name == str(SIZES[-1]) else "—"))
    threads = study["default_threads"]
    for t in (1, threads):
        curve = ", ".join(f"{int(n) // 1000}k {_ms(r[f'p50_ms_{t}_threads'])}" for n, r in study["flat_curve"].items())
        out.append((f"FAISS flat p50 per k=100 query, {t} thread{'s' if t > 1 else ''}", curve, f"≤ {FAST_MS:.0f} ms"))
    out.append((f"FAISS flat stops being fast (> {FAST_MS:.0f} ms, 1 thread): measured / extrapolated",
                f"from {study['flat_slow_from_1_thread'] or 'none of the sizes tried'} / ≈{study['flat_crossover_estimate']:,} vectors", "—"))
    for data, rows_ in study["study"].items():
        for name, r in rows_.items():
            out.append((f"FAISS {data} {name}: p50 1 thread / recall@100 / flat top-10 kept / build",
                        f"{_ms(r['p50_ms'])} / {r['recall']:.3f} / {r['top10_kept']:.3f} / {r['build_s']:.1f} s", "—"))
    out.append(("scale section run time", f"{results['seconds']:.0f} s", "—"))
    return out


if __name__ == "__main__" and len(sys.argv) >= 3 and sys.argv[1] == "--child":
    print(json.dumps(CHILDREN[sys.argv[2]](**json.loads(sys.argv[3] if len(sys.argv) > 3 else "{}"))))
