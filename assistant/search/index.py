"""The index on disk: its format and its checked loading (engine/build.py writes it).

Layout of the index folder: `manifest.json` is the commit point; it names the data
files of its version (`passages-V.jsonl`, `vectors-V.faiss`, `sentences-V.npy`),
which are written first under new names. A crash before the manifest is replaced
leaves the previous version whole; files of older versions are removed after.
The manifest records each data file's size and SHA-256; loading reads a file into
memory, then checks both, so a file damaged or rewritten on disk never changes an
answer. Large sentence-vector files (SENTENCES_ON_DEMAND_FROM) are the exception:
checked the same way, then read row by row on demand (rows.Rows, pread, never
mapped), so 600 MB at 100k passages stay out of the process. The ONNX export the vectors were encoded with
(`encoder-KEY.onnx`, named by `encoder`) lives here too, so a server encodes
questions exactly as the index was built, with the tokenizer and settings it carries
(`encoder-KEY.tokenizer.json`, `encoder-KEY.json`), so serving needs no model folder.
The export's graph and weights, tokenizer and settings (kinds ENCODER_FILES) and every
file of the BM25 folder (kinds `lexical/PART/FILE`) are recorded and checked too: a
version serves only when every file it names is a regular file of the recorded size and
SHA-256. Only regular files are opened (never blocking: a FIFO is refused, not waited
on), sizes are compared before anything is read, and no read goes past the recorded size.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.content.corpus import fingerprint
from assistant.errors import IndexCorrupt, IndexMismatch, IndexNotFound
from assistant.records import Passage

FORMAT_VERSION = 4  # 2: sentence vectors pooled from the passage's own forward pass; 3: paragraph numbers; 4: file sizes and hashes, sentences no longer end at "Nov." or "I.M."
MANIFEST = "manifest.json"
FIX = "run `assistant build` to rebuild it"
FIX_DAMAGED = "run `assistant build --force` to rebuild it"
DATA_FILES = ("passages", "vectors", "sentences")
# the export's graph, its weights, tokenizer and settings; an index built before the
# tokenizer was carried has none, one built before the graph was recorded has the last two
ENCODER_FILES = ("encoder", "encoder_weights", "tokenizer", "encoder_settings")
LEXICAL = "lexical/"  # kinds of the BM25 folder's files: "lexical/paragraphs/params.index.json"
MANIFEST_MOST = 64 * 2**20  # bytes; a manifest at 100k passages is about 2 MB
CHUNK = 2**20  # bytes hashed at a time
# Sentence vectors this large (about 10k passages) are checked, then read row by row on
# demand (search/rows.py) rather than held: at 100k passages they are 600 MB, and a 1 GB VPS
# must serve them. Below it they are held in memory, so nothing done to the file after
# loading can change an answer; above it a truncation is a one-line error, and a
# same-size rewrite in place would be read as it is.
SENTENCES_ON_DEMAND_FROM = 64 * 2**20
# kept at 512 although the retriever asks for only 50 (retrieve.CANDIDATES): 256 saves
# 1.1 ms a query at 100k but keeps 0.964 of the exact top 10 against 0.986 (bench/scale.py)
HNSW_EF_SEARCH = 512


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
    probe_evidence: float = 0.0  # median evidence of off-topic probe questions (answer/calibrate.py)
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
    sentence_vectors: np.ndarray  # or rows.Rows, which reads the same rows from the file
    sentence_rows: tuple[int, ...]  # first sentence row of each passage
    lexical: tuple | None = None  # the saved BM25 indexes (search/bm25_files.py); None: built at warm-up

    def passage_vectors(self) -> np.ndarray:
        return self.faiss.reconstruct_n(0, self.faiss.ntotal)

    def sentence_vectors_of(self, i: int) -> np.ndarray:
        start = self.sentence_rows[i]
        return self.sentence_vectors[start : start + len(self.passages[i].sentences)]


def _passage_from_json(raw: dict) -> Passage:
    return Passage(**{**raw, "section": tuple(raw["section"]), "sentences": tuple(map(tuple, raw["sentences"]))})


def _read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST
    try:
        with _open_regular(path) as handle:
            text = handle.read(MANIFEST_MOST + 1)
    except FileNotFoundError:
        raise IndexNotFound(f"no index in {index_dir}; run `assistant build` to create it") from None
    except OSError as exc:
        raise IndexCorrupt(f"index manifest {path} can't be read ({exc.strerror or type(exc).__name__}); {FIX}") from None
    if len(text) > MANIFEST_MOST:
        raise IndexCorrupt(f"index manifest {path} is over {MANIFEST_MOST:,} bytes; {FIX}")
    try:
        return Manifest.from_json(json.loads(text.decode("utf-8")))
    except (ValueError, TypeError, KeyError) as exc:
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
    if "encoder" in manifest.files and manifest.files["encoder"] != manifest.encoder:
        raise IndexCorrupt(f"index manifest in {index_dir} names two encoders; {FIX}")
    for kind in ENCODER_FILES:
        if kind in manifest.files:  # read again by the encoder, on first use
            _read_checked(index_dir, manifest, kind, keep=False)
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
            from assistant.search.rows import Rows

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
    rows = first_sentence_rows(passages)
    if sentence_vectors.dtype != np.float32:
        raise IndexCorrupt(f"index sentence vectors in {index_dir} are {sentence_vectors.dtype}, not float32; {FIX}")
    return Index(index_dir, manifest, passages, vectors, sentence_vectors, rows, _load_lexical(index_dir, manifest))


def _load_lexical(index_dir: Path, manifest: Manifest) -> tuple | None:
    """The saved BM25 indexes, each of their files checked first; None for an index built
    before they were saved, or before their files were recorded: then BM25 is built again
    from the checked passages at warm-up, and nothing unchecked is read."""
    from assistant.search import bm25_files as lexical

    kinds = lexical_kinds(manifest)
    if "lexical" not in manifest.files or not kinds:
        return None
    folder = index_dir / manifest.files["lexical"]
    for kind in kinds:
        parts = kind[len(LEXICAL):].split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise IndexCorrupt(f"index manifest in {index_dir} names a BM25 file outside its folder; {FIX}")
        _check_file(folder.joinpath(*parts), manifest.file_sizes.get(kind), manifest.file_sha256.get(kind), keep=False)
    try:
        return lexical.load(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(f"index BM25 files in {index_dir} are unreadable ({type(exc).__name__}); {FIX}") from None


def carries_encoder(manifest: Manifest) -> bool:
    """Whether an index encodes questions without the model folder, every file of it
    checked: its export (if it has one) comes with the tokenizer and settings, and all
    four are recorded."""
    return not manifest.encoder or all(kind in manifest.files for kind in ENCODER_FILES)


def lexical_kinds(manifest: Manifest) -> tuple[str, ...]:
    """The recorded files of the BM25 folder, as kinds (`lexical/paragraphs/params.index.json`)."""
    return tuple(sorted(kind for kind in manifest.file_sha256 if kind.startswith(LEXICAL)))


def named_files(index_dir: Path) -> tuple[Path, ...]:
    """Every file the manifest on disk names (data, encoder, BM25), for a follower to
    watch; () when there is no readable manifest."""
    try:
        manifest = _read_manifest(index_dir)
    except (IndexNotFound, IndexCorrupt):
        return ()
    names = [index_dir / name for kind, name in manifest.files.items() if kind != "lexical"]
    if "lexical" in manifest.files:
        folder = index_dir / manifest.files["lexical"]
        names += [folder / kind[len(LEXICAL):] for kind in lexical_kinds(manifest)]
    return tuple(names)


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
    if kind not in manifest.files:
        raise IndexCorrupt(f"index manifest in {index_dir} names no {kind} file, size and hash; {FIX}")
    return _check_file(index_dir / manifest.files[kind], manifest.file_sizes.get(kind),
                       manifest.file_sha256.get(kind), keep)


def _open_regular(path: Path):
    """`path` opened for reading if it is a regular file; OSError (ENOENT, or "not a
    regular file") otherwise. Opened non-blocking, so a FIFO is refused, never waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _check_file(path: Path, size: int | None, digest: str | None, keep: bool) -> bytes:
    """The bytes of `path` (b"" unless `keep`) once it is known to be a regular file of
    `size` bytes whose SHA-256 is `digest`: the size is compared before any byte is read,
    and no more than `size` + 1 bytes are ever read."""
    if size is None or digest is None:
        raise IndexCorrupt(f"index manifest names {path.name} without its size and hash; {FIX}")
    try:
        with _open_regular(path) as handle:
            found = os.fstat(handle.fileno()).st_size
            if found != size:
                raise IndexCorrupt(f"index file {path} is {found:,} bytes, the manifest says {size:,} "
                                   f"(truncated or rewritten since the build); {FIX_DAMAGED}")
            if keep:
                contents = handle.read(size + 1)
                read, found_digest = len(contents), hashlib.sha256(contents).hexdigest()
            else:
                contents, read, hashing = b"", 0, hashlib.sha256()
                while read <= size and (chunk := handle.read(min(CHUNK, size + 1 - read))):
                    hashing.update(chunk)
                    read += len(chunk)
                found_digest = hashing.hexdigest()
    except FileNotFoundError:
        raise IndexCorrupt(f"index file {path} is missing; {FIX_DAMAGED}") from None
    except OSError as exc:
        raise IndexCorrupt(f"index file {path} can't be read ({exc.strerror or exc}); {FIX_DAMAGED}") from None
    if read != size or found_digest != digest:
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


def first_sentence_rows(passages) -> tuple[int, ...]:
    """The first sentence-vector row of each passage."""
    counts = [len(p.sentences) for p in passages]
    return tuple(int(x) for x in np.concatenate([[0], np.cumsum(counts)[:-1]])) if counts else ()


