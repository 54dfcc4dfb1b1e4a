"""Retrieval quality on the question sets, with the real model: the shared dev set
(copied into tests/eval/dev.jsonl) and the project's own questions.jsonl."""
from __future__ import annotations

import pytest
from conftest import EVAL_DIR

from assistant.errors import AssistantError
from assistant.eval.questions import evaluate, format_report, read_questions


@pytest.fixture(scope="module")
def dev_report(real_assistant):
    return evaluate(real_assistant, read_questions(EVAL_DIR / "dev.jsonl"))


@pytest.fixture(scope="module")
def project_report(real_assistant):
    return evaluate(real_assistant, read_questions(EVAL_DIR / "questions.jsonl"))


@pytest.mark.slow
def test_dev_set_finds_the_right_paragraph(dev_report):
    assert dev_report.in_scope == 22 and dev_report.out_of_scope == 6
    assert dev_report.hit_at_1 >= 0.95, format_report(dev_report)
    assert dev_report.hit_at_3 == 1.0, format_report(dev_report)
    assert dev_report.mrr >= 0.97, format_report(dev_report)


@pytest.mark.slow
def test_dev_set_refuses_exactly_what_it_should(dev_report):
    assert dev_report.refused_out_of_scope == dev_report.out_of_scope, format_report(dev_report)
    assert dev_report.false_refusals <= 1, format_report(dev_report)


@pytest.mark.slow
def test_project_set_finds_the_right_paragraph(project_report):
    assert project_report.in_scope >= 30
    assert project_report.hit_at_3 >= 0.94, format_report(project_report)


@pytest.mark.slow
def test_project_set_refuses_exactly_what_it_should(project_report):
    assert project_report.out_of_scope >= 15
    assert project_report.refused_out_of_scope == project_report.out_of_scope, format_report(project_report)
    assert project_report.false_refusals <= 1, format_report(project_report)


@pytest.mark.slow
def test_the_report_lists_its_misses(dev_report):
    text = format_report(dev_report)
    assert f"{dev_report.refused_out_of_scope}/{dev_report.out_of_scope}" in text
    assert f"hit@1 {dev_report.hit_at_1:.3f}" in text
    assert len([m for m in dev_report.misses if m.kind == "rank"]) == round((1 - dev_report.hit_at_1) * dev_report.in_scope)
    assert set(dev_report.as_dict()) >= {"hit_at_1", "hit_at_3", "mrr", "false_refusals", "misses"}


def test_a_malformed_question_file_is_a_domain_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "fine"}\nnot json\n', encoding="utf-8")
    with pytest.raises(AssistantError, match="cannot read questions"):
        read_questions(bad)
    bad.write_text('{"question": "no q key"}\n', encoding="utf-8")
    with pytest.raises(AssistantError, match='"q" string'):
        read_questions(bad)
