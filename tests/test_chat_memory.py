"""What a chat session keeps: a bounded conversation for follow-ups, a bounded chat on the
page, and state that expires. The 1,000-turn session on a real server is in
test_public_server.py."""
from __future__ import annotations

import json
from types import SimpleNamespace

from assistant.web import CHAT_MEMORY, CHAT_SHOWN, CONTEXT_CHARS, SESSION_SECONDS, remembered, shown_with

LONG_ANSWER = "Dynamic wrinkles form from repeated muscle movement. " * 200


def conversation(turns: int) -> list:
    asked: list = []
    for n in range(turns):
        asked = remembered(asked, f"question {n}", f"answer {n}")
    return asked


def test_the_follow_up_context_keeps_the_last_three_exchanges():
    asked = conversation(10)
    assert len(asked) == CHAT_MEMORY == 6
    assert [m["content"] for m in asked[-2:]] == ["question 9", "answer 9"]
    assert [m["role"] for m in asked] == ["user", "assistant"] * 3


def test_the_follow_up_context_keeps_at_most_context_chars_and_always_the_last_exchange():
    asked = remembered(conversation(2), "What are dynamic wrinkles?", LONG_ANSWER)
    assert len(asked) == 6 and len(asked[-1]["content"]) == CONTEXT_CHARS // 2  # one answer is at most half
    asked = remembered(asked, "Are they permanent?", LONG_ANSWER)
    assert [m["content"][:20] for m in asked] == ["Are they permanent?", LONG_ANSWER[:20]]  # the rest no longer fits
    assert sum(len(m["content"]) for m in asked) <= CONTEXT_CHARS


def test_the_chat_shown_is_cut_to_what_the_page_can_send_back():
    shown, ids = [], []
    for n in range(200):
        shown, ids = shown_with(shown, ids, f"question {n}", LONG_ANSWER[: 50 * n], f"{n:032x}", 48_000)
    assert len(json.dumps(shown, ensure_ascii=False).encode()) <= 48_000
    assert shown[-2]["content"] == "question 199" and ids[-1] == f"{199:032x}"
    assert len(ids) == len(shown) // 2 <= CHAT_SHOWN // 2


def test_short_turns_are_cut_at_chat_shown_messages_and_ids_stay_with_their_turns():
    shown, ids = [], []
    for n in range(80):
        shown, ids = shown_with(shown, ids, f"q{n}", f"a{n}", str(n), 48_000)
    assert len(shown) == CHAT_SHOWN and ids == [str(n) for n in range(30, 80)]
    assert shown[0]["content"] == "q30"


def test_ids_stay_aligned_when_the_session_state_expired_but_the_page_kept_its_chat():
    shown, ids = [], []
    for n in range(3):
        shown, ids = shown_with(shown, ids, f"q{n}", f"a{n}", str(n), 48_000)
    shown, ids = shown_with(shown, [], "q3", "a3", "3", 48_000)  # ids expired with the session
    assert ids == [None, None, None, "3"] and len(shown) == 8


def test_the_chat_state_expires_and_gradio_deletes_its_cache(corpus_dir, tmp_path, fake_embedder):
    import gradio as gr

    from assistant.engine import Assistant
    from assistant.questionlog import NoLog
    from assistant.settings import Settings
    from assistant.web import chat_ui

    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index")
    live = SimpleNamespace(current=Assistant.load(settings, embedder=fake_embedder))
    demo = chat_ui(live, settings, NoLog())
    states = [block for block in demo.blocks.values() if isinstance(block, gr.State)]
    assert len(states) == 2 and all(state.time_to_live == SESSION_SECONDS for state in states)
    assert demo.delete_cache == (SESSION_SECONDS, SESSION_SECONDS)
