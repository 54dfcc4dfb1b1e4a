"""Passages + vectors on disk: build (incremental, atomic, locked) and load (validated).

Layout of the index folder: `manifest.json` is the commit point; it names the data
files of its version (`passages-V.jsonl`, `vectors-V.faiss`, `sentences-V.npy`),
which are written first under new names. A crash before the manifest is replaced
leaves the previous version whole; files of older versions are removed after.
The manifest records each data file's size and SHA-256; loading reads a file into
memory, then checks both, so a file damaged or rewritten on disk never changes an
answer. Large sentence-vector files (SENTENCES_ON_DEMAND_FROM) are the exception:
checked the same way, then read row by row on demand (mapped.Rows, pread, never
mapped), so 600 MB at 100k passages stay out of the process. The ONNX export the vectors were encoded with
(`encoder-KEY.onnx`, named by `encoder`) lives here too, so a server encodes
questions exactly as the index was built.
"""
from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .corpus import fingerprint, load_corpus
from .embed import encode_sentences_apart
from .errors import IndexBusy, IndexCorrupt, IndexMismatch, IndexNotFound
from .passages import embedding_text, passages_of_all
from .records import BuildReport, Passage

FORMAT_VERSION = 4  # 2: sentence vectors pooled from the passage's own forward pass; 3: paragraph numbers; 4: file sizes and hashes, sentences no longer end at "Nov." or "I.M."
MANIFEST = "manifest.json"
FIX = "run `assistant build` to rebuild it"
FIX_DAMAGED = "run `assistant build --force` to rebuild it"
DATA_FILES = ("passages", "vectors", "sentences")
# Sentence vectors this large (about 10k passages) are checked, then read row by row on
# demand (mapped.py) rather than held: at 100k passages they are 600 MB, and a 1 GB VPS
# must serve them. Below it they are held in memory, so nothing done to the file after
# loading can change an answer; above it a truncation is a one-line error, and a
# same-size rewrite in place would be read as it is.
SENTENCES_ON_DEMAND_FROM = 64 * 2**20
HNSW_FROM = 30_000  # passages; recall@100 0.97 vs exact at efSearch 512 (bench/scale.py)
# kept at 512 although the retriever asks for only 50 (retrieve.CANDIDATES): 256 saves
# 1.1 ms a query at 100k but keeps 0.964 of the exact top 10 against 0.986 (bench/scale.py)
HNSW_EF_SEARCH = 512
PAUSE_AT = "ASSISTANT_BUILD_PAUSE_AT"  # test-only: a stage where build() stops, see _pause


@dataclass(frozen=True)
class Manifest:
    format_version: int
    version: str
    model: str
    dim: int
    corpus_fingerprint: str
    built_at: str
    documents: int
    passage_hashes: tuple[str, ...]
    files: dict
    probe_evidence: float = 0.0  # median evidence of off-topic probe questions (calibrate.py)
    file_sizes: dict = field(default_factory=dict)  # kind ("vectors") -> bytes
    file_sha256: dict = field(default_factory=dict)  # kind -> hex digest of the whole file
    encoder: str = ""  # the ONNX export beside the index that encoded it ("": torch)

    @classmethod
    def from_json(cls, raw: dict) -> "Manifest":
        """Parse and type-check a manifest; ValueError/TypeError/KeyError when it is malformed."""
        manifest = cls(**{**raw, "passage_hashes": tuple(raw["passage_hashes"]), "files": dict(raw["files"]),
                          "file_sizes": dict(raw.get("file_sizes", {})), "file_sha256": dict(raw.get("file_sha256", {}))})
        text_fields = (manifest.version, manifest.model, manifest.corpus_fingerprint, manifest.built_at)
        if not (all(isinstance(v, str) for v in text_fields) and type(manifest.dim) is int
                and type(manifest.format_version) is int and type(manifest.documents) is int
                and all(isinstance(h, str) for h in manifest.passage_hashes)
                and type(manifest.probe_evidence) in (int, float)
                and isinstance(manifest.encoder, str) and "/" not in manifest.encoder
                and all(isinstance(k, str) and isinstance(v, str) and "/" not in v for k, v in manifest.files.items())
                and all(type(v) is int for v in manifest.file_sizes.values())
                and all(isinstance(v, str) for v in manifest.file_sha256.values())):
            raise TypeError("manifest fields have the wrong types")
        return manifest


