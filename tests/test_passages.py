"""Documents become passages: one per paragraph, long paragraphs cut at sentence
(or, failing that, word) boundaries, every passage a verbatim slice of its file."""
from __future__ import annotations

import re
from shutil import copytree

import pytest
from conftest import PROJECT_CORPUS, FakeEmbedder

from assistant.content.corpus import load_corpus
from assistant.content.passages import (
    MAX_CHARS,
    _pieces,
    context_line,
    embedding_text,
    passages_of,
    passages_of_all,
)
from assistant.records import Block, Document


def _document(paragraph: str, section: tuple[str, ...] = ("Notes",), title: str = "Test article") -> Document:
    text = f"{title}\n\n{paragraph}\n"
    start = text.index(paragraph)
    block = Block(section=section, text=paragraph, start=start, end=start + len(paragraph))
    return Document(slug="test-article", source="test-article.txt", title=title, url="", text=text, blocks=(block,))


def _assert_covers(doc: Document, passages) -> None:
    """The passages tile the paragraph in order: no overlap, only whitespace between."""
    block = doc.blocks[0]
    offset = block.start
    for passage in passages:
        assert offset <= passage.start, "passages overlap or are out of order"
        assert doc.text[offset : passage.start].strip() == "", f"text skipped before {passage.text[:30]!r}"
        offset = passage.end
    assert doc.text[offset : block.end].strip() == ""


@pytest.fixture(scope="module")
def article_passages(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("passages") / "corpus"
    copytree(PROJECT_CORPUS, corpus)
    documents, _ = load_corpus(corpus)
    return documents, passages_of_all(documents, FakeEmbedder().fits)


def test_the_article_gives_one_passage_per_paragraph(article_passages):
    documents, passages = article_passages
    assert len(passages) == len(documents[0].blocks) == 11


def test_passage_ids_are_unique_and_stable(article_passages):
    documents, passages = article_passages
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids)
    assert [p.id for p in passages_of_all(documents, FakeEmbedder().fits)] == ids
    assert "facial-expression-muscles-and-wrinkles#dynamic-wrinkles-0" in ids


def test_passages_are_verbatim_slices_of_the_file(article_passages, article_text):
    _, passages = article_passages
    for passage in passages:
        assert article_text[passage.start : passage.end] == passage.text
        assert len(passage.text) <= MAX_CHARS


def test_sentence_spans_are_inside_the_passage(article_passages):
    _, passages = article_passages
    dynamic = next(p for p in passages if p.section[-1] == "Dynamic Wrinkles")
    assert dynamic.sentence_texts() == [
        "Dynamic Wrinkles: These wrinkles are formed when facial muscles contract, causing the overlying skin to fold or crease.",
        "Common examples include crow's feet around the eyes, forehead lines, and frown lines between the eyebrows.",
        "Dynamic wrinkles are temporary and disappear when the muscles are at rest.",
    ]


def test_urls_end_with_the_section_anchor(article_passages):
    _, passages = article_passages
    by_section = {p.section[-1]: p for p in passages}
    assert by_section["Dynamic Wrinkles"].url.endswith("#dynamic-wrinkles")
    assert by_section["Sun Protection"].url.endswith("#sun-protection")
    assert by_section["The Role of Collagen and Elastin"].url.endswith("#the-role-of-collagen-and-elastin")
    assert all(p.url.startswith("/articles/facial-expression-muscles-and-wrinkles#") for p in passages)


def test_section_path_joins_the_sections_with_a_chevron(article_passages):
    _, passages = article_passages
    dynamic = next(p for p in passages if p.section[-1] == "Dynamic Wrinkles")
    assert dynamic.section_path == "Types of Wrinkles Associated with Facial Expressions › Dynamic Wrinkles"
    assert passages[0].section_path == "Introduction"


def test_embedding_text_puts_title_and_section_in_front(article_passages):
    documents, passages = article_passages
    sun = next(p for p in passages if p.section[-1] == "Sun Protection")
    assert embedding_text(sun) == (
        f"{documents[0].title} › Preventing and Reducing Facial Expression Wrinkles › Sun Protection\n{sun.text}"
    )


