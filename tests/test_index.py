"""The index directory: build -> load round trip, incremental rebuilds that embed only
what changed, and corrupt or missing files reported as one fixable domain error.
Uses the fake embedder: these tests are about bookkeeping, not about meaning."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import ARTICLE_NAME, FakeEmbedder

from assistant.answer.calibrate import probes
from assistant.content.corpus import load_corpus
from assistant.content.passages import embedding_text, passages_of_all
from assistant.engine import build as index_build
from assistant.engine.assistant import Assistant
from assistant.errors import CorpusError, IndexCorrupt, IndexMismatch, IndexNotFound
from assistant.search import index as index_store
from assistant.search.retrieve import Retriever
from assistant.settings import Settings
from assistant.text.terms import content_terms

SUN_BEFORE = "Applying sunscreen daily, wearing protective clothing"
SUN_AFTER = "Applying sunscreen every morning, wearing protective clothing"

SECOND_ARTICLE = """\
---
title: Sleep and Skin
url: https://example.com/sleep-and-skin
---
# Sleep and Skin

Sleep is when the skin repairs itself.

## Pillows

A silk pillowcase creases the face less than cotton.

## Hours

Seven to nine hours of sleep leave the skin looking rested.
"""

QUERIES = ["What are crow's feet?", "does sunscreen help?", "collagen and elastin"]


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def built(corpus_dir: Path, index_dir: Path, fake_embedder: FakeEmbedder):
    """The project corpus indexed once with the fake embedder; returns the report."""
    report = index_build.build(corpus_dir, index_dir, fake_embedder)
    fake_embedder.calls, fake_embedder.texts = 0, []
    return report


def _ranked_ids(index, embedder: FakeEmbedder) -> list[list[tuple[str, float]]]:
    retriever = Retriever(index)
    return [
        [(hit.passage.id, round(hit.score, 6)) for hit in retriever.rank(q, embedder.vector(q)).hits]
        for q in QUERIES
    ]


def _manifest(index_dir: Path) -> dict:
    return json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))


def _data_file(index_dir: Path, kind: str) -> Path:
    return index_dir / _manifest(index_dir)["files"][kind]


# --- build and load -------------------------------------------------------------------


def test_first_build_embeds_every_passage(corpus_dir, index_dir):
    embedder = FakeEmbedder()
    report = index_build.build(corpus_dir, index_dir, embedder)
    assert (report.passages, report.embedded, report.reused, report.removed) == (11, 11, 0, 0)
    assert report.documents == 1 and report.skipped == ()
    assert embedder.calls == 2  # passages and their sentences in one batch, then the off-topic probes
    assert index_store.load(index_dir).manifest.probe_evidence > 0
    assert (index_dir / "manifest.json").is_file()


def test_build_then_load_gives_back_the_same_passages_and_vectors(built, corpus_dir, index_dir):
    index = index_store.load(index_dir, FakeEmbedder.model_id)
    documents, _ = load_corpus(corpus_dir)
    assert list(index.passages) == passages_of_all(documents, FakeEmbedder().fits)
    vectors = index.passage_vectors()
    for i, passage in enumerate(index.passages):
        np.testing.assert_array_equal(vectors[i], FakeEmbedder.vector(embedding_text(passage)))
        expected = np.stack([FakeEmbedder.vector(s) for s in passage.sentence_texts()])
        np.testing.assert_array_equal(index.sentence_vectors_of(i), expected)
    assert index.manifest.model == "fake-hash-64"
    assert index.manifest.dim == 64


def test_search_results_are_the_same_after_reloading_and_rewriting(built, corpus_dir, index_dir):
    before = _ranked_ids(index_store.load(index_dir, FakeEmbedder.model_id), FakeEmbedder())
    assert before[0][0][0] == "facial-expression-muscles-and-wrinkles#dynamic-wrinkles-0"

    report = index_build.build(corpus_dir, index_dir, FakeEmbedder(), force=True)  # rewrite from stored vectors
    assert (report.embedded, report.reused) == (0, 11)
    after = _ranked_ids(index_store.load(index_dir, FakeEmbedder.model_id), FakeEmbedder())
    assert after == before


def test_a_build_with_no_changes_embeds_nothing(built, corpus_dir, index_dir, fake_embedder):
    version = _manifest(index_dir)["version"]
    report = index_build.build(corpus_dir, index_dir, fake_embedder)
    assert (report.passages, report.embedded, report.reused, report.removed) == (11, 0, 11, 0)
    assert report.changed is False
    assert fake_embedder.calls == 0
    assert _manifest(index_dir)["version"] == version


def test_editing_one_paragraph_embeds_only_that_paragraph(built, corpus_dir, index_dir, fake_embedder):
    old = index_store.load(index_dir, FakeEmbedder.model_id)
    article = corpus_dir / ARTICLE_NAME
    text = article.read_text(encoding="utf-8")
    assert text.count(SUN_BEFORE) == 1
    article.write_text(text.replace(SUN_BEFORE, SUN_AFTER), encoding="utf-8")

    report = index_build.build(corpus_dir, index_dir, fake_embedder)

    assert (report.passages, report.embedded, report.reused, report.removed) == (11, 1, 10, 1)
    new = index_store.load(index_dir, FakeEmbedder.model_id)
    sun = next(p for p in new.passages if p.section[-1] == "Sun Protection")
    assert SUN_AFTER in sun.text
    assert fake_embedder.calls == 2  # the changed passage, then the off-topic probes
    assert fake_embedder.texts == [embedding_text(sun), *sun.sentence_texts(), *probes()]
    # the other ten vectors are carried over untouched
    old_vectors, new_vectors = old.passage_vectors(), new.passage_vectors()
    for i, passage in enumerate(new.passages):
        if passage is not sun:
            j = next(k for k, p in enumerate(old.passages) if p.hash == passage.hash)
            np.testing.assert_array_equal(new_vectors[i], old_vectors[j])


def test_adding_and_deleting_an_article_adds_and_removes_its_passages(built, corpus_dir, index_dir, fake_embedder):
    second = corpus_dir / "sleep-and-skin.md"
    second.write_text(SECOND_ARTICLE, encoding="utf-8")

    added = index_build.build(corpus_dir, index_dir, fake_embedder)
    index = index_store.load(index_dir, FakeEmbedder.model_id)
    sleep = [p for p in index.passages if p.doc_slug == "sleep-and-skin"]
    assert len(sleep) == 3
    assert {p.doc_title for p in sleep} == {"Sleep and Skin"}
    assert sleep[1].url == "https://example.com/sleep-and-skin#pillows"
    assert (added.passages, added.embedded, added.reused, added.removed) == (14, 3, 11, 0)
    assert added.documents == 2

    second.unlink()
    removed = index_build.build(corpus_dir, index_dir, fake_embedder)
    assert (removed.passages, removed.embedded, removed.reused, removed.removed) == (11, 0, 11, 3)
    assert not any(p.doc_slug == "sleep-and-skin" for p in index_store.load(index_dir).passages)


def test_old_versions_are_cleaned_up(built, corpus_dir, index_dir):
    article = corpus_dir / ARTICLE_NAME
    edits = [("sunscreen daily", "sunscreen every morning"), ("Regular cleansing", "Daily cleansing"),
             ("Certain facial exercises", "Some facial exercises")]
    for before, after in edits:
        text = article.read_text(encoding="utf-8")
        article.write_text(text.replace(before, after), encoding="utf-8")
        assert index_build.build(corpus_dir, index_dir, FakeEmbedder()).embedded == 1
    versions = {p.name.split("-", 1)[1].rsplit(".", 1)[0] for p in index_dir.iterdir() if p.name.startswith("passages-")}
    assert len(versions) == 2  # the current one and the one before it
    assert not list(index_dir.glob("*.tmp"))
    assert "Some facial exercises" in " ".join(p.text for p in index_store.load(index_dir).passages)


def test_assistant_load_builds_a_missing_index(corpus_dir, index_dir, fake_embedder):
    settings = Settings(corpus_dir=corpus_dir, index_dir=index_dir)
    with pytest.raises(IndexNotFound):
        Assistant.load(settings, build=False, embedder=fake_embedder)
    assistant = Assistant.load(settings, embedder=fake_embedder)
    assert len(assistant.index.passages) == 11
    assert index_store.is_current(index_dir, corpus_dir, fake_embedder.model_id)


# --- missing and broken indexes ---------------------------------------------------


def test_a_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexNotFound, match="assistant build"):
        index_store.load(tmp_path / "no-index-here")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFound, match="assistant build"):
        index_store.load(tmp_path / "empty")


def _truncate_vectors(index_dir: Path) -> None:
    path = _data_file(index_dir, "vectors")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty_vectors(index_dir: Path) -> None:
    _data_file(index_dir, "vectors").write_bytes(b"")


def _truncate_sentence_vectors(index_dir: Path) -> None:
    path = _data_file(index_dir, "sentences")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage_manifest(index_dir: Path) -> None:
    (index_dir / "manifest.json").write_text("{this is not json", encoding="utf-8")


def _empty_manifest(index_dir: Path) -> None:
    (index_dir / "manifest.json").write_bytes(b"")


def _manifest_is_a_list(index_dir: Path) -> None:
    (index_dir / "manifest.json").write_text("[1, 2, 3]", encoding="utf-8")


def _manifest_missing_a_key(index_dir: Path) -> None:
    manifest = _manifest(index_dir)
    del manifest["passage_hashes"]
    (index_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _manifest_names_a_missing_file(index_dir: Path) -> None:
    manifest = _manifest(index_dir)
    manifest["files"]["vectors"] = "vectors-20000101T000000000000Z.faiss"
    (index_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _data_file_deleted(index_dir: Path) -> None:
    _data_file(index_dir, "sentences").unlink()


def _passage_line_removed(index_dir: Path) -> None:
    path = _data_file(index_dir, "passages")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:5] + lines[6:]), encoding="utf-8")


def _passage_lines_swapped(index_dir: Path) -> None:
    path = _data_file(index_dir, "passages")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[0], lines[1] = lines[1], lines[0]
    path.write_text("".join(lines), encoding="utf-8")


def _passage_line_garbage(index_dir: Path) -> None:
    path = _data_file(index_dir, "passages")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = "not json at all\n"
    path.write_text("".join(lines), encoding="utf-8")


def _passages_invalid_utf8(index_dir: Path) -> None:
    path = _data_file(index_dir, "passages")
    path.write_bytes(b"\xff\xfe" + path.read_bytes())


CORRUPTIONS = [
    _truncate_vectors,
    _empty_vectors,
    _truncate_sentence_vectors,
    _garbage_manifest,
    _empty_manifest,
    _manifest_is_a_list,
    _manifest_missing_a_key,
    _manifest_names_a_missing_file,
    _data_file_deleted,
    _passage_line_removed,
    _passage_lines_swapped,
    _passage_line_garbage,
    _passages_invalid_utf8,
]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__.strip("_"))
def test_a_corrupt_index_is_one_domain_error_that_says_how_to_fix_it(built, index_dir, corrupt):
    corrupt(index_dir)
    with pytest.raises((IndexCorrupt, IndexMismatch), match="assistant build"):
        index_store.load(index_dir, FakeEmbedder.model_id)


def test_a_manifest_with_a_non_string_file_name_is_corrupt(built, corpus_dir, index_dir):
    manifest = _manifest(index_dir)
    manifest["files"]["vectors"] = 5
    (index_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="assistant build"):
        index_store.load(index_dir, FakeEmbedder.model_id)


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__.strip("_"))
def test_building_over_a_corrupt_index_starts_afresh(built, corpus_dir, index_dir, corrupt):
    corrupt(index_dir)
    report = index_build.build(corpus_dir, index_dir, FakeEmbedder())
    assert (report.passages, report.embedded) == (11, 11)
    assert len(index_store.load(index_dir, FakeEmbedder.model_id).passages) == 11


def test_an_index_from_another_model_is_a_mismatch(built, index_dir):
    with pytest.raises(IndexMismatch, match="assistant build") as error:
        index_store.load(index_dir, "sentence-transformers/all-MiniLM-L6-v2")
    assert "fake-hash-64" in str(error.value)


def test_an_index_of_another_format_version_is_a_mismatch(built, index_dir):
    manifest = _manifest(index_dir)
    manifest["format_version"] = index_store.FORMAT_VERSION + 1
    (index_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatch, match="assistant build"):
        index_store.load(index_dir, FakeEmbedder.model_id)



def test_a_manifest_without_file_sizes_and_hashes_is_rebuilt_not_trusted(built, corpus_dir, index_dir, fake_embedder):
    assert index_store.is_current(index_dir, corpus_dir, fake_embedder.model_id)
    manifest = _manifest(index_dir)
    del manifest["file_sizes"], manifest["file_sha256"]  # written before they were recorded
    (index_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert not index_store.is_current(index_dir, corpus_dir, fake_embedder.model_id)
    index_build.build(corpus_dir, index_dir, fake_embedder)
    assert index_store.load(index_dir, fake_embedder.model_id).passages

# --- damaged data files: named, with the fix, never a different answer ----------------


def _truncated_in_place(path: Path) -> None:
    os.truncate(path, path.stat().st_size - 100)


def _overwritten_same_size(path: Path) -> None:
    """The last 64 bytes rewritten in place: for sentences-*.npy, the last vector's tail."""
    with open(path, "r+b") as handle:
        handle.seek(-64, os.SEEK_END)
        tail = handle.read(64)
        handle.seek(-64, os.SEEK_END)
        handle.write(tail[::-1] if path.suffix != ".jsonl" else tail.replace(b"a", b"e"))


