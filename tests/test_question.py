"""Whatever a reader types or pastes becomes a clean question string, or a friendly
InvalidQuestion; it never crashes on odd Unicode or bytes."""
from __future__ import annotations

import pytest

from assistant.errors import AssistantError, InvalidQuestion
from assistant.text.cleaning import clean

LIMIT = 1000


@pytest.mark.parametrize("raw", ["", "   ", "\n\t \r\n", "\u200b\u200f", None, b""])
def test_an_empty_question_asks_for_one(raw):
    with pytest.raises(InvalidQuestion, match="Please type a question") as error:
        clean(raw, LIMIT)
    assert "crow's feet" in str(error.value)  # it offers an example


def test_a_pasted_book_is_refused_with_its_length():
    with pytest.raises(InvalidQuestion) as error:
        clean("wrinkles " * 11_112, LIMIT)
    message = str(error.value)
    assert "100,008 characters" in message
    assert "1,000" in message


def test_exactly_100000_characters_is_too_long():
    with pytest.raises(InvalidQuestion, match="100,000 characters"):
        clean("a" * 100_000, LIMIT)


def test_the_limit_is_counted_after_cleaning():
    assert clean("w" * LIMIT, LIMIT) == "w" * LIMIT
    assert clean("  " + "w" * LIMIT + "  \n", LIMIT) == "w" * LIMIT
    with pytest.raises(InvalidQuestion, match="1,001 characters"):
        clean("w" * (LIMIT + 1), LIMIT)


def test_invalid_question_is_a_domain_error():
    assert issubclass(InvalidQuestion, AssistantError)


def test_control_characters_become_spaces_and_runs_collapse():
    assert clean("what\x00 are\x07\x1b crow's\tfeet?\r\n", LIMIT) == "what are crow's feet?"
    assert clean("line one\u2028line two", LIMIT) == "line one line two"


def test_invisible_format_marks_are_removed():
    assert clean("\u200fwhat\u200b are\u2060 wrinkles?\ufeff", LIMIT) == "what are wrinkles?"


def test_compatibility_forms_are_normalised():
    assert clean("ｗｒｉｎｋｌｅｓ？", LIMIT) == "wrinkles?"  # full-width Latin -> ASCII (NFKC)


def test_invalid_utf8_bytes_do_not_raise():
    question = clean(b"\xff\xfe caf\xc3 wrinkles?", LIMIT)
    assert isinstance(question, str)
    assert question.endswith("wrinkles?")
    question.encode("utf-8")


@pytest.mark.parametrize(
    "raw",
    [
        "Do wrinkles 😀 go away? 👵🏽",
        "\u200fما هي التجاعيد؟",
        "皱纹是什么？",
        "what about \ud800 wrinkles",
        "\ud800",
        "\udcff\udcfe caf\udcc3 wrinkles?",  # what surrogateescape makes of invalid UTF-8
        "<script>alert(1)</script>",
        "a\u0301\u0301\u0301 combining marks",
    ],
)
def test_any_unicode_comes_back_as_encodable_text(raw):
    question = clean(raw, LIMIT)
    assert isinstance(question, str) and question
    assert question.encode("utf-8")
    assert "\u200f" not in question


def test_ordinary_text_is_kept_as_typed():
    assert clean("Which proteins keep skin firm?", LIMIT) == "Which proteins keep skin firm?"
    assert clean("皱纹是什么？", LIMIT) == "皱纹是什么?"  # only the full-width ? is normalised
    assert "😀" in clean("Do wrinkles 😀 go away?", LIMIT)
