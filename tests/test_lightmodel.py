"""The light loader gives the same vectors as sentence-transformers for the bundled model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.model.embedder import model_path
from assistant.model.torch_encoder import _pooling, load_light
from assistant.settings import DEFAULT_MODEL

TEXTS = ["What are crow's feet?", "Sun Protection: Ultraviolet (UV) rays from the sun can accelerate the breakdown "
         "of collagen and elastin.", "皱纹", "a", "🙂 " * 40]


@pytest.mark.slow
def test_light_vectors_equal_sentence_transformers_vectors():
    from sentence_transformers import SentenceTransformer

    folder = model_path(DEFAULT_MODEL)
    light = load_light(folder)
    assert light is not None and light.max_seq_length == 256 and light.get_sentence_embedding_dimension() == 384
    reference = SentenceTransformer(folder, device="cpu").encode(TEXTS, normalize_embeddings=True)
    ours = light.encode(TEXTS, batch_size=2)
    assert np.allclose(ours, reference, atol=1e-5)


def test_only_plain_mean_or_cls_pipelines_are_taken(tmp_path):
    def folder(modules, pooling):
        (tmp_path / "1_Pooling").mkdir(exist_ok=True)
        (tmp_path / "modules.json").write_text(json.dumps(modules))
        (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
        return tmp_path

    plain = [{"type": "sentence_transformers.models.Transformer", "path": ""},
             {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"}]
    assert _pooling(folder(plain, {"pooling_mode_mean_tokens": True})) == "mean"
    assert _pooling(folder(plain, {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})) == "cls"
    assert _pooling(folder(plain, {"pooling_mode_max_tokens": True})) is None
    assert _pooling(folder(plain, {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": True})) is None
    dense = plain + [{"type": "sentence_transformers.models.Dense", "path": "2_Dense"}]
    assert _pooling(folder(dense, {"pooling_mode_mean_tokens": True})) is None
    (tmp_path / "modules.json").write_text("not json")
    assert _pooling(tmp_path) is None


@pytest.mark.slow
def test_int8_vectors_do_not_depend_on_what_else_is_encoded():
    light = load_light(model_path(DEFAULT_MODEL), quantize=True)
    alone = np.stack([light.encode([t])[0] for t in TEXTS])
    together = light.encode(TEXTS, batch_size=32)
    assert np.allclose(alone, together, atol=1e-6)
    vectors, sentences = light.encode_with_spans(TEXTS[:2], [[(0, 5)], [(0, 15), (16, 30)]])
    assert np.allclose(vectors, alone[:2], atol=1e-6)
    assert [s.shape for s in sentences] == [(1, 384), (2, 384)]


def test_the_index_records_int8_vectors_as_another_model(monkeypatch):
    from assistant.model.embedder import Embedder

    monkeypatch.setenv("ASSISTANT_ENCODER", "torch-int8")
    assert Embedder().model_id == f"{DEFAULT_MODEL}+int8"
    for fp32 in ("onnx", "torch", ""):  # the same vectors, so the same model for the index
        monkeypatch.setenv("ASSISTANT_ENCODER", fp32)
        assert Embedder().model_id == DEFAULT_MODEL