def test_a_long_paragraph_is_split_at_sentence_boundaries():
    sentences = [f"Sentence number {i} says that collagen and elastin keep the skin firm and elastic." for i in range(40)]
    paragraph = " ".join(sentences)
    assert len(paragraph) > 3000
    doc = _document(paragraph)
    passages = passages_of(doc)

    assert len(passages) > 1
    for passage in passages:
        assert len(passage.text) <= MAX_CHARS
        assert passage.text.endswith(".")
        assert passage.text.startswith("Sentence number")
        assert doc.text[passage.start : passage.end] == passage.text
    _assert_covers(doc, passages)
    assert len({p.id for p in passages}) == len(passages)


def test_a_long_sentence_without_punctuation_is_split_between_words():
    words = [f"word{i}{'x' * (i % 7)}" for i in range(300)]
    paragraph = " ".join(words)
    assert len(paragraph) >= 2000 and not re.search(r"[.!?]", paragraph)
    doc = _document(paragraph)
    passages = passages_of(doc)

    assert len(passages) >= 3
    for passage in passages:
        assert len(passage.text) <= MAX_CHARS
        assert doc.text[passage.start : passage.end] == passage.text
        assert doc.text[passage.start - 1].isspace(), "a piece starts mid-word"
        assert doc.text[passage.end].isspace(), "a piece ends mid-word"
    assert [w for p in passages for w in p.text.split()] == words
    _assert_covers(doc, passages)


def test_the_embedders_limit_applies_to_context_and_text_together():
    limit = 40

    def fits(text: str) -> bool:
        return len(text.split()) <= limit

    sentences = [f"Short sentence {i} about wrinkles and the sun." for i in range(30)]
    paragraph = " ".join(sentences)
    section = ("A rather long section heading", "With a sub section")
    doc = _document(paragraph, section=section)
    passages = passages_of(doc, fits=fits)

    assert len(passages) > 1
    for passage in passages:
        assert fits(embedding_text(passage)), embedding_text(passage)
        assert embedding_text(passage).startswith(context_line("Test article", section))
    _assert_covers(doc, passages)
    # greedy packing: no two neighbours would have fitted together
    for left, right in zip(passages, passages[1:]):
        assert not fits(f"{context_line('Test article', section)}\n{doc.text[left.start:right.end]}")


def test_a_paragraph_that_fits_stays_whole():
    doc = _document("One sentence. Two sentences.")
    passages = passages_of(doc)
    assert [p.text for p in passages] == ["One sentence. Two sentences."]
    assert passages[0].sentence_texts() == ["One sentence.", "Two sentences."]


def test_passage_hash_changes_with_text_and_context_only():
    first = passages_of(_document("Wear sunscreen every day."))[0]
    same = passages_of(_document("Wear sunscreen every day."))[0]
    other_text = passages_of(_document("Wear sunscreen every morning."))[0]
    other_section = passages_of(_document("Wear sunscreen every day.", section=("Sun",)))[0]
    assert first.hash == same.hash
    assert len({first.hash, other_text.hash, other_section.hash}) == 3


def test_a_single_word_over_the_limit_is_cut_into_pieces_that_fit():
    text = "A pasted link follows. " + "https://example.com/" + "x" * 2500 + " Then prose resumes here."
    pieces = _pieces(text, lambda chunk: len(chunk) <= 800)
    assert all(b - a <= 800 for a, b in pieces)
    assert "".join(text[a:b] for a, b in pieces).replace(" ", "") == text.replace(" ", "")


def test_a_month_or_initials_inside_a_sentence_do_not_end_it():
    from assistant.text.sentences import sentence_spans

    text = ("The team debuted in The Fantastic Four #1 (Nov. 1961). Other architects include "
            "Rick Mather and I.M. Pei. It is dry.")
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "The team debuted in The Fantastic Four #1 (Nov. 1961).",
        "Other architects include Rick Mather and I.M. Pei.",
        "It is dry.",
    ]