@dataclass(frozen=True)
class Index:
    """A loaded index: passages, their vectors (as FAISS), and per-sentence vectors."""

    directory: Path
    manifest: Manifest
    passages: tuple[Passage, ...]
    faiss: object
    sentence_vectors: np.ndarray  # or mapped.Rows, which reads the same rows from the file
    sentence_rows: tuple[int, ...]  # first sentence row of each passage
    lexical: tuple | None = None  # the saved BM25 indexes (lexical.py); None: built at warm-up

    def passage_vectors(self) -> np.ndarray:
        return self.faiss.reconstruct_n(0, self.faiss.ntotal)

    def sentence_vectors_of(self, i: int) -> np.ndarray:
        start = self.sentence_rows[i]
        return self.sentence_vectors[start : start + len(self.passages[i].sentences)]


def _passage_from_json(raw: dict) -> Passage:
    return Passage(**{**raw, "section": tuple(raw["section"]), "sentences": tuple(map(tuple, raw["sentences"]))})


def _read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexNotFound(f"no index in {index_dir}; run `assistant build` to create it")
    try:
        return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise IndexCorrupt(f"index manifest {path} is unreadable ({type(exc).__name__}); {FIX}") from None


def load(index_dir: Path, model: str | None = None) -> Index:
    """Load and validate the index; every inconsistency is a one-line domain error."""
    import faiss

    manifest = _read_manifest(index_dir)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatch(f"index in {index_dir} has format {manifest.format_version}, this version reads {FORMAT_VERSION}; {FIX}")
    if model is not None and manifest.model != model:
        raise IndexMismatch(f"index in {index_dir} was built with model {manifest.model!r}, but the configured model is {model!r}; {FIX}")
    on_demand = manifest.file_sizes.get("sentences", 0) >= SENTENCES_ON_DEMAND_FROM
    contents = {kind: _read_checked(index_dir, manifest, kind, keep=not (on_demand and kind == "sentences"))
                for kind in DATA_FILES}
    names = {kind: manifest.files[kind] for kind in DATA_FILES}
    try:
        passages = tuple(_passage_from_json(json.loads(line)) for line in contents.pop("passages").decode().splitlines() if line.strip())
    except (ValueError, TypeError, KeyError) as exc:
        raise IndexCorrupt(f"index file {names['passages']} in {index_dir} is unreadable ({type(exc).__name__}); {FIX}") from None
    faiss.omp_set_num_threads(1)  # one query at a time: 2 OpenMP threads were 3-20x slower here
    try:
        vectors = faiss.deserialize_index(np.frombuffer(contents.pop("vectors"), dtype=np.uint8))
        if isinstance(vectors, faiss.IndexHNSW):
            vectors.hnsw.efSearch = HNSW_EF_SEARCH
        if on_demand:  # checked like the others, then read only where a question needs it
            from .mapped import Rows

            sentence_vectors = Rows(index_dir / names["sentences"])
        else:
            sentence_vectors = _array_from_npy(contents.pop("sentences"))
    except (RuntimeError, ValueError, OSError, EOFError) as exc:
        raise IndexCorrupt(f"index vectors in {index_dir} are unreadable or truncated ({type(exc).__name__}); {FIX}") from None
    hashes = tuple(p.hash for p in passages)
    counts = (len(passages), vectors.ntotal, len(manifest.passage_hashes))
    if len(set(counts)) != 1:
        raise IndexCorrupt(f"index in {index_dir} disagrees with itself: {counts[0]} passages, {counts[1]} vectors, {counts[2]} in the manifest; {FIX}")
    if hashes != manifest.passage_hashes:
        raise IndexCorrupt(f"index passages in {index_dir} do not match the manifest; {FIX}")
    if vectors.d != manifest.dim or sentence_vectors.ndim != 2 or sentence_vectors.shape[1] != manifest.dim:
        raise IndexMismatch(f"index vectors in {index_dir} have dimension {vectors.d}, the manifest says {manifest.dim}; {FIX}")
    sentence_counts = [len(p.sentences) for p in passages]
    if sentence_vectors.shape[0] != sum(sentence_counts):
        raise IndexCorrupt(f"index sentence vectors in {index_dir} do not match the passages; {FIX}")
    rows = _sentence_rows(passages)
    if sentence_vectors.dtype != np.float32:
        raise IndexCorrupt(f"index sentence vectors in {index_dir} are {sentence_vectors.dtype}, not float32; {FIX}")
    return Index(index_dir, manifest, passages, vectors, sentence_vectors, rows, _load_lexical(index_dir, manifest))


