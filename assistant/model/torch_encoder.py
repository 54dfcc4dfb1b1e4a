"""A sentence-transformers model whose pipeline is only Transformer -> mean or CLS
pooling (-> Normalize), run on transformers directly.

Why: importing sentence-transformers takes about 5 s on this 2-core machine (it pulls
in its training and quantisation back-ends), which alone breaks a 6 s cold start.
The model folder and its sentence-transformers config stay the source of truth: this
reads modules.json and the pooling config, and handles nothing else. Any other
pipeline returns None from `load_light`, and the caller uses sentence-transformers.
The vectors are the same (tests/test_lightmodel.py compares them).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

_PIPELINE = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling")
_NORMALIZE = "sentence_transformers.models.Normalize"


def _pooling(folder: Path) -> str | None:
    """"mean" or "cls" if the folder holds a plain pipeline, else None."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        types = tuple(m["type"] for m in modules)
        if types[:2] != _PIPELINE or any(t != _NORMALIZE for t in types[2:]):
            return None
        config = json.loads((folder / modules[1]["path"] / "config.json").read_text())
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    modes = {k for k, v in config.items() if k.startswith("pooling_mode_") and v is True}
    return {frozenset({"pooling_mode_mean_tokens"}): "mean", frozenset({"pooling_mode_cls_token"}): "cls"}.get(frozenset(modes))


class LightModel:
    """The subset of SentenceTransformer the Embedder uses: tokenizer, max_seq_length,
    get_sentence_embedding_dimension(), encode()."""

    def __init__(self, folder: Path, pooling: str, quantize: bool = False, threads: int = 1):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        torch.set_num_threads(threads)  # one query at a time is fastest on 1 thread here; see README
        self.pooling = pooling
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModel.from_pretrained(str(folder)).eval()
        # int8 dynamic quantisation scales activations per batch, so a text's vector would
        # depend on what it was batched with (cosine down to 0.95): quantised, every text
        # is encoded alone, which keeps vectors deterministic (and costs little on CPU).
        self.quantized = quantize
        self.max_batch = 1 if quantize else 64
        if quantize:
            import warnings

            with warnings.catch_warnings():  # torch 2.13 flags its quantized-tensor API as deprecated
                warnings.simplefilter("ignore", UserWarning)
                self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
        try:
            self.max_seq_length = int(json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
        except (OSError, ValueError, KeyError):
            self.max_seq_length = int(getattr(self.tokenizer, "model_max_length", 512))

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def _batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_seq_length, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**tokens).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return pooled.numpy()

    def encode_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32,
                          show_progress_bar: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """One forward pass per text: its vector, and one vector per character span
        (its sentences), mean-pooled from the same contextual token states."""
        torch = self._torch
        vectors = np.empty((len(texts), self.get_sentence_embedding_dimension()), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.empty((0, vectors.shape[1]), np.float32)] * len(texts)
        batch_size = min(batch_size, self.max_batch)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        starts = range(0, len(texts), batch_size)
        if show_progress_bar:
            from tqdm import tqdm

            starts = tqdm(starts, desc="embedding", unit="batch")
        for s in starts:
            rows = order[s : s + batch_size]
            tokens = self.tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=self.max_seq_length,
                                    return_tensors="pt", return_offsets_mapping=True)
            offsets = tokens.pop("offset_mapping").numpy()
            with torch.inference_mode():
                hidden = self.model(**tokens).last_hidden_state.numpy()
            mask = tokens["attention_mask"].numpy().astype(bool)
            for j, i in enumerate(rows):
                vectors[i] = hidden[j][mask[j]].mean(0) if self.pooling == "mean" else hidden[j][0]
                real = mask[j] & (offsets[j][:, 1] > offsets[j][:, 0])  # no [CLS]/[SEP]/padding
                pooled = []
                for a, b in spans[i]:
                    inside = real & (offsets[j][:, 0] >= a) & (offsets[j][:, 1] <= b)
                    pooled.append(hidden[j][inside].mean(0) if inside.any() else vectors[i])
                span_vectors[i] = np.array(pooled, dtype=np.float32).reshape(-1, vectors.shape[1])
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        for block in span_vectors:
            block /= np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
        return vectors, span_vectors

    def encode(self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               convert_to_numpy: bool = True, show_progress_bar: bool = False) -> np.ndarray:
        # longest first, as sentence-transformers does: batches pad less
        batch_size = min(batch_size, self.max_batch)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        starts = range(0, len(texts), batch_size)
        if show_progress_bar:
            from tqdm import tqdm

            starts = tqdm(starts, desc="embedding", unit="batch")
        parts = [self._batch([texts[i] for i in order[s : s + batch_size]]) for s in starts]
        vectors = np.empty((len(texts), self.get_sentence_embedding_dimension()), dtype=np.float32)
        vectors[order] = np.concatenate(parts) if parts else vectors[:0]
        if normalize_embeddings:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors


def is_light(folder: str | Path) -> bool:
    """Whether `load_light` would take this model folder (reads two small JSON files)."""
    folder = Path(folder)
    return folder.is_dir() and _pooling(folder) is not None


def load_light(folder: str | Path, quantize: bool = False, threads: int = 1) -> LightModel | None:
    folder = Path(folder)
    pooling = _pooling(folder) if folder.is_dir() else None
    return LightModel(folder, pooling, quantize, threads) if pooling else None
