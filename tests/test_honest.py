"""Honest in any domain (issue 25): a misspelt term is read as the article spells it, a
question about the document is answered from its structure, a follow-up brings something
new, and a yes/no question about something the article never mentions says so. On the
bundled article (real model) and on made-up words; each failed before these mechanisms."""
from __future__ import annotations

import pytest
from stories import answers_to

from assistant.answer.document_questions import (
    CLOSING,
    LEAD,
    METHOD,
    RESULTS,
    about_document,
)
from assistant.answer.spelling import respelt


def spelt(question: str, *corpus_words: str) -> str:
    from assistant.text.terms import stemmer

    words = list(corpus_words)
    return respelt(question, frozenset(stemmer().stemWords(words)), dict(zip(stemmer().stemWords(words), words)).get)


def test_a_misspelt_technical_name_is_spelt_as_the_corpus_spells_it():
    assert spelt("Does Zanamavir work?", "zanamivir", "influenza") == "Does zanamivir work?"
    assert spelt("How do wrinkels form?", "wrinkles") == "How do wrinkles form?"


@pytest.mark.parametrize("question, corpus_word", [
    ("What is the European version of fiqh?", "fish"),  # a rare word, not a misspelt common one
    ("Where are the origins of Freemasonry?", "freemason"),  # a suffix more is another subject
    ("When was the ICTR established?", "ictu"),  # acronyms are left alone
    ("Who designed the St. Barts museum?", "arts"),  # a typo keeps its first letter
    ("What does the author conclude?", "conclusion"),  # "conclude" is English
])
def test_a_new_subject_is_not_taken_for_a_typo(question, corpus_word):
    assert spelt(question, corpus_word) == question


@pytest.mark.parametrize("question, part", [
    ("What does this review describe?", LEAD),
    ("What does the author conclude?", CLOSING),
    ("What was the methodology of this study?", METHOD),
    ("What do the findings indicate?", RESULTS),
    ("Sum this up for me", CLOSING),
    ("What does this article say about sunscreen?", None),  # a topic of its own: searched
    ("What does elastin do?", None),
])
def test_a_question_about_the_document_names_the_part_that_answers_it(question, part):
    assert about_document(question) == part


@pytest.mark.slow
def test_a_capitalised_misspelling_of_an_article_term_is_answered(real_assistant):
    answer = real_assistant.ask("What does Colagen do?")
    assert answer.answerable and answer.question == "What does Colagen do?"
    assert answer.citations[0].section.endswith("The Role of Collagen and Elastin")


@pytest.mark.slow
@pytest.mark.parametrize("question, section", [
    ("What does this article describe?", "Introduction"),
    ("What does the author conclude?", "Conclusion"),
    ("What do the findings indicate?", "Conclusion"),
    ("What was the methodology of this study?", "Introduction"),  # no methods section: its lead
])
def test_questions_about_the_article_itself_are_answered_from_its_structure(real_assistant, question, section):
    answer = real_assistant.ask(question)
    assert answer.answerable and answer.citations[0].section == section
    assert not answer.not_covered


@pytest.mark.slow
def test_a_follow_up_does_not_open_with_the_quote_it_already_gave(real_assistant):
    first, then = answers_to(real_assistant, "Why do wrinkles form?", "what can I do about it?")
    assert then.answerable
    assert then.citations[0].sentence not in first.text


@pytest.mark.slow
@pytest.mark.parametrize("questions, unmentioned", [
    (("What is facial acupuncture used for?", "does it hurt?"), ("hurt",)),
    (("Does drinking more water reduce wrinkles?",), ("drinking", "water")),
])
def test_a_yes_no_question_about_what_the_article_never_mentions_says_so(real_assistant, questions, unmentioned):
    answer = answers_to(real_assistant, *questions)[-1]
    assert answer.not_covered == unmentioned
    assert answer.text.startswith(f"The article doesn't mention {' or '.join(unmentioned)}. The closest it comes: ")


@pytest.mark.slow
@pytest.mark.parametrize("question", ["Does sunscreen help?", "Can facial exercises help with wrinkles?",
                                      "Is collagen important for the skin?"])
def test_a_yes_no_question_the_article_answers_is_answered_plainly(real_assistant, question):
    answer = real_assistant.ask(question)
    assert answer.answerable and not answer.not_covered


@pytest.mark.slow
@pytest.mark.parametrize("questions", [("Who left the village?", "did he find work?"), ("Did Tomas Vell find work in the capital?",)])
def test_an_everyday_verb_in_a_yes_no_question_is_never_named_as_missing(story_assistant, questions):
    """"find" (Zipf 5.76) is a word any yes/no question may use; the story says no bakery
    would hire him, without the word. "water" (5.52) still counts, as above."""
    answer = answers_to(story_assistant, *questions)[-1]
    assert answer.answerable and "find" not in answer.not_covered, answer.text


@pytest.mark.slow
def test_get_rid_of_is_no_subject_the_article_never_mentions(real_assistant):
    answer = real_assistant.ask("how do I get rid of forehead lines?")
    assert answer.answerable and "rid" not in answer.not_covered, answer.text


@pytest.fixture(scope="module")
def library_faq(real_assistant, tmp_path_factory):
    """The Python FAQ's library page alone (tests/eval/python-faq, PSF licence), real model."""
    import shutil

    from conftest import EVAL_DIR

    from assistant.engine.assistant import Assistant
    from assistant.engine.build import build
    from assistant.settings import Settings

    root = tmp_path_factory.mktemp("library-faq")
    shutil.copytree(EVAL_DIR / "python-faq" / "articles", root / "all")
    (root / "corpus").mkdir()
    shutil.copy(root / "all" / "library.md", root / "corpus")
    build(root / "corpus", root / "index", real_assistant.embedder)
    return Assistant.load(Settings(corpus_dir=root / "corpus", index_dir=root / "index"), embedder=real_assistant.embedder)


def test_an_acronym_the_page_never_writes_is_said_when_the_rest_matches_closely(library_faq):
    """The page says "web", never "WWW": the passage matches the rest of the question far
    above the bar, so it is offered, saying what it doesn't mention (before: refused)."""
    answer = library_faq.ask("What WWW tools are there for Python?")
    assert answer.answerable and "www" in answer.not_covered
    assert answer.text.startswith("The article doesn't mention www")
    assert "web" in answer.citations[0].sentence  # the page's own word for it


def test_a_named_subject_the_page_never_mentions_is_still_refused(library_faq):
    assert not library_faq.ask("When is Brasilia's rainy season?").answerable
    assert not library_faq.ask("How do I install Kubernetes operators?").answerable
