"""The real server under load: a bounded asyncio + httpx load generator over
GET /api/ask at 1, 4 and 16 concurrent clients, compared with two bare encodes measured
in this process in the same run (the serving encoder, ONNX Runtime; and
sentence-transformers on torch, the reference); then an overload probe against a server
with the default rate limit.

The load generator runs on the same machine as the server (2 cores here), so it
competes with it a little; it sends a fixed number of requests and stops by itself.
"""
from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from . import common, latency

# (clients, requests, quick requests, unique questions?)
LEVELS = [(1, 200, 40, False), (4, 400, 80, False), (16, 800, 160, False), (1, 200, 40, True), (4, 400, 80, True),
          (16, 800, 160, True)]
THROUGHPUT_TARGET = 4.0  # answers/s x bare sentence-transformers encode time, 16 readers, unique questions
LEVEL_CAP_S = 120
REQUEST_TIMEOUT_S = 30
OVERLOAD_REQUESTS = 60


async def _load(base: str, questions: list[str], clients: int, requests: int) -> dict:
    """`requests` GETs of /api/ask from `clients` concurrent workers; stops at the cap."""
    latencies, statuses, exceptions, slowest = [], {}, 0, {}
    next_request = 0
    deadline = time.perf_counter() + LEVEL_CAP_S

    async def worker(client: httpx.AsyncClient):
        nonlocal next_request, exceptions
        while next_request < requests and time.perf_counter() < deadline:
            question = questions[next_request % len(questions)]
            next_request += 1
            started = time.perf_counter()
            try:
                response = await client.get(f"{base}/api/ask", params={"q": question})
                outcome = str(response.status_code)
            except httpx.HTTPError as exc:
                exceptions += 1
                outcome = type(exc).__name__
            latencies.append(time.perf_counter() - started)
            statuses[outcome] = statuses.get(outcome, 0) + 1
            slowest[outcome] = max(slowest.get(outcome, 0.0), latencies[-1])

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_S) as client:
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"clients": clients, "sent": len(latencies), "seconds": elapsed,
            "client_cpu_ms_per_request": cpu * 1000 / max(len(latencies), 1),
            "throughput_rps": statuses.get("200", 0) / elapsed, "ms": common.summary_ms(latencies),
            "errors": sum(n for outcome, n in statuses.items() if outcome != "200"), "exceptions": exceptions,
            "rejected_429_503": statuses.get("429", 0) + statuses.get("503", 0), "statuses": dict(sorted(statuses.items())),
            "slowest_ms": {outcome: seconds * 1000 for outcome, seconds in sorted(slowest.items())}}


def _levels(base: str, questions: list[str], quick: bool) -> tuple[list[dict], list[float], list[float]]:
    """Every load level, with both bare encodes measured between levels (while the
    server is idle), so the encode samples span the same stretch of time."""
    model, reference = common.embedder().model, common.reference_model()
    asyncio.run(_load(base, questions, 2, 10))  # warm the server
    results, encode, reference_encode = [], [], []
    for clients, requests, quick_requests, unique in LEVELS:
        encode += latency.encode_times(model, questions, 1)
        reference_encode += latency.encode_times(reference, questions, 1)
        n = quick_requests if quick else requests
        # a number appended makes every question new, so no cache can answer it
        asked = [f"{questions[i % len(questions)]} {i}" for i in range(n)] if unique else questions
        results.append(asyncio.run(_load(base, asked, clients, n)) | {"unique": unique})
    encode += latency.encode_times(model, questions, 1)
    reference_encode += latency.encode_times(reference, questions, 1)
    return results, encode, reference_encode


