"""Ask and record: the step every reader-facing interface shares (the JSON API and the chat
page): the engine's answer, timed, then put in the question log."""
from __future__ import annotations

import time


def ask_recorded(assistant, questions, question: str, history, channel: str):
    """assistant.ask, timed and put in the question log: (answer, question id or None).
    Raises InvalidQuestion, as ask does, without recording anything."""
    started = time.perf_counter()
    answer = assistant.ask(question, history=history)
    return answer, questions.record(answer, time.perf_counter() - started, channel)