def _removed(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize("kind", ["passages", "vectors", "sentences"])
@pytest.mark.parametrize("damage", [_truncated_in_place, _overwritten_same_size, _removed],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_damaged_data_file_is_one_line_naming_it_and_the_fix(built, index_dir, kind, damage):
    path = _data_file(index_dir, kind)
    damage(path)
    with pytest.raises(IndexCorrupt) as error:
        index_store.load(index_dir, FakeEmbedder.model_id)
    message = str(error.value)
    assert str(path) in message and message.endswith("run `assistant build --force` to rebuild it")
    assert "\n" not in message


def test_the_manifest_records_each_data_file_s_size_and_sha256(built, index_dir):
    manifest = _manifest(index_dir)
    for kind in ("passages", "vectors", "sentences"):
        contents = _data_file(index_dir, kind).read_bytes()
        assert manifest["file_sizes"][kind] == len(contents)
        assert manifest["file_sha256"][kind] == hashlib.sha256(contents).hexdigest()


LOAD_THEN_DAMAGE = """
import os, sys
from pathlib import Path
from assistant.search import index as index_store
from assistant.engine import build as index_build
from assistant.search.retrieve import Retriever
sys.path.insert(0, sys.argv[2])
from conftest import FakeEmbedder

index_dir = Path(sys.argv[1])
index = index_store.load(index_dir, FakeEmbedder.model_id)
ranked = lambda: [h.passage.id for h in Retriever(index).rank("sun", FakeEmbedder.vector("sun")).hits]
before = ranked()
sentences = index_dir / index.manifest.files["sentences"]
os.truncate(sentences, 128)  # under a memory map, touching the lost pages is SIGBUS
with open(sentences, "r+b") as handle:
    handle.write(bytes(128))
print(float(index.sentence_vectors.sum()), ranked() == before)
"""


def test_files_changed_on_disk_after_loading_change_nothing_in_memory(built, index_dir):
    run = subprocess.run([sys.executable, "-c", LOAD_THEN_DAMAGE, str(index_dir), str(Path(__file__).parent)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]  # -7 (SIGBUS) when the vectors were memory-mapped
    assert run.stdout.split()[1] == "True"


# --- crashes and odd corpora ------------------------------------------------------


class ExplodingEmbedder(FakeEmbedder):
    def encode(self, texts, progress=False):
        raise RuntimeError("model crashed mid-build")


def test_a_build_that_crashes_leaves_the_previous_index_whole(built, corpus_dir, index_dir):
    original = index_store.load(index_dir, FakeEmbedder.model_id).passages
    article = corpus_dir / ARTICLE_NAME
    article.write_text(article.read_text(encoding="utf-8").replace(SUN_BEFORE, SUN_AFTER), encoding="utf-8")

    with pytest.raises(RuntimeError, match="mid-build"):
        index_build.build(corpus_dir, index_dir, ExplodingEmbedder())

    assert index_store.load(index_dir, FakeEmbedder.model_id).passages == original
    report = index_build.build(corpus_dir, index_dir, FakeEmbedder())
    assert (report.embedded, report.reused, report.removed) == (1, 10, 1)
    assert any(SUN_AFTER in p.text for p in index_store.load(index_dir, FakeEmbedder.model_id).passages)


def test_a_corpus_without_articles_is_a_corpus_error(tmp_path):
    empty = tmp_path / "corpus"
    empty.mkdir()
    (empty / "notes.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(CorpusError, match="no articles"):
        index_build.build(empty, tmp_path / "index", FakeEmbedder())
    with pytest.raises(CorpusError, match="does not exist"):
        index_build.build(tmp_path / "missing", tmp_path / "index", FakeEmbedder())


def test_a_binary_file_is_skipped_and_the_build_goes_on(corpus_dir, index_dir):
    (corpus_dir / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    report = index_build.build(corpus_dir, index_dir, FakeEmbedder())
    assert [(s.source, s.reason) for s in report.skipped] == [("photo.txt", "unreadable")]
    assert (report.passages, report.documents) == (11, 1)
    assert {p.doc_slug for p in index_store.load(index_dir).passages} == {"facial-expression-muscles-and-wrinkles"}


def test_a_corpus_of_only_binary_files_is_a_corpus_error(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "blob.txt").write_bytes(b"\x00" * 100)
    with pytest.raises(CorpusError):
        index_build.build(corpus, tmp_path / "index", FakeEmbedder())


def test_past_the_threshold_the_index_is_hnsw_and_answers_like_the_exact_one(corpus_dir, tmp_path, monkeypatch):
    import faiss

    from assistant.engine.assistant import Assistant
    from assistant.settings import Settings

    exact = index_build.build(corpus_dir, tmp_path / "exact", FakeEmbedder())
    monkeypatch.setattr(index_build, "HNSW_FROM", 5)
    approx = index_build.build(corpus_dir, tmp_path / "hnsw", FakeEmbedder())
    assert exact.passages == approx.passages
    loaded = index_store.load(tmp_path / "hnsw")
    assert isinstance(loaded.faiss, faiss.IndexHNSW) and loaded.faiss.hnsw.efSearch == index_store.HNSW_EF_SEARCH
    assert isinstance(index_store.load(tmp_path / "exact").faiss, faiss.IndexFlatIP)
    settings = Settings(corpus_dir=corpus_dir)
    answers = {name: Assistant(index_store.load(tmp_path / name), FakeEmbedder(), settings).ask("crow's feet around the eyes")
               for name in ("exact", "hnsw")}
    assert [c.passage_id for c in answers["hnsw"].citations] == [c.passage_id for c in answers["exact"].citations]
    # an incremental build over an HNSW index reuses its stored vectors
    (corpus_dir / "more.txt").write_text("More\n\nAnother paragraph about chins.\n")
    again = index_build.build(corpus_dir, tmp_path / "hnsw", FakeEmbedder())
    assert (again.embedded, again.reused) == (1, approx.passages)


def test_bm25_is_saved_at_build_and_read_at_load_never_rebuilt(built, index_dir, monkeypatch):
    from assistant.search import retrieve

    index = index_store.load(index_dir, FakeEmbedder.model_id)
    assert index.lexical is not None
    rebuilt = _ranked_ids(index, FakeEmbedder())

    def no_rebuild(texts):
        raise AssertionError("BM25 rebuilt at load")

    monkeypatch.setattr(retrieve, "_bm25", no_rebuild)
    assert _ranked_ids(index_store.load(index_dir, FakeEmbedder.model_id), FakeEmbedder()) == rebuilt
    monkeypatch.undo()
    unsaved = index_store.Index(index.directory, index.manifest, index.passages, index.faiss,
                                index.sentence_vectors, index.sentence_rows)  # built in memory, as before
    assert _ranked_ids(unsaved, FakeEmbedder()) == rebuilt


def test_a_damaged_bm25_file_is_reported_as_a_corrupt_index(built, index_dir):
    folder = index_dir / _manifest(index_dir)["files"]["lexical"]
    (folder / "sentences" / "terms.json").write_text("{not json")
    with pytest.raises(IndexCorrupt, match=r"lexical-\w+/sentences/terms\.json is 9 bytes"):  # checked before read
        index_store.load(index_dir, FakeEmbedder.model_id)


def test_large_sentence_vectors_are_read_on_demand_and_equal_the_saved_array(built, index_dir, monkeypatch):
    assert isinstance(index_store.load(index_dir, FakeEmbedder.model_id).sentence_vectors, np.ndarray)  # small: held
    monkeypatch.setattr(index_store, "SENTENCES_ON_DEMAND_FROM", 1)  # as if it were 100k passages'
    index = index_store.load(index_dir, FakeEmbedder.model_id)
    path = index_dir / index.manifest.files["sentences"]
    saved = np.load(path)
    rows = index.sentence_vectors
    assert str(path) not in Path("/proc/self/maps").read_text()  # not mapped: read with pread
    assert rows.shape == saved.shape and rows.dtype == saved.dtype
    np.testing.assert_array_equal(rows[3:9], saved[3:9])
    np.testing.assert_array_equal(rows[5], saved[5])
    picked = np.array([7, 8, 9, 2, 0, 1, len(saved) - 1])  # runs, out of order
    np.testing.assert_array_equal(rows[picked], saved[picked])
    with pytest.raises(IndexError):
        rows[np.array([len(saved)])]
    assert _ranked_ids(index, FakeEmbedder()) == _ranked_ids(index_store.load(index_dir), FakeEmbedder())
    os.truncate(path, 128)  # truncated under a running server: a one-line error, never a wrong answer
    with pytest.raises(IndexCorrupt, match="shorter than when it was loaded"):
        rows[len(saved) - 1]


def test_a_paragraphs_best_sentence_bm25_is_read_from_the_postings_as_a_full_scan_gives_it(built, index_dir):
    """Only the candidates' sentences are scored (retrieve._scores_of), looked up in
    each term's postings; the figures must be those of scoring every sentence."""
    retriever = Retriever(index_store.load(index_dir, FakeEmbedder.model_id))
    model, vocab = retriever._bm25_sentences
    starts, counts = retriever._paragraph_sentences
    paragraphs = np.arange(len(starts))
    for question in ["Why do wrinkles form?", "sun protection sunscreen", "collagen and elastin in the skin", "zebra"]:
        terms = content_terms(question)
        ids = [vocab[t] for t in terms if t in vocab]
        every = np.asarray(model.get_scores(ids), dtype=np.float32) if ids else np.zeros(int(counts.sum()), np.float32)
        expected = [every[a:a + n].max() if n else 0.0 for a, n in zip(starts, counts)]
        assert retriever.sentence_lexical_scores(paragraphs, terms).tolist() == pytest.approx(expected)
        assert any(expected) or question == "zebra"


def test_large_sentence_vectors_rewritten_in_place_are_refused_before_any_is_read(built, index_dir, monkeypatch):
    """The on-demand path (search/rows.py) is checked like the held one: same size, other bytes."""
    monkeypatch.setattr(index_store, "SENTENCES_ON_DEMAND_FROM", 1)  # as if it were 100k passages'
    path = _data_file(index_dir, "sentences")
    _overwritten_same_size(path)
    with pytest.raises(IndexCorrupt, match="SHA-256 differs"):
        index_store.load(index_dir, FakeEmbedder.model_id)


# --- every file a version names: the BM25 folder and the encoder too ------------------


class ExportingEmbedder(FakeEmbedder):
    """The fake embedder, placing an export of four small files as the ONNX one does."""

    def place_export(self, directory: Path) -> str:
        from assistant.model.onnx_encoder import settings_file, tokenizer_file

        graph = directory / "encoder-fake.onnx"
        for path, contents in ((graph.with_name(graph.name + ".data"), bytes(range(256)) * 64),
                               (tokenizer_file(graph), b'{"model": {}}'), (settings_file(graph), b"{}"), (graph, b"graph")):
            path.write_bytes(contents)
        return graph.name


@pytest.fixture
def exported(corpus_dir: Path, index_dir: Path):
    index_build.build(corpus_dir, index_dir, ExportingEmbedder())
    return index_dir


def _recorded_files(index_dir: Path) -> dict[str, Path]:
    manifest = _manifest(index_dir)
    lexical = index_dir / manifest["files"]["lexical"]
    return {kind: (lexical / kind.removeprefix("lexical/") if kind.startswith("lexical/") else index_dir / manifest["files"][kind])
            for kind in manifest["file_sha256"]}


def test_every_file_of_a_version_is_recorded_with_its_size_and_sha256(exported):
    manifest = _manifest(exported)
    lexical = exported / manifest["files"]["lexical"]
    on_disk = {f"lexical/{p.relative_to(lexical).as_posix()}" for p in lexical.rglob("*") if p.is_file()}
    assert on_disk and on_disk <= manifest["file_sha256"].keys()
    assert {"encoder", "encoder_weights", "tokenizer", "encoder_settings"} <= manifest["file_sha256"].keys()
    assert manifest["files"]["encoder"] == manifest["encoder"] and manifest["files"]["encoder_weights"] == "encoder-fake.onnx.data"
    for kind, path in _recorded_files(exported).items():
        contents = path.read_bytes()
        assert (manifest["file_sizes"][kind], manifest["file_sha256"][kind]) == (len(contents), hashlib.sha256(contents).hexdigest()), kind


def _reversed_in_place(path: Path) -> None:
    """The bytes reversed, past a .npy file's header: the array still reads, with other values."""
    contents = path.read_bytes()
    start = 0
    if path.suffix == ".npy":
        with open(path, "rb") as handle:
            np.lib.format.read_array_header_1_0(handle) if np.lib.format.read_magic(handle) == (1, 0) else None
            start = handle.tell()
    path.write_bytes(contents[:start] + contents[start:][::-1])


@pytest.mark.parametrize("kind", ["lexical/paragraphs/data.csc.index.npy", "lexical/sentences/indices.csc.index.npy",
                                  "encoder", "encoder_weights"])
def test_a_bm25_array_or_encoder_file_changed_in_place_is_refused(exported, kind):
    path = _recorded_files(exported)[kind]
    _reversed_in_place(path)  # same size, other bytes: 12 of 28 dev answers changed for a BM25 array
    with pytest.raises(IndexCorrupt) as error:
        index_store.load(exported, FakeEmbedder.model_id)
    message = str(error.value)
    assert str(path) in message and "SHA-256 differs" in message and "\n" not in message


def test_an_index_built_before_bm25_and_encoder_files_were_recorded_serves_then_build_records_them(exported, corpus_dir):
    """Decided: it keeps serving (BM25 built again from the checked passages, the export as
    before), and the next `assistant build` records every file, embedding nothing."""
    full = index_store.load(exported, FakeEmbedder.model_id)
    manifest = _manifest(exported)
    for kind in [k for k in manifest["file_sha256"] if k.startswith("lexical/") or k in ("encoder", "encoder_weights")]:
        manifest["file_sizes"].pop(kind), manifest["file_sha256"].pop(kind), manifest["files"].pop(kind, None)
    (exported / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    older = index_store.load(exported, FakeEmbedder.model_id)
    assert older.lexical is None  # the unrecorded BM25 files are not read
    assert _ranked_ids(older, FakeEmbedder()) == _ranked_ids(full, FakeEmbedder())
    report = index_build.build(corpus_dir, exported, ExportingEmbedder())
    assert report.embedded == 0
    assert set(_manifest(exported)["file_sha256"]) == set(_recorded_files(exported)) >= {"encoder", "encoder_weights", "lexical/paragraphs/params.index.json"}


# --- only regular files, sizes compared before reading, reads bounded -----------------


def _load_in_a_thread(index_dir: Path, unblock: Path) -> BaseException | None:
    """Load in a thread joined with a timeout, so a hang fails the test instead of hanging it."""
    outcome: list = []

    def load():
        try:
            index_store.load(index_dir, FakeEmbedder.model_id)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001  (reported to the test)
            outcome.append(exc)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(timeout=30)
    if thread.is_alive():
        os.close(os.open(unblock, os.O_WRONLY | os.O_NONBLOCK))  # let the blocked open return
        thread.join(timeout=30)
        pytest.fail("loading blocked on a FIFO")
    return outcome[0]


@pytest.mark.parametrize("kind", ["vectors", "lexical/paragraphs/terms.json", "encoder_weights"])
def test_a_fifo_named_by_the_manifest_is_refused_without_blocking(exported, kind):
    path = _recorded_files(exported)[kind]
    path.unlink()
    os.mkfifo(path)
    error = _load_in_a_thread(exported, path)
    assert isinstance(error, IndexCorrupt) and "not a regular file" in str(error) and str(path) in str(error)


def _bytes_read() -> int:
    return int(dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())["rchar"])


SPARSE = 256 * 2**20  # as a 3 GiB sparse file, which was read whole (RSS 288 MB -> 3.4 GB), only smaller


@pytest.mark.parametrize("kind", ["lexical/paragraphs/terms.json", "tokenizer", "manifest"])
def test_a_sparse_file_of_the_wrong_size_is_refused_without_reading_it(exported, kind):
    path = exported / "manifest.json" if kind == "manifest" else _recorded_files(exported)[kind]
    os.truncate(path, SPARSE)  # holes: no disk used, but every byte reads as zero
    before = _bytes_read()
    with pytest.raises(IndexCorrupt, match="bytes"):
        index_store.load(exported, FakeEmbedder.model_id)
    assert _bytes_read() - before < index_store.MANIFEST_MOST + 2**20