def run(quick: bool = False) -> dict:
    from assistant.settings import Settings
    from tests.servers import app_server

    questions = common.dev_questions()
    embedder = common.embedder()
    cache = common.cache_clearer(embedder) is not None  # the server runs this same code
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        root = Path(tmp)
        settings = common.built_project_copy(root / "load")
        shutil.copytree(root / "load", root / "overload", ignore=shutil.ignore_patterns(".lock", "data"))
        with app_server(root / "load", ASSISTANT_RATE_LIMIT="1000000/minute",
                        ASSISTANT_DATA_DIR=str(settings.data_dir)) as base:
            levels, encode, reference_encode = _levels(base, questions, quick)
        with app_server(root / "overload", ASSISTANT_RATE_LIMIT=Settings().rate_limit,
                        ASSISTANT_DATA_DIR=str(root / "overload" / "data")) as base:
            # one question first, so the probe meets a warm server (the model loads on the
            # first question; startup.py times that), then a pause for the 1-second window
            httpx.get(f"{base}/api/ask", params={"q": questions[0]}, timeout=REQUEST_TIMEOUT_S * 4)
            time.sleep(1.5)
            probe = asyncio.run(_load(base, questions, OVERLOAD_REQUESTS, OVERLOAD_REQUESTS))
    return {"query_cache": cache, "encode_ms": common.summary_ms(encode),
            "reference_encode_ms": common.summary_ms(reference_encode), "levels": levels,
            "overload": probe | {"rate_limit": Settings().rate_limit}}


def rows(results: dict) -> list[tuple[str, str, str]]:
    encode_p50 = results["encode_ms"]["p50"]
    repeats = "questions repeat; cache on" if results["query_cache"] else "questions repeat; no query cache"
    reference_p50 = results["reference_encode_ms"]["p50"]
    out = [common.row("bare encode p50 between the levels: ONNX Runtime (serving) / sentence-transformers (torch)",
                      f"{encode_p50:.1f} / {reference_p50:.1f} ms")]
    by_key = {}
    for level in results["levels"]:
        label = f"@{level['clients']}" + (" unique" if level["unique"] else "")
        by_key[label] = level
        ms = level["ms"]
        out.append(common.row(
            f"HTTP {label} ({level['sent']} req; {'unique questions' if level['unique'] else repeats})",
            f"p50 {ms['p50']:.0f} / p95 {ms['p95']:.0f} / p99 {ms['p99']:.0f} ms, {level['throughput_rps']:.1f} req/s, "
            f"{level['errors']} errors ({level['rejected_429_503']} × 429/503)", "0 errors", level["errors"] == 0))
    for label in ("@1", "@1 unique"):
        if label in by_key:
            ratio = by_key[label]["ms"]["p50"] / encode_p50
            out.append(common.row(f"HTTP p50 {label} / encode p50", f"{ratio:.3f}", "≤ 1.5", ratio <= 1.5))
    for label in ("@1 unique", "@4 unique", "@16 unique"):
        if label in by_key:
            rps = by_key[label]["throughput_rps"]
            versus = rps * reference_p50 / 1000
            target = f"≥ {THROUGHPUT_TARGET:.0f}" if label == "@16 unique" else ""
            out.append(common.row(f"answers/s {label} × bare encode: sentence-transformers / ONNX",
                                  f"{versus:.2f} / {rps * encode_p50 / 1000:.2f}", target,
                                  versus >= THROUGHPUT_TARGET if target else None))
    if "@16 unique" in by_key:
        level = by_key["@16 unique"]
        tail = level["ms"]["p99"] / level["ms"]["p50"]
        out.append(common.row("p99 / p50 @16 unique", f"{tail:.1f}", "≤ 10", tail <= 10))
        out.append(common.row("load generator's own CPU per request @16 unique (same 2 cores)",
                              f"{level['client_cpu_ms_per_request']:.1f} ms"))
    probe = results["overload"]
    answered = probe["statuses"]
    unexpected = sum(n for s, n in answered.items() if s not in ("200", "429", "503"))
    out.append(common.row(f"overload: {probe['sent']} at once on a warm server, limit {probe['rate_limit']}",
                          ", ".join(f"{n} × {s}" for s, n in answered.items()), "only 200/429/503", unexpected == 0))
    slowest = ", ".join(f"{s} {ms / 1000:.2f} s" for s, ms in probe["slowest_ms"].items())
    out.append(common.row("overload: slowest answer, by status", slowest, "≤ 5 s", probe["ms"]["max"] <= 5000))
    return out
