"""Request bodies are I-JSON or a one-line 400 (assistant/http/request_body.py)."""
from __future__ import annotations

import pytest

from assistant.http.request_body import BadBody, check_json


def test_an_ordinary_body_is_read_as_json():
    body = b'{"question": "What is collagen? \\ud83d\\ude00", "history": [{"role": "user", "content": "hi"}], "n": 1.5}'
    assert check_json(body)["question"] == "What is collagen? \U0001F600"


@pytest.mark.parametrize(("body", "problem"), [
    (b'{"question": NaN}', "has NaN, which JSON does not allow"),
    (b'{"question": -Infinity}', "has -Infinity"),
    (b'{"question": 1e999}', "1e999 in the request body is too large"),
    (b'{"question": ' + b"9" * 5000 + b"}", "has 5,000 digits"),
    (b'{"question": "wrinkles \\ud800"}', "lone surrogate (\\ud800)"),
    (b'{"\\udfff": "key"}', "lone surrogate (\\udfff)"),
    (b'{"question": "\xed\xa0\x80"}', "not UTF-8"),
    (b'{"history": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested more than 32 levels"),
    (b'{"history": ' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}", "nested more than 32 levels"),
    (b'{"question": "unterminated', "not valid JSON (Unterminated string"),
])
def test_what_is_not_i_json_is_refused_with_a_one_line_reason(body, problem):
    with pytest.raises(BadBody) as refused:
        check_json(body)
    assert problem in str(refused.value)
    assert "\n" not in str(refused.value)
