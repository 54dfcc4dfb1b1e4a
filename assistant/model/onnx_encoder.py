"""A sentence-transformers model's transformer, exported to ONNX (model/export.py), run with
ONNX Runtime and the model's own Rust `tokenizers` tokenizer, pooled in numpy.

Why: serving needs one short question encoded at a time, and torch plus transformers
cost about 510 MB and 5.5 s to load for that. This imports neither (nor
sentence-transformers, nor the model package). An export carries what encoding needs
beside its graph: the model's tokenizer.json (`encoder-KEY.tokenizer.json`) and its
settings (`encoder-KEY.json`: pooling, max_seq_length, do_lower_case), read from the
model folder when it was exported, so an index serves without the model folder. fp32 gives
the same vectors as sentence-transformers (tests/test_onnxmodel.py compares them). It
handles only the plain Transformer -> Pooling (-> Normalize) pipelines that torch_encoder accepts.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class EncoderSettings:
    """How text becomes a vector around the transformer; vectors are always normalised."""

    pooling: str  # "mean" or "cls"
    max_seq_length: int  # tokens, special tokens included; longer texts are truncated
    do_lower_case: bool

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> EncoderSettings:
        """ValueError when the text is not a settings file this version reads."""
        try:
            raw = json.loads(text)
            settings = cls(**raw)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not an encoder settings file ({exc})") from None
        if settings.pooling not in ("mean", "cls") or type(settings.max_seq_length) is not int \
                or settings.max_seq_length < 2 or type(settings.do_lower_case) is not bool:
            raise ValueError("encoder settings have the wrong values")
        return settings


def settings_file(graph: Path) -> Path:
    """`encoder-KEY.json` beside the export `encoder-KEY.onnx`."""
    return graph.with_suffix(".json")


def tokenizer_file(graph: Path) -> Path:
    """`encoder-KEY.tokenizer.json` beside the export `encoder-KEY.onnx`: the model's tokenizer.json."""
    return graph.with_suffix(".tokenizer.json")


def self_contained(graph: Path) -> bool:
    """Whether the export carries its tokenizer and settings (exports made before did not)."""
    return settings_file(graph).is_file() and tokenizer_file(graph).is_file()


def tokenizer_settings(folder: Path) -> tuple[int, bool]:
    """(max_seq_length, do_lower_case) as sentence-transformers reads them."""
    try:
        config = json.loads((folder / "sentence_bert_config.json").read_text())
    except (OSError, ValueError):
        config = {}
    max_length = config.get("max_seq_length")
    if not isinstance(max_length, int):
        try:  # sentence-transformers falls back to the tokenizer's own limit
            max_length = int(json.loads((folder / "tokenizer_config.json").read_text())["model_max_length"])
        except (OSError, ValueError, KeyError, TypeError):
            max_length = 512
    return max_length, bool(config.get("do_lower_case", False))


class OnnxModel:
    """The subset of SentenceTransformer the Embedder uses: max_seq_length,
    get_sentence_embedding_dimension(), encode(), encode_with_spans(), count_tokens()."""

    max_batch = 64  # fp32: a text's vector does not depend on what it is batched with

    def __init__(self, model_file: Path, tokenizer: Path, settings: EncoderSettings, threads: int = 1):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        # one question at a time is fastest on one thread on a shared 2-core host (see README)
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # its warnings about unused initialisers are noise here
        self.session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.pooling = settings.pooling
        self.max_seq_length, self.lower_case = settings.max_seq_length, settings.do_lower_case
        # sentence-transformers truncates to max_seq_length (special tokens included) and
        # pads a batch to its longest text; padding is done here, per batch
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._counter = Tokenizer.from_file(str(tokenizer))  # untruncated, for count_tokens
        self._counter.no_padding()
        self._counter.no_truncation()
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    @classmethod
    def from_export(cls, graph: Path, threads: int = 1) -> OnnxModel:
        """The model from a self-contained export alone (graph, weights, tokenizer, settings)."""
        return cls(graph, tokenizer_file(graph), EncoderSettings.from_json(settings_file(graph).read_text()), threads)

    @classmethod
    def from_folder(cls, graph: Path, folder: Path, pooling: str, threads: int = 1) -> OnnxModel:
        """The model from an export and the model folder it was made from."""
        max_length, lower_case = tokenizer_settings(folder)
        return cls(graph, folder / "tokenizer.json", EncoderSettings(pooling, max_length, lower_case), threads)

    def get_sentence_embedding_dimension(self) -> int:
        return self.dim

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` with the special tokens, before any truncation."""
        return len(self._counter.encode(self._cased(text)).ids)

    def _cased(self, text: str) -> str:
        return text.lower() if self.lower_case else text

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list]:
        """Token states (batch, tokens, dim), the attention mask, and each text's encoding."""
        encodings = self.tokenizer.encode_batch([self._cased(t) for t in texts])
        width = max(len(e.ids) for e in encodings)
        feed = {name: np.zeros((len(texts), width), dtype=np.int64) for name in INPUTS}
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            feed["input_ids"][row, :n] = encoding.ids
            feed["attention_mask"][row, :n] = encoding.attention_mask
            feed["token_type_ids"][row, :n] = encoding.type_ids
        hidden = self.session.run(None, {name: feed[name] for name in self.inputs})[0]
        return hidden, feed["attention_mask"].astype(bool), encodings

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            return hidden[:, 0].astype(np.float32)
        weights = mask[..., None].astype(np.float32)
        return (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)

    def _batches(self, count: int, batch_size: int, order: list[int], progress: bool):
        starts = range(0, count, min(batch_size, self.max_batch))
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="embedding", unit="batch")
        step = min(batch_size, self.max_batch)
        return (order[s : s + step] for s in starts)

    def encode(self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               convert_to_numpy: bool = True, show_progress_bar: bool = False) -> np.ndarray:
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # longest first: batches pad less
        for rows in self._batches(len(texts), batch_size, order, show_progress_bar):
            hidden, mask, _ = self._forward([texts[i] for i in rows])
            vectors[rows] = self._pool(hidden, mask)
        if normalize_embeddings:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def encode_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32,
                          show_progress_bar: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """One forward pass per text: its vector, and one vector per character span
        (its sentences), mean-pooled from the same contextual token states (as
        torch_encoder.LightModel.encode_with_spans does on torch)."""
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.empty((0, self.dim), np.float32)] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for rows in self._batches(len(texts), batch_size, order, show_progress_bar):
            hidden, mask, encodings = self._forward([texts[i] for i in rows])
            pooled_rows = self._pool(hidden, mask)
            for j, i in enumerate(rows):
                vectors[i] = pooled_rows[j]
                offsets = np.zeros((hidden.shape[1], 2), dtype=np.int64)
                offsets[: len(encodings[j].offsets)] = encodings[j].offsets
                real = mask[j] & (offsets[:, 1] > offsets[:, 0])  # no [CLS]/[SEP]/padding
                pooled = []
                for a, b in spans[i]:
                    inside = real & (offsets[:, 0] >= a) & (offsets[:, 1] <= b)
                    pooled.append(hidden[j][inside].mean(0) if inside.any() else vectors[i])
                span_vectors[i] = np.array(pooled, dtype=np.float32).reshape(-1, self.dim)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        for block in span_vectors:
            block /= np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
        return vectors, span_vectors
