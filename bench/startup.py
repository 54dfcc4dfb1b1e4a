"""Cold starts with a built index: `python app.py` until /healthz answers 200 and until
the first question is answered; a one-shot `assistant ask --no-build`; `assistant --help`.

Every run is a fresh process of the venv's python (sys.executable), so imports and
the model load are paid each time, as a user pays them.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from . import common

SERVER_RUNS, QUICK_SERVER_RUNS = 3, 1
ASK_RUNS, QUICK_ASK_RUNS = 3, 1
HELP_RUNS, QUICK_HELP_RUNS = 5, 3
DEADLINE_S = 180
QUESTION = "What are crow's feet?"


def server_start(env: dict) -> tuple[float, float]:
    """Seconds from spawning `python app.py` to the first 200 on /healthz, and to the
    first answered /api/ask."""
    from tests.servers import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(common.PROJECT / "app.py")], cwd=common.PROJECT,
                               env=env | {"ASSISTANT_PORT": str(port)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        healthy = _first_200(process, f"{base}/healthz", started)
        answered = _first_200(process, f"{base}/api/ask", started, {"q": QUESTION})
        return healthy, answered
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _first_200(process: subprocess.Popen, url: str, started: float, params: dict | None = None) -> float:
    while time.perf_counter() - started < DEADLINE_S:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with code {process.returncode} before answering {url}")
        try:
            if httpx.get(url, params=params, timeout=10).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no 200 from {url} within {DEADLINE_S} s")


def command_seconds(args: list[str], env: dict) -> float:
    """Wall time of one `python -m assistant ...`; fails loudly on a non-zero exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "assistant", *args], cwd=common.PROJECT, env=env, check=True,
                   capture_output=True, timeout=DEADLINE_S)
    return time.perf_counter() - started


def run(quick: bool = False) -> dict:
    servers, asks, helps = ((QUICK_SERVER_RUNS, QUICK_ASK_RUNS, QUICK_HELP_RUNS) if quick
                            else (SERVER_RUNS, ASK_RUNS, HELP_RUNS))
    healthz, first_answer, one_shot, help_ = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        settings = common.built_project_copy(Path(tmp))
        env = os.environ | {"ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
                            "ASSISTANT_INDEX_DIR": str(settings.index_dir),
                            "ASSISTANT_DATA_DIR": str(settings.data_dir),
                            "ASSISTANT_RATE_LIMIT": "1000000/minute"}
        for i in range(max(servers, asks, helps)):  # round-robin, so noise spreads over all three
            if i < servers:
                healthy, answered = server_start(env)
                healthz.append(healthy)
                first_answer.append(answered)
            if i < asks:
                one_shot.append(command_seconds(["ask", "--no-build", QUESTION], env))
            if i < helps:
                help_.append(command_seconds(["--help"], env))
    return {"server_runs": servers, "ask_runs": asks, "help_runs": helps,
            "healthz_s": common.median(healthz), "first_answer_s": common.median(first_answer),
            "one_shot_ask_s": common.median(one_shot), "help_s": common.median(help_),
            "samples": {"healthz": healthz, "first_answer": first_answer, "one_shot_ask": one_shot, "help": help_}}


def rows(results: dict) -> list[tuple[str, str, str]]:
    r = results
    return [
        common.row(f"server spawn → /healthz 200 (median of {r['server_runs']})", f"{r['healthz_s']:.1f} s",
                   "≤ 6 s", r["healthz_s"] <= 6),
        common.row(f"server spawn → first /api/ask 200 (median of {r['server_runs']})", f"{r['first_answer_s']:.1f} s"),
        common.row(f"one-shot `assistant ask --no-build` (median of {r['ask_runs']})", f"{r['one_shot_ask_s']:.1f} s",
                   "≤ 6 s", r["one_shot_ask_s"] <= 6),
        common.row(f"`assistant --help` (median of {r['help_runs']})", f"{r['help_s']:.2f} s", "≤ 1 s",
                   r["help_s"] <= 1),
    ]
