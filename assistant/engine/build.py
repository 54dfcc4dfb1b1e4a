"""Corpus -> an index folder on disk (search/index.py reads it): incremental (only new
or changed passages are embedded), atomic (data files first, the manifest last, so a
crash leaves the previous version whole) and locked (one build per folder at a time).
Calibrates the refusal bar on the draft before anything is written.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np

from assistant.content.corpus import fingerprint, load_corpus
from assistant.content.passages import embedding_text, passages_of_all
from assistant.errors import IndexBusy, IndexCorrupt, IndexMismatch, IndexNotFound
from assistant.model.embedder import encode_sentences_apart
from assistant.model.export import parts, weights
from assistant.model.onnx_encoder import settings_file, tokenizer_file
from assistant.records import BuildReport, Passage
from assistant.search.index import (
    FORMAT_VERSION,
    LEXICAL,
    MANIFEST,
    Index,
    Manifest,
    carries_encoder,
    first_sentence_rows,
    load,
)

log = logging.getLogger("assistant.build")
HNSW_FROM = 30_000  # passages; recall@100 0.97 vs exact at efSearch 512 (bench/scale.py)
PAUSE_AT = "ASSISTANT_BUILD_PAUSE_AT"  # test-only: a stage where build() stops, see _pause


@contextmanager
def build_lock(index_dir: Path, wait: bool = True):
    """Serialise builds on one index folder (an OS lock, released if the process dies)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise IndexBusy(f"another build is running on {index_dir}; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomic(path: Path, write) -> tuple[int, str]:
    """Write through `write(handle)` to a temporary file, then rename it into place;
    returns the size and SHA-256 of what was written (for the manifest)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        counted = _Hashing(handle)
        write(counted)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return counted.size, counted.sha256.hexdigest()


def _digest(path: Path) -> tuple[int, str]:
    """The size and SHA-256 of a file written by someone else (the export's, placed here)."""
    with open(path, "rb") as handle:
        return os.fstat(handle.fileno()).st_size, hashlib.file_digest(handle, "sha256").hexdigest()


class _Hashing:
    """A write-only file that counts and hashes the bytes passing through to `handle`."""

    def __init__(self, handle):
        self.handle, self.size, self.sha256 = handle, 0, hashlib.sha256()

    def write(self, data) -> int:
        self.sha256.update(data)
        self.size += memoryview(data).nbytes
        return self.handle.write(data)

    def writelines(self, chunks) -> None:
        for chunk in chunks:
            self.write(chunk)


def _previous(index_dir: Path, model: str) -> Index | None:
    """The current index if it can be reused for incremental building, else None."""
    try:
        return load(index_dir, model)
    except (IndexNotFound, IndexCorrupt, IndexMismatch):
        return None


def build(corpus_dir: Path, index_dir: Path, embedder, progress: bool = False, force: bool = False,
          now: datetime | None = None) -> BuildReport:
    """Bring the index up to date with the corpus, embedding only new or changed passages.
    Posts not public at `now` (default: now) are left out; one that comes due is a change."""
    import faiss

    started = time.perf_counter()
    now = now or datetime.now(UTC)
    with build_lock(index_dir):
        documents, skipped = load_corpus(corpus_dir, now)
        corpus_print = fingerprint(corpus_dir, now)
        previous = _previous(index_dir, embedder.model_id)
        # an index built before its export carried a tokenizer is built again (its vectors reused)
        if (previous and not force and previous.manifest.corpus_fingerprint == corpus_print
                and carries_encoder(previous.manifest)):
            n = len(previous.passages)
            return BuildReport(n, 0, n, 0, time.perf_counter() - started, len(documents), False, tuple(skipped))
        passages = passages_of_all(documents, embedder.fits)
        placed = getattr(embedder, "place_export", None)
        encoder = placed(index_dir) if placed else ""
        # what serving needs to encode without the model folder, checked on load like the data
        graph = index_dir / encoder
        carried = {kind: path for kind, path in (("encoder", graph), ("encoder_weights", weights(graph)),
                                                 ("tokenizer", tokenizer_file(graph)),
                                                 ("encoder_settings", settings_file(graph)))
                   if encoder and path.is_file()}
        if previous and previous.manifest.encoder and encoder and previous.manifest.encoder != encoder:
            previous_vectors_usable = False  # another export: maybe another model under the same name
        else:
            previous_vectors_usable = previous is not None

        stored: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if previous_vectors_usable:
            old_vectors = previous.passage_vectors()
            for i, p in enumerate(previous.passages):
                stored[p.hash] = (old_vectors[i], previous.sentence_vectors_of(i))
        fresh = [p for p in passages if p.hash not in stored]
        texts = [embedding_text(p) for p in fresh]
        # sentence spans shifted past the context line that embedding_text puts first
        shifts = [len(t) - len(p.text) for t, p in zip(texts, fresh)]
        spans = [[(a + k, b + k) for a, b in p.sentences] for p, k in zip(fresh, shifts)]
        encode = getattr(embedder, "encode_passages", None) or partial(encode_sentences_apart, embedder)
        _pause("embedding", lambda: encode(texts[:1], spans[:1]))  # mid-way: int8 batches are one passage
        vectors_fresh, sentence_blocks = encode(texts, spans, progress=progress) if fresh else (np.zeros((0, 0)), [])
        dim = vectors_fresh.shape[1] if len(fresh) else embedder.dim
        for p, vector, block in zip(fresh, vectors_fresh, sentence_blocks):
            stored[p.hash] = (vector, block)

        vectors = np.stack([stored[p.hash][0] for p in passages]).astype(np.float32)
        sentence_vectors = np.concatenate([stored[p.hash][1] for p in passages]).astype(np.float32)
        flat = vector_index(dim, len(vectors))
        flat.add(vectors)
        _pause("embedded")
        probe_evidence, retriever = _calibrate(index_dir, passages, flat, sentence_vectors, embedder)

        built_at = datetime.now(UTC).isoformat(timespec="seconds")
        version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        files = {"passages": f"passages-{version}.jsonl", "vectors": f"vectors-{version}.faiss", "sentences": f"sentences-{version}.npy"}
        written = {
            "passages": _write_atomic(index_dir / files["passages"], lambda h: h.writelines(
                (json.dumps(_passage_record(p), ensure_ascii=False) + "\n").encode() for p in passages)),
            "vectors": _write_atomic(index_dir / files["vectors"], lambda h: h.write(faiss.serialize_index(flat).tobytes())),
            "sentences": _write_atomic(index_dir / files["sentences"], lambda h: np.save(h, sentence_vectors, allow_pickle=False)),
        }
        for kind, path in carried.items():
            files[kind], written[kind] = path.name, _digest(path)
        if passages:  # BM25 as calibration built it, so loading never rebuilds it
            from assistant.search import bm25_files as lexical

            files["lexical"] = f"lexical-{version}"
            saved = lexical.save(index_dir / files["lexical"], retriever.lexical_indexes())
            written.update({LEXICAL + name: recorded for name, recorded in saved.items()})
        _pause("written")
        manifest = Manifest(FORMAT_VERSION, version, embedder.model_id, int(dim), corpus_print, built_at,
                            len(documents), tuple(p.hash for p in passages), files, probe_evidence,
                            file_sizes={kind: size for kind, (size, _) in written.items()},
                            file_sha256={kind: digest for kind, (_, digest) in written.items()}, encoder=encoder)
        _write_atomic(index_dir / MANIFEST, lambda h: h.write(json.dumps(asdict(manifest), indent=1).encode()))
        encoders = {encoder, previous.manifest.encoder if previous else ""} - {""}
        kept = {*files.values(), *(previous.manifest.files.values() if previous else ()),
                *(part.name for name in encoders for part in parts(Path(name)))}  # graph, weights, tokenizer, settings
        _remove_stale(index_dir, keep=kept)

        current = {p.hash for p in passages}
        removed = len({p.hash for p in previous.passages} - current) if previous else 0
        return BuildReport(
            passages=len(passages),
            embedded=len(fresh),
            reused=len(passages) - len(fresh),
            removed=removed,
            seconds=time.perf_counter() - started,
            documents=len(documents),
            skipped=tuple(skipped),
        )


def log_skipped(report: BuildReport) -> None:
    """Log what a build left out (the CLI prints it instead): a file to fix (front matter
    that can't be read, a URL that can't be linked to) is a warning, a draft or scheduled post is news."""
    for skipped in report.skipped:
        where = f"{skipped.source} line {skipped.line}" if skipped.line else skipped.source
        level = logging.WARNING if skipped.needs_fixing else logging.INFO
        log.log(level, "%s: %s", where, skipped.detail)


def _calibrate(index_dir: Path, passages: list[Passage], vectors, sentence_vectors: np.ndarray, embedder):
    """Ask the new index the bundled off-topic probes (see answer/calibrate.py), before it is
    written: (their median evidence, the draft's Retriever, whose BM25 is then built)."""
    from assistant.answer.calibrate import probe_evidence
    from assistant.search.retrieve import Retriever

    draft = Index(index_dir, None, tuple(passages), vectors, sentence_vectors, first_sentence_rows(passages))
    retriever = Retriever(draft)
    return round(probe_evidence(retriever, embedder, retriever.paragraph), 4), retriever


def _pause(stage: str, first=None) -> None:
    """Test-only, so a test can kill -9 a build at a known point: with ASSISTANT_BUILD_PAUSE_AT
    set to `stage`, run `first`, print `paused at <stage>` to stderr and wait for stdin to close."""
    if os.environ.get(PAUSE_AT) != stage:
        return
    if first:
        first()
    print(f"paused at {stage}", file=sys.stderr, flush=True)
    if sys.stdin:
        sys.stdin.read()  # end of input (the test closed it, or died) resumes: no build left hanging


def vector_index(dim: int, count: int):
    """Exact inner product while it is fast; HNSW beyond HNSW_FROM passages, where exact
    search passed 5 ms per query on this machine (bench/scale.py: 10.7 ms at 100k)."""
    import faiss

    if count < HNSW_FROM:
        return faiss.IndexFlatIP(dim)
    index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    return index


def _passage_record(p: Passage) -> dict:
    # by hand: dataclasses.asdict recursed 2.5M times for 100k passages (13 s)
    return {"id": p.id, "doc_slug": p.doc_slug, "doc_title": p.doc_title, "section": list(p.section), "text": p.text,
            "url": p.url, "start": p.start, "end": p.end, "hash": p.hash, "sentences": [list(x) for x in p.sentences], "paragraph": p.paragraph}


def _remove_stale(index_dir: Path, keep: set[str]) -> None:
    """Delete data files of versions older than the previous one, and crashed-build leftovers."""
    import shutil

    for path in index_dir.iterdir():
        is_data = path.name.startswith(("passages-", "vectors-", "sentences-", "encoder-", "lexical-"))
        if (is_data and path.name not in keep) or path.name.endswith(".tmp"):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
