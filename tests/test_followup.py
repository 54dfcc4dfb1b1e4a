"""A short follow-up borrows the topic of the reader's earlier question; a question
that stands on its own is searched as typed. History comes in three shapes."""
from __future__ import annotations

import pytest

from assistant.followup import is_followup, resolve, user_turns

FIRST = "What are dynamic wrinkles?"
REPLY = "Dynamic wrinkles are temporary and disappear when the muscles are at rest. [1]"

HISTORY_SHAPES = {
    "strings": [FIRST],
    "pairs": [(FIRST, REPLY)],
    "lists": [[FIRST, REPLY]],
    "gradio messages": [{"role": "user", "content": FIRST}, {"role": "assistant", "content": REPLY}],
    "gradio content parts": [
        {"role": "user", "content": [{"type": "text", "text": FIRST}]},
        {"role": "assistant", "content": [{"type": "text", "text": REPLY}]},
    ],
}


@pytest.mark.parametrize("history", HISTORY_SHAPES.values(), ids=HISTORY_SHAPES.keys())
def test_user_turns_reads_every_history_shape(history):
    assert user_turns(history) == [FIRST]


def test_user_turns_skips_bot_messages_blanks_and_junk():
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
    assert user_turns(None) == []
    assert user_turns([]) == []


@pytest.mark.parametrize(
    "question",
    ["and how do I prevent them?", "what about around the eyes?", "how about them?", "also?", "Why?", "and?"],
)
def test_short_questions_leaning_on_the_last_one_are_followups(question):
    assert is_followup(question)


@pytest.mark.parametrize(
    "question",
    ["What is collagen?", "What are dynamic wrinkles?", "does sunscreen help?",
     "Which proteins keep skin firm?", "How can I prevent wrinkles?"],
)
def test_questions_that_name_their_topic_stand_alone(question):
    assert not is_followup(question)


@pytest.mark.parametrize("history", HISTORY_SHAPES.values(), ids=HISTORY_SHAPES.keys())
def test_a_followup_is_searched_with_the_earlier_topic(history):
    query = resolve("and how do I prevent them?", history)
    assert "dynamic wrinkles" in query
    assert "how do I prevent them" in query


@pytest.mark.parametrize("history", HISTORY_SHAPES.values(), ids=HISTORY_SHAPES.keys())
def test_a_standalone_question_is_returned_unchanged(history):
    assert resolve("What is collagen?", history) == "What is collagen?"


def test_without_history_a_followup_is_searched_as_typed():
    assert resolve("and how do I prevent them?", None) == "and how do I prevent them?"
    assert resolve("and how do I prevent them?", []) == "and how do I prevent them?"


def test_the_topic_is_the_latest_standalone_question():
    history = ["What is collagen?", "What are dynamic wrinkles?"]
    query = resolve("what about around the eyes?", history)
    assert "dynamic wrinkles" in query and "collagen" not in query


def test_a_chain_of_followups_keeps_the_original_topic():
    history = ["What are dynamic wrinkles?", "and how do I prevent them?"]
    query = resolve("what about around the eyes?", history)
    assert "dynamic wrinkles" in query
    assert "prevent" in query
    assert query.endswith("what about around the eyes?")
