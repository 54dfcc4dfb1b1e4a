"""What a chat keeps: the messages on the page are its only state (each answer carries its
turn in a comment), follow-ups read a bounded conversation from them, and the chat is
cut to what the page can send back. The long session on a real server is in
test_public_server.py."""
from __future__ import annotations

import json
from types import SimpleNamespace

from assistant.web.chat import (
    CHAT_MEMORY,
    CHAT_SHOWN,
    CONTEXT_CHARS,
    Turn,
    bounded,
    remembered,
    turns_shown,
)

LONG_ANSWER = "Dynamic wrinkles form from repeated muscle movement. " * 200


def turns(n: int, answer: str = "answer {n}") -> list[Turn]:
    return [Turn(f"question {i}", answer.format(n=i), f"{i:032x}") for i in range(n)]


def test_the_follow_up_context_keeps_the_last_three_exchanges():
    asked = remembered(turns(10))
    assert len(asked) == CHAT_MEMORY == 6
    assert [m["content"] for m in asked[-2:]] == ["question 9", "answer 9"]
    assert [m["role"] for m in asked] == ["user", "assistant"] * 3


def test_the_follow_up_context_keeps_at_most_context_chars_and_always_the_last_exchange():
    asked = remembered(turns(2) + [Turn("What are dynamic wrinkles?", LONG_ANSWER)])
    assert len(asked) == 6 and len(asked[-1]["content"]) == CONTEXT_CHARS // 2  # one answer is at most half
    asked = remembered(turns(2) + [Turn("What are dynamic wrinkles?", LONG_ANSWER), Turn("Are they permanent?", LONG_ANSWER)])
    assert [m["content"][:20] for m in asked] == ["Are they permanent?", LONG_ANSWER[:20]]  # the rest no longer fits
    assert sum(len(m["content"]) for m in asked) <= CONTEXT_CHARS


def test_each_answer_shown_carries_its_turn_and_only_answers_do():
    turn = Turn("What are crow's feet?", "Common examples include crow's feet [1]", "a" * 32, ("Dynamic Wrinkles",), "copy")
    shown = [{"role": "user", "content": "What are crow\\'s feet?"},
             {"role": "assistant", "content": [{"type": "text", "text": f"**answer** shown\n\n{turn.comment()}"}]},
             {"role": "user", "content": "?"}, {"role": "assistant", "content": "Please type a question"}]
    assert turns_shown(shown) == [turn]
    assert Turn.parse("<!--turn:not base64 json-->") is None


def test_the_chat_shown_is_cut_to_what_the_page_can_send_back():
    shown = []
    for n in range(200):
        shown = bounded(shown + [{"role": "user", "content": f"question {n}"},
                                 {"role": "assistant", "content": LONG_ANSWER[: 50 * n]}], 48_000)
    assert len(json.dumps(shown, ensure_ascii=False).encode()) <= 48_000
    assert shown[-2]["content"] == "question 199"


def test_short_turns_are_cut_at_chat_shown_messages():
    shown = []
    for n in range(80):
        shown = bounded(shown + [{"role": "user", "content": f"q{n}"}, {"role": "assistant", "content": f"a{n}"}], 48_000)
    assert len(shown) == CHAT_SHOWN and shown[0]["content"] == "q30"


def test_the_chat_keeps_no_state_on_the_server_and_gradio_deletes_its_cache(corpus_dir, tmp_path, fake_embedder):
    """No gr.State; and a file in the chat's Gradio cache is gone once the server stops
    (Gradio also deletes files older than SESSION_SECONDS every SESSION_SECONDS meanwhile)."""
    import gradio as gr
    from fastapi import FastAPI
    from starlette.testclient import TestClient

    from assistant.engine.assistant import Assistant
    from assistant.http.counters import Counters
    from assistant.questionlog.logs import NoLog
    from assistant.settings import Settings
    from assistant.web.gradio_pages import mount_pages

    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index")
    live = SimpleNamespace(current=Assistant.load(settings, embedder=fake_embedder))
    app, pages = FastAPI(), {}
    mount_pages(app, settings, live, NoLog(), Counters(), pages)
    chat = pages["/"]
    assert [block for block in chat.blocks.values() if isinstance(block, gr.State)] == []
    cached = tmp_path / "a reader's upload.txt"
    cached.write_text("kept by Gradio for this session")
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        chat.temp_file_sets[0].add(str(cached))  # as Gradio notes a file it caches
    assert not cached.exists()
