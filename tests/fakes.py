"""The one fake embedder, shared by the tests and the benchmarks (bench/scale.py): a hashed
bag of words with the interface of assistant.model.embedder.Embedder.

Deterministic across processes (blake2b, not hash()), instant, and fast enough to embed
100k passages and their sentences in seconds. Each word's stem lands in one of `dim`
buckets; `signed` gives a bucket a sign too (closer to a random projection, for the
benchmarks' 384 dimensions). It records the texts it was asked to encode (`record`), so
a test can count what a build embedded.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")
_SUFFIXES = ("ing", "ed", "es", "s")


def _stem(word: str) -> str:
    """Crude suffix stripping: enough for "wrinkles" and "wrinkle" to share a bucket."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


class HashedEmbedder:
    model_id = "fake-hash-64"
    dim = 64
    max_tokens = 200
    signed = False
    record = True  # keep every text encoded (a benchmark of 100k passages turns it off)
    CHUNK = 20_000

    def __init__(self) -> None:
        self.calls = 0
        self.texts: list[str] = []
        self._codes: dict[str, int] = {}

    @classmethod
    def vector(cls, text: str) -> np.ndarray:
        return cls().encode([text])[0]

    def _code(self, word: str) -> int:
        """Bucket + 1, negative for a negative sign: one cached int per distinct word."""
        code = self._codes.get(word)
        if code is None:
            digest = int.from_bytes(hashlib.blake2b(_stem(word).encode(), digest_size=4).digest(), "little")
            code = (digest % self.dim + 1) * (-1 if self.signed and (digest >> 31) & 1 else 1)
            self._codes[word] = code
        return code

    def fits(self, text: str) -> bool:
        return len(text.split()) <= self.max_tokens

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.calls += 1
        if self.record:
            self.texts.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.CHUNK):
            chunk = texts[start : start + self.CHUNK]
            codes, rows, known = [], [], self._codes
            for row, text in enumerate(chunk):
                words = _WORD.findall(text.casefold())
                try:
                    words = [known[w] for w in words]
                except KeyError:  # a word not seen before: hash it (once)
                    words = [self._code(w) for w in words]
                codes.extend(words)
                rows.extend([row] * len(words))
            codes_arr = np.asarray(codes, dtype=np.int64)
            flat = np.asarray(rows, dtype=np.int64) * self.dim + np.abs(codes_arr) - 1
            block = np.bincount(flat, weights=np.sign(codes_arr), minlength=len(chunk) * self.dim)
            out[start : start + len(chunk)] = block.reshape(len(chunk), self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out
