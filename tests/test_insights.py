"""Insights from the question log: paraphrases grouped (with the real model), content
gaps, unhelpful answers, rates and daily counts."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from assistant.questionlog.insights import (
    Memo,
    as_json,
    as_text,
    group,
    plain,
    summarize,
)
from assistant.questionlog.records import LoggedQuestion

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def row(question: str, answerable: bool = True, day: int = 24, helpful: bool | None = None, comment: str = "",
        n: int = 0) -> LoggedQuestion:
    return LoggedQuestion(id=f"{day:02d}{n:030d}", asked_at=f"2026-11-{day:02d}T09:00:{n % 60:02d}.000Z", question=question,
                          answerable=answerable, passage_ids=("w#dynamic-wrinkles-0",) if answerable else (),
                          latency_ms=10.0 + n, helpful=helpful, comment=comment)


LOG = [
    row("what are crows feet", n=1),
    row("what are crow's feet?", n=2, helpful=True),
    row("What are crow’s feet", n=3),
    row("what causes crow's feet?", n=4),
    row("does sunscreen help wrinkles?", n=5, helpful=False, comment="Which SPF?"),
    row("is sunscreen useful against wrinkles", n=6),
    row("What is the capital of France?", answerable=False, n=7),
    row("what's the capital of france", answerable=False, day=23, n=8),
    row("what time is it?", answerable=False, day=20, n=9),
]


@pytest.fixture(scope="module")
def report(real_assistant):
    return summarize(LOG, real_assistant.embedder.encode, days=7, now=NOW)


def test_the_form_that_is_embedded_ignores_case_apostrophes_and_punctuation():
    assert plain("What are crow’s feet?") == plain("what are crows feet") == "what are crows feet"


def test_spellings_of_one_question_are_one_top_question(report):
    top = report.top_questions[0]
    assert top.count == 3 and top.answered == 3 and top.helpful == 1
    assert {v.casefold() for v in top.variants} == {"what are crows feet", "what are crow's feet?", "what are crow’s feet"}


def test_paraphrases_are_grouped_but_a_different_question_on_the_topic_is_not(report):
    by_question = {v: g for g in report.top_questions for v in g.variants}
    assert by_question["does sunscreen help wrinkles?"] is by_question["is sunscreen useful against wrinkles"]
    assert by_question["what causes crow's feet?"] is not by_question["what are crows feet"]
    assert sum(g.count for g in report.top_questions) == len(LOG)


def test_refused_questions_are_the_content_gaps(report):
    gaps = [(g.question, g.count) for g in report.unanswered]
    assert gaps[0][1] == 2 and "capital of france" in gaps[0][0].casefold()
    assert ("what time is it?", 1) in gaps
    assert all(g.answered == 0 for g in report.unanswered)


def test_feedback_shows_against_its_question(report):
    [unhelpful] = report.unhelpful_answers
    assert (unhelpful.question, unhelpful.comment) == ("does sunscreen help wrinkles?", "Which SPF?")
    sunscreen = next(g for g in report.top_questions if "does sunscreen help wrinkles?" in g.variants)
    assert (sunscreen.helpful, sunscreen.unhelpful) == (0, 1)


def test_rates_and_daily_counts(report):
    assert (report.questions, report.answered, report.refused) == (9, 6, 3)
    assert report.answer_rate == pytest.approx(6 / 9) and report.helpful_ratio == 0.5
    assert report.median_latency_ms == 15.0
    assert [d.date for d in report.per_day] == [f"2026-11-{d}" for d in range(17, 25)]
    days = {d.date: d for d in report.per_day}
    assert (days["2026-11-24"].questions, days["2026-11-24"].answered, days["2026-11-24"].refused) == (7, 6, 1)
    assert days["2026-11-20"].refused == 1 and days["2026-11-19"].questions == 0


def test_json_and_text_reports_carry_the_same_figures(report):
    body = as_json(report)
    assert body["answer_rate"] == 0.667 and body["helpful_ratio"] == 0.5
    assert body["top_questions"][0]["count"] == 3 and body["unhelpful_answers"][0]["comment"] == "Which SPF?"
    text = as_text(report)
    assert "9 questions, 6 answered, 3 refused (answer rate 67%)" in text
    assert '"Which SPF?"' in text


def test_an_empty_log_needs_no_model():
    def no_model(texts):
        raise AssertionError("nothing to embed")

    report = summarize([], no_model, days=30, now=NOW)
    assert (report.questions, report.answer_rate, report.helpful_ratio, report.top_questions) == (0, None, None, ())
    assert len(report.per_day) == 31
    assert "Top questions: none" in as_text(report)


def test_same_content_words_group_whatever_the_embedding(fake_embedder):
    groups = group([row("Sunscreen: does it help?", n=1), row("does sunscreen help", n=2)], fake_embedder.encode)
    assert [g.count for g in groups] == [2]


def test_the_dashboards_memo_embeds_each_phrasing_once(fake_embedder):
    memo = Memo(fake_embedder.encode)
    summarize(LOG, memo, days=7, now=NOW)
    first = len(fake_embedder.texts)
    summarize(LOG, memo, days=7, now=NOW)
    assert len(fake_embedder.texts) == first == len(set(fake_embedder.texts))


def test_readers_control_characters_are_shown_escaped_in_the_text_json_and_dashboard(fake_embedder):
    import json

    from assistant.questionlog.insights import dumps
    from assistant.web.dashboard import tables

    hostile = "\x1b[2J\x1b]0;pwned\x07what is\u202e collagen\x9b31m"
    rows = [row(hostile, helpful=False, comment="bad\rcomment\u2066"), row("what is retinol", n=2)]
    report = summarize(rows, fake_embedder.encode, days=7, now=NOW)
    text, exported = as_text(report), dumps(report)
    for printed in (text, exported):
        assert not any(c in printed for c in "\x1b\x07\x9b\u202e\u2066\r"), repr(printed)
    assert "\\x1b[2J\\x1b]0;pwned\\x07what is\\u202e collagen\\x9b31m" in text
    assert json.loads(exported)["unhelpful_answers"][0]["question"] == hostile  # the same data, escaped as JSON
    shown = tables(report)[-1]
    assert list(shown["question"]) == ["\\x1b[2J\\x1b]0;pwned\\x07what is\\u202e collagen\\x9b31m"]
    assert list(shown["comment"]) == ["bad\\x0dcomment\\u2066"]


def test_thanks_greetings_and_requests_to_go_on_are_no_questions_to_the_owner(fake_embedder):
    """Readers' "thanks!", "hi" and "tell me more" are counted as asked, but are neither
    top questions nor content gaps."""
    log = [row("thanks!", answerable=False, n=1), row("Thank you so much", answerable=False, n=2),
           row("hi", answerable=False, n=3), row("what time is it?", answerable=False, n=4),
           row("tell me more", answerable=False, n=5)]  # at the end of the article
    report = summarize(log, fake_embedder.encode, days=7, now=NOW)
    assert report.questions == 5
    assert [g.question for g in report.top_questions] == [g.question for g in report.unanswered] == ["what time is it?"]