def _load_lexical(index_dir: Path, manifest: Manifest) -> tuple | None:
    """The saved BM25 indexes, or None for an index built before they were saved."""
    from . import lexical

    if "lexical" not in manifest.files:
        return None
    try:
        return lexical.load(index_dir / manifest.files["lexical"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(f"index BM25 files in {index_dir} are unreadable ({type(exc).__name__}); {FIX}") from None


def encoder_file(index_dir: Path) -> Path | None:
    """The ONNX export the index in `index_dir` was encoded with, if it has one on disk."""
    try:
        name = _read_manifest(index_dir).encoder
    except (IndexNotFound, IndexCorrupt):
        return None
    return index_dir / name if name and (index_dir / name).is_file() else None


def _read_checked(index_dir: Path, manifest: Manifest, kind: str, keep: bool = True) -> bytes:
    """One data file's bytes, after checking its size and SHA-256 against the manifest.
    Read into memory, never mapped: a file truncated under a mapping kills the process
    (SIGBUS), and one rewritten in place would change answers without a word. With
    `keep` false the file is only checked, read through in chunks (b"" is returned)."""
    try:
        name, size, digest = manifest.files[kind], manifest.file_sizes[kind], manifest.file_sha256[kind]
    except KeyError:
        raise IndexCorrupt(f"index manifest in {index_dir} names no {kind} file, size and hash; {FIX}") from None
    path = index_dir / name
    try:
        with path.open("rb") as handle:
            found = os.fstat(handle.fileno()).st_size
            if found != size:
                raise IndexCorrupt(f"index file {path} is {found:,} bytes, the manifest says {size:,} "
                                   f"(truncated or rewritten since the build); {FIX_DAMAGED}")
            if keep:
                contents = handle.read(size + 1)
            else:
                found_digest = hashlib.file_digest(handle, "sha256").hexdigest()
                contents = b""
    except FileNotFoundError:
        raise IndexCorrupt(f"index file {path} is missing; {FIX_DAMAGED}") from None
    except OSError as exc:
        raise IndexCorrupt(f"index file {path} can't be read ({exc.strerror or type(exc).__name__}); {FIX_DAMAGED}") from None
    if (len(contents) != size or hashlib.sha256(contents).hexdigest() != digest) if keep else found_digest != digest:
        raise IndexCorrupt(f"index file {path} was changed since the build (its SHA-256 differs from the manifest's); {FIX_DAMAGED}")
    return contents


def _array_from_npy(contents: bytes) -> np.ndarray:
    """A read-only array over the bytes of a .npy file, without copying them."""
    from numpy.lib import format as npy

    stream = io.BytesIO(contents)
    major, _ = npy.read_magic(stream)
    read_header = npy.read_array_header_1_0 if major == 1 else npy.read_array_header_2_0
    shape, fortran_order, dtype = read_header(stream)
    if fortran_order or dtype.hasobject:
        raise ValueError("not a C-ordered numeric array")
    return np.frombuffer(contents, dtype=dtype, count=int(np.prod(shape)), offset=stream.tell()).reshape(shape)


def is_current(index_dir: Path, corpus_dir: Path, model: str) -> bool:
    """True when the index exists, reads, and was built from this corpus with this model."""
    try:
        manifest = _read_manifest(index_dir)
    except (IndexNotFound, IndexCorrupt):
        return False
    return (
        manifest.format_version == FORMAT_VERSION
        and all(kind in manifest.file_sizes and kind in manifest.file_sha256 for kind in DATA_FILES)
        and manifest.model == model
        and manifest.corpus_fingerprint == fingerprint(corpus_dir)
    )


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


def build(corpus_dir: Path, index_dir: Path, embedder, progress: bool = False, force: bool = False) -> BuildReport:
    """Bring the index up to date with the corpus, embedding only new or changed passages."""
    import faiss

    started = time.perf_counter()
    with build_lock(index_dir):
        documents, skipped = load_corpus(corpus_dir)
        corpus_print = fingerprint(corpus_dir)
        previous = _previous(index_dir, embedder.model_id)
        if previous and not force and previous.manifest.corpus_fingerprint == corpus_print:
            n = len(previous.passages)
            return BuildReport(n, 0, n, 0, time.perf_counter() - started, len(documents), False, tuple(skipped))
        passages = passages_of_all(documents, embedder.fits)
        placed = getattr(embedder, "place_export", None)
        encoder = placed(index_dir) if placed else ""
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

        built_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        files = {"passages": f"passages-{version}.jsonl", "vectors": f"vectors-{version}.faiss", "sentences": f"sentences-{version}.npy"}
        written = {
            "passages": _write_atomic(index_dir / files["passages"], lambda h: h.writelines(
                (json.dumps(_passage_record(p), ensure_ascii=False) + "\n").encode() for p in passages)),
            "vectors": _write_atomic(index_dir / files["vectors"], lambda h: h.write(faiss.serialize_index(flat).tobytes())),
            "sentences": _write_atomic(index_dir / files["sentences"], lambda h: np.save(h, sentence_vectors, allow_pickle=False)),
        }
        if passages:  # BM25 as calibration built it, so loading never rebuilds it
            from . import lexical

            files["lexical"] = f"lexical-{version}"
            lexical.save(index_dir / files["lexical"], retriever.lexical_indexes())
        _pause("written")
        manifest = Manifest(FORMAT_VERSION, version, embedder.model_id, int(dim), corpus_print, built_at,
                            len(documents), tuple(p.hash for p in passages), files, probe_evidence,
                            file_sizes={kind: size for kind, (size, _) in written.items()},
                            file_sha256={kind: digest for kind, (_, digest) in written.items()}, encoder=encoder)
        _write_atomic(index_dir / MANIFEST, lambda h: h.write(json.dumps(asdict(manifest), indent=1).encode()))
        encoders = {encoder, previous.manifest.encoder if previous else ""} - {""}
        kept = {*files.values(), *(previous.manifest.files.values() if previous else ()),
                *encoders, *(f"{name}.data" for name in encoders)}  # an export's weights file (export.py)
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


def _sentence_rows(passages) -> tuple[int, ...]:
    """The first sentence-vector row of each passage."""
    counts = [len(p.sentences) for p in passages]
    return tuple(int(x) for x in np.concatenate([[0], np.cumsum(counts)[:-1]])) if counts else ()


def _calibrate(index_dir: Path, passages: list[Passage], vectors, sentence_vectors: np.ndarray, embedder):
    """Ask the new index the bundled off-topic probes (see calibrate.py), before it is
    written: (their median evidence, the draft's Retriever, whose BM25 is then built)."""
    from .calibrate import probe_evidence
    from .retrieve import Retriever

    draft = Index(index_dir, None, tuple(passages), vectors, sentence_vectors, _sentence_rows(passages))
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
