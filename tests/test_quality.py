"""Answer quality as a reader meets it: the right paragraph, a lead that holds the
answer, an honest "the article doesn't mention X", and refusals that hold from one
article to a whole blog. Real model; the multi-article figures come from real public
data (tests/eval/external-slice, a slice of SQuAD, CC BY-SA)."""
from __future__ import annotations

import re

import pytest
from conftest import EVAL_DIR, FakeEmbedder, loader

from assistant.answer.render import as_json
from assistant.engine.assistant import Assistant
from assistant.engine.build import build
from assistant.eval.collection import (
    evaluate_collection,
    format_reports,
    read_collection,
)
from assistant.settings import Settings
from assistant.text.terms import names

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slice_reports(real_assistant, tmp_path_factory):
    collection = read_collection(EVAL_DIR / "external-slice")
    return {r.setting: r for r in evaluate_collection(collection, tmp_path_factory.mktemp("slice"), loader(real_assistant.embedder))}


@pytest.mark.parametrize("setting", ["one article", "whole blog"])
def test_real_articles_get_the_right_paragraph_and_an_answer_that_holds_it(slice_reports, setting):
    report = slice_reports[setting]
    assert report.answerable == 36
    assert report.hit_at_1 >= 0.8, format_reports([report], show_misses=True)
    assert report.hit_at_3 >= 0.9, format_reports([report], show_misses=True)
    assert report.answer_has_gold >= 0.8, format_reports([report], show_misses=True)
    assert report.median_answer_chars <= 400


@pytest.mark.parametrize("setting", ["one article", "whole blog"])
def test_questions_about_other_articles_are_refused_alone_and_in_a_blog(slice_reports, setting):
    report = slice_reports[setting]
    assert report.off_topic == (72 if setting == "one article" else 24)
    assert report.off_topic_refused >= 0.9, format_reports([report], show_misses=True)
    assert report.false_refusals <= 0.03, format_reports([report], show_misses=True)
    assert report.not_covered <= 0.06, format_reports([report], show_misses=True)


def test_what_are_crows_feet_leads_with_the_sentence_that_says_what_they_are(real_assistant):
    answer = real_assistant.ask("What are crow's feet?")
    assert answer.text.startswith("Dynamic Wrinkles: These wrinkles are formed when facial muscles contract")
    assert "Common examples include crow's feet" in answer.text


@pytest.mark.parametrize("question", ["does smoking cause wrinkles?", "Does smoking make wrinkles worse?"])
def test_a_subject_the_article_never_mentions_is_said_first(real_assistant, question):
    answer = real_assistant.ask(question)
    assert answer.not_covered == ("smoking",)
    assert answer.text.startswith("The article doesn't mention smoking.")
    assert answer.answerable and answer.citations  # the closest passage, offered as related


def test_botox_is_named_as_not_mentioned_and_nothing_is_quoted_as_an_answer(real_assistant):
    answer = real_assistant.ask("is botox good?")
    assert answer.not_covered == ("botox",)
    assert answer.text.startswith("The article doesn't mention botox.")
    assert not any(c.quoted for c in answer.citations)


def test_a_name_the_blog_never_mentions_is_refused_outright(real_assistant):
    """A capitalised name is the question's subject: a blog that never names it is not
    about it ("When is Brasilia's rainy season?" on a blog with a rainy season)."""
    named = real_assistant.ask("Does Accutane cause wrinkles?")
    assert not named.answerable and named.citations == ()
    plain = real_assistant.ask("does accutane cause wrinkles?")  # a word, not a name: related passage offered
    assert plain.answerable and plain.not_covered == ("accutane",)
    household = real_assistant.ask("Does DNA damage cause wrinkles?")  # a common name may be a passing mention
    # a yes/no question's every word is asked about: the article mentions neither DNA nor damage
    assert household.answerable and household.not_covered == ("dna", "damage")


def test_names_are_capitalised_words_after_the_first_or_capitals():
    assert names("When is Brasilia's rainy season?") == {"brasilia"}
    assert names("What is the HDI for 2007?") == {"hdi"}
    assert names("Does smoking cause wrinkles?") == set()
    assert names("What did Barack Obama say about New York City?") == {"barack", "obama", "new", "york", "city"}


def test_a_headline_in_title_case_names_only_its_acronyms():
    """Pasted headlines capitalise every word: "Microfat" there is no name."""
    assert names("Does Sensation Return to the Nasal Tip After Microfat Grafting?") == set()
    assert names("Validation of the 2009 TNM Version in a Large Cohort") == {"tnm"}


def test_a_question_in_title_case_is_answered_as_the_same_question_in_lower_case(real_assistant):
    headline = real_assistant.ask("Can Botox Injections Smooth Frown Lines?")
    assert headline.answerable and headline.not_covered  # before: refused outright, "Injections" read as a name
    assert headline.text == real_assistant.ask("can botox injections smooth frown lines?").text


@pytest.mark.parametrize("question", [
    "why do I get lines near my eyes when I laugh?",  # "laugh" is a circumstance, not the subject
    "What minimally invasive procedures are mentioned?",  # "mentioned": a verb form, not a subject
    "what are crows feet",
    "What are marionete lines?",  # a typo is not a new subject
])
def test_a_paraphrase_or_a_typo_is_not_reported_as_a_gap(real_assistant, question):
    assert real_assistant.ask(question).not_covered == ()


@pytest.mark.parametrize("question", ["sum this up for me", "what's the point of this post?", "TL;DR?",
                                      "What is the article's conclusion?"])
def test_questions_about_the_whole_article_cite_its_conclusion(real_assistant, question):
    answer = real_assistant.ask(question)
    assert answer.answerable
    assert answer.citations[0].section == "Conclusion"
    assert answer.citations[0].quoted and answer.text.startswith(answer.citations[0].sentence)


def test_only_the_quoted_citations_are_marked_quoted(real_assistant):
    answer = real_assistant.ask("Does protective clothing help against wrinkles?")
    quoted = [c for c in answer.citations if c.quoted]
    assert quoted and quoted[0].n == 1
    for c in answer.citations:
        assert (f"{c.sentence} [{c.n}]" in answer.text) == c.quoted
    body = as_json(answer)
    assert [c["quoted"] for c in body["citations"]] == [c.quoted for c in answer.citations]
    assert body["not_covered"] == []


def test_an_off_topic_question_is_refused_outright(real_assistant):
    answer = real_assistant.ask("What is the capital of France?")
    assert not answer.answerable and answer.citations == ()
    assert re.match(r"The article doesn't (cover that|mention)", answer.text)


def test_a_long_paragraph_is_ranked_and_cited_as_one_unit(tmp_path):
    """Its pieces never compete: one hit, every piece in it, the citation the whole paragraph."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    long = " ".join(f"Sentence {i} says that the glacier moved {i} metres north in spring." for i in range(40))
    (corpus / "ice.txt").write_text(f"Ice Notes\n\n{long}\n\nA short paragraph about penguins and their eggs.\n")
    embedder = FakeEmbedder()
    build(corpus, index, embedder)
    assistant = Assistant.load(Settings(corpus_dir=corpus, index_dir=index), embedder=embedder)
    pieces = [p for p in assistant.index.passages if "glacier" in p.text]
    assert len(pieces) > 1 and len({p.paragraph for p in pieces}) == 1
    ranking = assistant.rank("How far did the glacier move?")
    assert len(ranking.hits) == 2  # two paragraphs, not one hit per piece
    assert len(ranking.hits[0].rows) == len(pieces)
    answer = assistant.ask("How far did the glacier move?")
    assert answer.citations[0].text == " ".join(p.text for p in pieces)
