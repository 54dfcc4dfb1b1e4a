"""Questions offered to a reader, from the article's own headings: examples, and after
an answer the nearest sections it didn't quote and the reader hasn't asked about."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.suggest import SKIPPED, TELL_ME_MORE, Outline, as_question
from assistant.content.corpus import load_corpus
from assistant.content.passages import passages_of_all
from assistant.records import Answer, Citation

PROJECT_CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def outline():
    documents, _ = load_corpus(PROJECT_CORPUS)
    return Outline(passages_of_all(documents))


def answer_quoting(outline, *labels: str, question: str = "q", answerable: bool = True) -> Answer:
    passages = {p.section[-1]: p for p in outline.by_id.values()}
    citations = tuple(Citation(n, "", "", "", passages[label].text, 1.0, passages[label].id, (0, 1))
                      for n, label in enumerate(labels, start=1))
    return Answer(question, answerable, "text", citations)


def test_headings_become_questions():
    assert as_question("Sun Protection") == "Tell me about sun protection"
    assert as_question("Understanding Facial Expression Muscles") == "Tell me about facial expression muscles"
    assert as_question("Ultraviolet (UV) Rays") == "Tell me about ultraviolet (UV) rays"
    assert as_question("How do retinoids work?") == "How do retinoids work?"


def test_examples_are_the_three_most_specific_headings_in_article_order(outline):
    assert outline.examples(3) == ["Tell me about dynamic wrinkles", "Tell me about static wrinkles",
                                   "Tell me about sun protection"]


def test_follow_ups_are_the_nearest_sections_the_answer_did_not_quote(outline):
    crows_feet = answer_quoting(outline, "Dynamic Wrinkles", "Static Wrinkles")
    assert outline.follow_ups(crows_feet) == ["Tell me about the role of collagen and elastin",
                                              "Tell me about preventing and reducing facial expression wrinkles",
                                              "Tell me about facial expression muscles"]
    assert outline.labels(crows_feet) == ["Dynamic Wrinkles", "Static Wrinkles"]


def test_follow_ups_leave_out_what_was_read_or_asked(outline):
    sun = answer_quoting(outline, "Sun Protection", question="does sunscreen help?")
    assert outline.follow_ups(sun)[0] == "Tell me about facial exercises"  # the next section first
    assert outline.follow_ups(sun, asked=["how do facial exercises work?"], seen=["Skincare Routine"]) == [
        "Tell me about preventing and reducing facial expression wrinkles", "Tell me about static wrinkles",
        "Tell me about minimally invasive procedures"]


def test_a_refusal_or_an_answer_quoting_nothing_suggests_nothing(outline):
    assert outline.follow_ups(answer_quoting(outline, "Sun Protection", answerable=False)) == []
    assert outline.follow_ups(Answer("q", True, "text", ())) == []


def test_when_the_headings_run_out_it_offers_to_tell_more(outline):
    """Asked about every section but one, the one left comes first, then "Tell me more"."""
    labels = [s[-1] for s in outline.sections["facial-expression-muscles-and-wrinkles"] if s[-1] not in SKIPPED]
    everything_but_sun = [label for label in labels if label != "Sun Protection"]
    answer = answer_quoting(outline, *everything_but_sun[:3])
    assert outline.follow_ups(answer, seen=everything_but_sun) == ["Tell me about sun protection", TELL_ME_MORE]


def test_a_post_without_headings_offers_to_tell_more(tmp_path):
    (tmp_path / "post.md").write_text("---\ntitle: A walk\n---\n\nWe walked to the lake.\n\nThen we swam.\n",
                                      encoding="utf-8")
    documents, _ = load_corpus(tmp_path)
    headless = Outline(passages_of_all(documents))
    first = next(iter(headless.by_id.values()))
    answer = Answer("where did you walk?", True, "text", (Citation(1, "", "", "", first.text, 1.0, first.id, (0, 1)),))
    assert headless.follow_ups(answer) == ["Tell me more"]
