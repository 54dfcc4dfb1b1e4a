"""The ONNX Runtime encoder gives sentence-transformers' vectors, and its export is
made once, beside the index, and named in the manifest, with the tokenizer and settings
that let a server encode from the index's files alone."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ARTICLE, EVAL_DIR, PROJECT_CORPUS

pytestmark = pytest.mark.slow


def _questions() -> list[str]:
    texts = []
    for path in [EVAL_DIR / "dev.jsonl", EVAL_DIR / "questions.jsonl", EVAL_DIR / "external-slice" / "questions.jsonl"]:
        texts += [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for line in (EVAL_DIR / "conversations.jsonl").read_text(encoding="utf-8").splitlines():
        texts += [turn["q"] for turn in json.loads(line)["turns"]] if line.strip() else []
    return texts


def _passages(embedder) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """The bundled article's passages as the index embeds them, with sentence spans."""
    from assistant.content.corpus import load_corpus
    from assistant.content.passages import embedding_text, passages_of_all

    documents, _ = load_corpus(PROJECT_CORPUS)
    passages = passages_of_all(documents, embedder.fits)
    texts = [embedding_text(p) for p in passages]
    spans = [[(a + len(t) - len(p.text), b + len(t) - len(p.text)) for a, b in p.sentences] for t, p in zip(texts, passages)]
    return texts, spans


@pytest.fixture(scope="module")
def onnx_embedder():
    from assistant.model.embedder import Embedder

    embedder = Embedder(encoder="onnx")
    assert type(embedder.model).__name__ == "OnnxModel" and embedder.export is not None
    return embedder


def test_onnx_fp32_vectors_are_sentence_transformers_vectors(onnx_embedder):
    from sentence_transformers import SentenceTransformer

    from assistant.model.embedder import model_path

    texts = _questions() + _passages(onnx_embedder)[0] + [ARTICLE.read_text(encoding="utf-8")]  # + one over 256 tokens
    reference = SentenceTransformer(model_path(onnx_embedder.name), device="cpu").encode(texts, normalize_embeddings=True)
    one_by_one = np.concatenate([onnx_embedder.encode([t]) for t in texts])
    batched = onnx_embedder.encode(texts)
    assert len(texts) > 150
    assert (one_by_one * reference).sum(1).min() >= 0.9999
    assert (batched * reference).sum(1).min() >= 0.9999
    assert (batched * one_by_one).sum(1).min() >= 0.9999  # batching does not change a vector


def test_sentence_vectors_match_the_torch_encoder(onnx_embedder):
    from assistant.model.embedder import Embedder

    texts, spans = _passages(onnx_embedder)
    torch_vectors, torch_sentences = Embedder(encoder="torch").encode_passages(texts, spans)
    vectors, sentences = onnx_embedder.encode_passages(texts, spans)
    assert (vectors * torch_vectors).sum(1).min() >= 0.9999
    assert [s.shape for s in sentences] == [s.shape for s in torch_sentences]
    assert min((a * b).sum(1).min() for a, b in zip(sentences, torch_sentences)) >= 0.9999


def test_token_counts_and_truncation_follow_sentence_transformers(onnx_embedder):
    from transformers import AutoTokenizer

    from assistant.model.embedder import model_path

    reference = AutoTokenizer.from_pretrained(model_path(onnx_embedder.name))
    long = ARTICLE.read_text(encoding="utf-8")[:4000]
    for text in [long, "What are crow's feet?", "皱纹 🙂"]:
        assert onnx_embedder.model.count_tokens(text) == len(reference(text)["input_ids"])
        truncated = reference(text, truncation=True, max_length=256)["input_ids"]
        assert onnx_embedder.model.tokenizer.encode(text).ids == truncated
    assert not onnx_embedder.fits(long) and onnx_embedder.fits("What are crow's feet?")


def test_the_export_lives_beside_the_index_and_a_server_uses_it(tmp_path, onnx_embedder):
    from assistant.engine import build as index_build
    from assistant.model.embedder import Embedder
    from assistant.search import index as index_store

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / ARTICLE.name).write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    index_build.build(corpus, tmp_path / "index", onnx_embedder)
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["encoder"] == onnx_embedder.export.name and manifest["model"] == onnx_embedder.model_id
    placed = index_store.encoder_file(tmp_path / "index")
    assert placed == tmp_path / "index" / manifest["encoder"]

    serving = Embedder()
    serving.use_export(placed)
    assert serving.encode(["What are crow's feet?"]).shape == (1, 384)
    assert serving.export == placed  # the index's own file, not the cache's


def test_an_index_encodes_like_sentence_transformers_from_its_own_files(tmp_path, onnx_embedder):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer

    from assistant.engine import build as index_build
    from assistant.model.embedder import Embedder, model_path
    from assistant.search import index as index_store

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / ARTICLE.name).write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    index_build.build(corpus, tmp_path / "index", onnx_embedder)
    stem = onnx_embedder.export.name.removesuffix(".onnx")
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["files"]["tokenizer"] == f"{stem}.tokenizer.json"
    assert manifest["files"]["encoder_settings"] == f"{stem}.json"
    assert json.loads((tmp_path / "index" / f"{stem}.json").read_text()) == {
        "pooling": "mean", "max_seq_length": 256, "do_lower_case": False}

    # a name no model folder answers to: everything must come from the index
    serving = Embedder(name="not-a-model-anywhere")
    serving.use_export(index_store.encoder_file(tmp_path / "index"))
    texts = _questions() + _passages(onnx_embedder)[0] + [ARTICLE.read_text(encoding="utf-8")]
    reference = SentenceTransformer(model_path(onnx_embedder.name), device="cpu").encode(texts, normalize_embeddings=True)
    vectors = serving.encode(texts)
    assert (vectors * reference).sum(1).min() >= 0.9999
    tokenizer = AutoTokenizer.from_pretrained(model_path(onnx_embedder.name))
    long = ARTICLE.read_text(encoding="utf-8")[:4000]
    for text in [long, "What are crow's feet?", "皱纹 🙂"]:
        assert serving.model.count_tokens(text) == len(tokenizer(text)["input_ids"])
    assert serving.max_tokens == 256 and serving.dim == 384 and not serving.fits(long)
