"""A greeting, thanks or "ok" is no question: a short fixed reply, never a quote, and the
conversation's topic stays where it was. Classification is a closed list of whole
messages; the engine tests use the real model on the bundled article."""
from __future__ import annotations

import pytest
from stories import answers_to

from assistant.text.smalltalk import ACKNOWLEDGED, GOODBYE, GREETING, THANKS, pleasantry


@pytest.mark.parametrize("message, kind", [
    ("hi", GREETING), ("Hello there!", GREETING), ("Good morning", GREETING),
    ("thanks!", THANKS), ("great, thank you", THANKS), ("That was really helpful", THANKS), ("thanks, bye!", THANKS),
    ("ok", ACKNOWLEDGED), ("OK, got it.", ACKNOWLEDGED), ("I see", ACKNOWLEDGED), ("cool 👍", ACKNOWLEDGED),
    ("bye", GOODBYE), ("huh?", ACKNOWLEDGED), ("hmm", ACKNOWLEDGED),
    ("hi, what is collagen?", ""),  # a question: answered
    ("ok so what causes wrinkles?", ""),
    ("is it ok to use retinol?", ""),
    ("thanks for nothing, where is the sunscreen part?", ""),
    ("why?", ""),
    ("tell me more", ""),
])
def test_only_a_whole_message_of_small_talk_is_small_talk(message, kind):
    assert pleasantry(message) == kind


@pytest.mark.slow
@pytest.mark.parametrize("message, opening", [("thanks!", "You're welcome."), ("hi", "Hello!"), ("I see", "Ask me")])
def test_small_talk_after_an_answer_gets_a_fixed_reply_not_a_quote(real_assistant, message, opening):
    """Before, "hi" and "I see" quoted Dynamic Wrinkles again and "thanks!" was told
    "The article doesn't cover that"."""
    answer = answers_to(real_assistant, "What are crow's feet?", message)[-1]
    assert not answer.answerable and not answer.citations and not answer.not_covered
    assert answer.text.startswith(opening) and "Ask me anything about the article. It covers: " in answer.text


@pytest.mark.slow
def test_after_small_talk_a_follow_up_keeps_the_topic(real_assistant):
    *_, answer = answers_to(real_assistant, "What are crow's feet?", "thanks!", "do they go away when I relax?")
    assert answer.answerable and answer.about == "Dynamic Wrinkles", answer.text
