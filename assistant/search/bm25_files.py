"""The BM25 indexes of an index folder on disk: written at build time, read at load.

Why: rebuilding BM25 over every paragraph and sentence at load took seconds and left
about 240 MB resident at 100k passages; bm25s saves its sparse score arrays as .npy
files, read back whole (50 MB at 100k; not mapped, as search/index.py maps nothing). One folder
(`lexical-V/`) holds both indexes (paragraphs, sentences), each as bm25s saves it plus
our tokenizer's term ids (terms.json). It neither tokenises nor scores: search/retrieve.py does.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

PARTS = ("paragraphs", "sentences")


def save(directory: Path, indexes: tuple) -> dict[str, tuple[int, str]]:
    """Write (model, term ids) pairs for the paragraphs and sentences to `directory`,
    atomically (a crash leaves no half-written folder under that name); returns the size
    and SHA-256 of each file written, by its path in the folder ("paragraphs/terms.json"),
    for the manifest (search/index.py checks them before `load` reads a byte)."""
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for part, (model, terms) in zip(PARTS, indexes):
        # indexed from our term ids, bm25s keeps an int -> int table that its JSON writer
        # refuses; scoring by ids never reads it, so it is saved with text keys
        ids = model.vocab_dict
        model.vocab_dict = {str(k): v for k, v in ids.items()}
        try:
            model.save(str(tmp / part), show_progress=False)
        finally:
            model.vocab_dict = ids
        (tmp / part / "terms.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
    recorded = {}
    for path in sorted(tmp.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
                recorded[path.relative_to(tmp).as_posix()] = (os.fstat(handle.fileno()).st_size,
                                                              hashlib.file_digest(handle, "sha256").hexdigest())
    os.replace(tmp, directory)
    return recorded


def load(directory: Path) -> tuple:
    """The (model, term ids) pairs. Raises OSError or ValueError when the folder is
    missing or damaged."""
    import bm25s

    indexes = []
    for part in PARTS:
        model = bm25s.BM25.load(str(directory / part), mmap=False, show_progress=False)
        terms = json.loads((directory / part / "terms.json").read_text(encoding="utf-8"))
        if not isinstance(terms, dict):
            raise ValueError(f"{directory / part / 'terms.json'} is not a term table")
        indexes.append((model, terms))
    return tuple(indexes)
