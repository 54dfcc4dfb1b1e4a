"""Reading a conversation: every history shape clients send, the last exchange, the
sentences the last answer quoted, and which questions lean on what came before."""
from __future__ import annotations

import pytest

from assistant.answer.conversation import (
    last_exchange,
    leans_on_context,
    points_back,
    quoted_sentences,
    turns,
)

FIRST = "What are dynamic wrinkles?"


def user_turns(history) -> list[str]:
    return [text for role, text in turns(history) if role == "user"]
REPLY = "Dynamic wrinkles are temporary and disappear when the muscles are at rest. [1]"

HISTORY_SHAPES = {
    "pairs": [(FIRST, REPLY)],
    "lists": [[FIRST, REPLY]],
    "gradio messages": [{"role": "user", "content": FIRST}, {"role": "assistant", "content": REPLY}],
    "gradio content parts": [
        {"role": "user", "content": [{"type": "text", "text": FIRST}]},
        {"role": "assistant", "content": [{"type": "text", "text": REPLY}]},
    ],
}


@pytest.mark.parametrize("history", HISTORY_SHAPES.values(), ids=HISTORY_SHAPES.keys())
def test_every_history_shape_gives_the_last_question_and_its_answer(history):
    assert user_turns(history) == [FIRST]
    assert last_exchange(history) == (FIRST, REPLY)


def test_plain_strings_are_the_readers_questions_without_answers():
    assert last_exchange(["What is collagen?", FIRST]) == (FIRST, "")


def test_junk_in_the_history_is_skipped():
    history = [
        {"role": "system", "content": "You are helpful"},
        {"role": "user", "content": "  "},
        {"role": "assistant", "content": REPLY},
        ("", REPLY),
        (),
        42,
        None,
        {"role": "user", "content": None},
        FIRST,
    ]
    assert user_turns(history) == [FIRST]
    assert turns(None) == [] and turns([]) == []
    assert last_exchange([]) == ("", "")


def test_the_answer_after_a_newer_question_is_the_one_kept():
    history = [("What is collagen?", "Collagen provides structural support. [1]"), (FIRST, "")]
    assert last_exchange(history) == (FIRST, "")


def test_quoted_sentences_come_without_markers_escapes_or_preface():
    text = ("The article doesn't mention smoking. The closest it comes: Common examples include crow\\'s feet. "
            "Dynamic wrinkles are temporary. [1] Collagen provides structural support. [2]\n\n**[1]** citations…")
    assert quoted_sentences(text) == ["Common examples include crow's feet. Dynamic wrinkles are temporary.",
                                      "Collagen provides structural support."]
    assert quoted_sentences("The article doesn't cover that. It covers: Sun Protection.") == []


@pytest.mark.parametrize("question", [
    "and how do I prevent them?", "what about around the eyes?", "are they risky?", "where do they show up?",
    "which ingredients?", "how many?", "and?", "what else?", "Did he win?", "what do they do?",
    # no rare word, so no subject of its own: "how many people died?" after Nanjing in 1937
    "how many people died?", "give me an example", "which team came first?",
])
def test_questions_that_point_back_or_leave_out_their_subject_lean_on_context(question):
    assert leans_on_context(question)


@pytest.mark.parametrize("question", [
    "What does elastin do?", "Which proteins keep skin elastic?", "How can I prevent wrinkles?",
    "does sunscreen help against wrinkles?",
])
def test_questions_that_name_their_subject_stand_alone(question):
    assert not leans_on_context(question)


def test_a_possessive_after_a_name_in_the_question_refers_to_that_name():
    assert not points_back("How did Pakistan boost its doctoral output?")
    assert points_back("what did his dad do for a living?")
    assert points_back("How did Fox take it?")  # "it" is no possessive: still the earlier subject
