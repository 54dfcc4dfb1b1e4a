"""Questions arriving together share one encode; a lone question waits for nothing."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from assistant.model.batching import QueryBatcher


def slow_encoder(calls: list[list[str]]):
    def encode(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        time.sleep(0.05)
        return np.array([[float(len(t))] for t in texts])
    return encode


def until(condition, seconds: float = 60.0) -> bool:
    """Poll `condition` until true; the time limit only stops a hung test."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_lone_question_is_encoded_alone_and_at_once():
    calls: list[list[str]] = []
    batcher = QueryBatcher(slow_encoder(calls))
    started = time.perf_counter()
    assert batcher.encode("abc")[0] == 3.0
    assert calls == [["abc"]]
    assert time.perf_counter() - started < 0.5


def test_concurrent_questions_are_batched_and_each_gets_its_own_vector():
    calls: list[list[str]] = []
    encoding, release = threading.Event(), threading.Event()

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        encoding.set()
        release.wait(60)  # the first encode lasts until every other question has queued
        return np.array([[float(len(t))] for t in texts])

    batcher = QueryBatcher(encode)
    questions = [f"q{'x' * i}" for i in range(16)]
    results: dict[str, float] = {}

    def ask(question):
        results[question] = float(batcher.encode(question)[0])

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
    try:
        threads[0].start()
        assert encoding.wait(60)
        for thread in threads[1:]:
            thread.start()
        assert until(lambda: batcher.queued == 15)
    finally:
        release.set()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {q: float(len(q)) for q in questions}
    assert len(calls) == 2 and calls[0] == questions[:1]
    assert sorted(calls[1]) == sorted(questions[1:])  # the fifteen that queued: one encode
    assert batcher.batches == 2


def test_an_encoder_error_reaches_every_waiting_caller_and_the_next_call_works():
    fail = {"now": True}

    def encode(texts):
        time.sleep(0.02)
        if fail["now"]:
            raise RuntimeError("model exploded")
        return np.ones((len(texts), 1))

    batcher = QueryBatcher(encode)
    errors = []

    def ask():
        try:
            batcher.encode("x")
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=ask) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert errors == ["model exploded"] * 5
    fail["now"] = False
    assert batcher.encode("y")[0] == 1.0


@pytest.mark.slow
def test_repeated_questions_come_from_the_cache(real_assistant):
    embedder = real_assistant.embedder
    embedder.cache_clear()
    first = embedder.encode_queries(["What is elastin?"])
    batches = embedder._batcher.batches
    again = embedder.encode_queries(["What is elastin?"])
    assert embedder._batcher.batches == batches
    assert np.array_equal(first, again)
    assert np.allclose(first[0], embedder.encode(["What is elastin?"])[0], atol=1e-5)


def test_a_window_makes_overlapping_readers_wait_for_company_but_never_a_lone_one():
    calls: list[list[str]] = []
    release = threading.Event()

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        if texts == ["x"]:
            release.wait(60)  # "x" is being encoded while "p" and "q" arrive
        return np.array([[float(len(t))] for t in texts])

    # a window far longer than the test: only a full batch can end a wait
    batcher = QueryBatcher(encode, max_batch=3, window=600.0)
    assert batcher.encode("lone")[0] == 4.0  # a lone reader does not wait out the window
    results: dict[str, float] = {}

    def ask(question):
        results[question] = float(batcher.encode(question)[0])

    threads = {q: threading.Thread(target=ask, args=(q,)) for q in ("x", "p", "q", "r")}
    threads["x"].start()
    assert until(lambda: calls[-1:] == [["x"]])
    threads["p"].start()
    threads["q"].start()
    assert until(lambda: batcher.queued == 2)
    release.set()  # readers overlap now: the next leader waits for a third question
    assert until(lambda: "x" in results)
    threads["r"].start()
    for thread in threads.values():
        thread.join(60)
    assert results == {"x": 1.0, "p": 1.0, "q": 1.0, "r": 1.0}
    assert [sorted(c) for c in calls] == [["lone"], ["x"], ["p", "q", "r"]]
