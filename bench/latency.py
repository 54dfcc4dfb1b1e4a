"""In-process question latency: the bare model encode of a question vs a whole
`Assistant.ask`, interleaved question by question so machine noise hits both alike.

Asks are timed cold: any query-embedding cache is cleared before each one. A
repeated question (asked twice, the second timed) is measured on its own.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from . import common

ROUNDS, QUICK_ROUNDS = 5, 2
GOING_ON = ("what else?", "tell me more")  # follow-ups with no words of their own (engine/followups.py)


def encode_once(model, question: str) -> float:
    """Seconds for the bare model to embed one question, as the engine would need."""
    started = time.perf_counter()
    model.encode([question], normalize_embeddings=True)
    return time.perf_counter() - started


def encode_one_thread(model, question: str) -> float:
    """`encode_once` with torch limited to one thread (a contended 2-core host can make
    two threads much slower than one); the thread count is restored after."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return encode_once(model, question)
    finally:
        torch.set_num_threads(threads)


def encode_times(model, questions: list[str], rounds: int) -> list[float]:
    """Bare encode durations of every question, `rounds` times (for other sections' ratios)."""
    for question in questions[:3]:
        encode_once(model, question)
    return [encode_once(model, q) for _ in range(rounds) for q in questions]


def run(quick: bool = False) -> dict:
    from assistant.engine.assistant import Assistant

    rounds = QUICK_ROUNDS if quick else ROUNDS
    questions = common.dev_questions()
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        settings = common.built_project_copy(Path(tmp))
        assistant = Assistant.load(settings, embedder=common.embedder(), build=False)
        model = assistant.embedder.model
        clear = common.cache_clearer(assistant.embedder) or common.cache_clearer(assistant)
        forget = clear or (lambda: None)

        assistant.warm_up()
        for q in questions:  # warm every code path once
            encode_once(model, q)
            encode_one_thread(model, q)
            forget()
            assistant.ask(q)

        def cold_ask(q: str) -> float:
            forget()
            return common.timed(assistant.ask, q)[0]

        timings = {"encode": [], "ask": [], "encode_1_thread": []}
        steps = {"encode": lambda q: encode_once(model, q), "ask": cold_ask,
                 "encode_1_thread": lambda q: encode_one_thread(model, q)}
        repeated = []
        going_on: dict[str, list[float]] = {more: [] for more in GOING_ON}
        for r in range(rounds):
            for q in questions:
                # rotate which goes first, so a slow spell doesn't always land on one
                for kind in (list(steps) * 2)[r % 3 : r % 3 + 3]:
                    timings[kind].append(steps[kind](q))
            for q in questions:
                forget()
                assistant.ask(q)
                repeated.append(common.timed(assistant.ask, q)[0])
            for q in questions:  # requests to go on, cold: "what else?" asks q again elsewhere
                answer = assistant.ask(q)
                history = [{"role": "user", "content": q}, {"role": "assistant", "content": answer.text}]
                for more in GOING_ON:
                    forget()
                    going_on[more].append(common.timed(assistant.ask, more, history)[0])

    import torch

    return {"questions": len(questions), "rounds": rounds, "query_cache": clear is not None,
            "torch_threads": torch.get_num_threads(), "encode_ms": common.summary_ms(timings["encode"]),
            "ask_ms": common.summary_ms(timings["ask"]), "repeated_ask_ms": common.summary_ms(repeated),
            "encode_1_thread_ms": common.summary_ms(timings["encode_1_thread"]),
            "going_on_ms": {more: common.summary_ms(times) for more, times in going_on.items()}}


def rows(results: dict) -> list[tuple[str, str, str]]:
    encode, ask, again = results["encode_ms"], results["ask_ms"], results["repeated_ask_ms"]
    one = results["encode_1_thread_ms"]
    ratio = ask["p50"] / encode["p50"]
    n = f"{results['questions']} q × {results['rounds']}"
    cache = "query cache found, cleared per ask" if results["query_cache"] else "no query cache found"
    return [
        common.row(f"encode p50 / p95 (bare model, {n})", f"{encode['p50']:.1f} / {encode['p95']:.1f} ms"),
        common.row(f"ask p50 / p95 (cold: {cache})", f"{ask['p50']:.1f} / {ask['p95']:.1f} ms"),
        common.row("ask p50 / encode p50", f"{ratio:.3f}", "≤ 1.3", ratio <= 1.3),
        common.row("ask − encode (p50s)", f"{ask['p50'] - encode['p50']:.1f} ms"),
        common.row(f"encode p50 / p95, torch 1 thread (default {results['torch_threads']})",
                   f"{one['p50']:.1f} / {one['p95']:.1f} ms"),
        common.row("repeated ask p50 (same q twice, 2nd timed)", f"{again['p50']:.2f} ms", "≤ 1 ms",
                   again["p50"] <= 1.0),
        *(common.row(f"follow-up {more!r} p50 / p95 (cold, after each q)", f"{t['p50']:.1f} / {t['p95']:.1f} ms",
                     "p50 ≤ 1.3 × ask p50", t["p50"] <= 1.3 * ask["p50"]) for more, t in results.get("going_on_ms", {}).items()),
    ]
