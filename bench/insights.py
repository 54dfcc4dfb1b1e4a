"""The question log and insights: what recording costs an answer, how fast the writer
thread empties its queue, and how long `assistant insights` takes on a busy log
(many questions, many of them paraphrases), with the real model.
"""
from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from . import common

TOPICS = ["crow's feet", "forehead lines", "frown lines", "collagen", "sunscreen", "botox", "retinoids",
          "facial exercises", "static wrinkles", "dynamic wrinkles", "elastin", "sleep lines", "smile lines"]
FORMS = ["what are {}", "What are {}?", "what causes {}", "how do I prevent {}", "do {} go away", "tell me about {}",
         "is it true that {} get worse with age", "why do I get {}", "can {} be reversed?", "{} explained"]


def synthetic_log(questions: int, seed: int = 0) -> list[str]:
    """Readers' questions: topic × phrasing, with typos of case and punctuation, plus a
    long tail of one-off questions (numbers make them distinct)."""
    rng = random.Random(seed)
    asked = []
    for i in range(questions):
        if rng.random() < 0.7:
            text = rng.choice(FORMS).format(rng.choice(TOPICS))
            text = text.upper() if rng.random() < 0.05 else text.rstrip("?") if rng.random() < 0.3 else text
        else:
            text = f"{common.synthetic_sentence(rng).rstrip('.')} {i}?"
        asked.append(text)
    return asked


def run(quick: bool) -> dict:
    from assistant.questionlog import insights
    from assistant.questionlog.writer import QuestionLog, read
    from assistant.records import Answer

    count = 2_000 if quick else 10_000
    questions = synthetic_log(count)
    with tempfile.TemporaryDirectory() as tmp:
        log = QuestionLog(Path(tmp) / "questions.db")
        answers = [Answer(q, i % 4 != 0, "…") for i, q in enumerate(questions)]
        record = []
        written_started = time.perf_counter()
        for answer in answers:
            started = time.perf_counter()
            log.record(answer, 0.01, "api")
            record.append(time.perf_counter() - started)
        log.flush(timeout=120)
        written = time.perf_counter() - written_started
        log.close()
        rows = read(Path(tmp) / "questions.db")
    embedder = common.embedder()
    seconds, report = common.timed(insights.summarize, rows, embedder.encode, 30)
    distinct = len({insights.plain(q) for q in questions})
    return {"questions": count, "recorded": len(rows), "record_ms": common.summary_ms(record), "write_all_s": written,
            "insights_s": seconds, "distinct_phrasings": distinct, "top_group": report.top_questions[0].count,
            "groups_listed": len(report.top_questions)}


def rows(results: dict) -> list[tuple[str, str, str]]:
    n = results["questions"]
    record = results["record_ms"]
    return [
        common.row(f"log: record() per answer p50 / p99 ({n} questions)", f"{record['p50'] * 1000:.0f} / {record['p99'] * 1000:.0f} µs",
                   "p99 ≤ 1 ms", record["p99"] <= 1.0),
        common.row(f"log: {n} questions queued and written", f"{results['write_all_s']:.2f} s "
                   f"({results['recorded']} rows)", f"all {n}", results["recorded"] == n),
        common.row(f"insights over {n} questions ({results['distinct_phrasings']} phrasings)",
                   f"{results['insights_s']:.1f} s", "≤ 60 s", results["insights_s"] <= 60),
    ]
