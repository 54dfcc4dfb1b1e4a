"""Cold starts with a built index: `python app.py` until /healthz answers 200, until
the first question is answered and until the chat page is mounted; the server's RSS
after 30 answers (and whether torch is mapped into it); a one-shot `assistant ask
--no-build`; `assistant --help`.

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
ANSWERS_BEFORE_RSS = 30
FIRST_ANSWER_TARGET_S, ONE_SHOT_TARGET_S, RSS_TARGET_MB = 3.0, 2.5, 350


def server_start(env: dict) -> dict:
    """Seconds from spawning `python app.py` to the first 200 on /healthz, to the first
    answered /api/ask and to the chat page mounted; then RSS after 30 answers."""
    from tests.servers import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(common.PROJECT / "app.py")], cwd=common.PROJECT,
                               env=env | {"ASSISTANT_PORT": str(port)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        answered = _first_200(process, f"{base}/api/ask", started, {"q": QUESTION})
        healthy = _first_200(process, f"{base}/healthz", started)
        while httpx.get(f"{base}/healthz", timeout=10).json().get("pages") == "loading":
            if time.perf_counter() - started > DEADLINE_S:
                raise RuntimeError(f"chat page not mounted within {DEADLINE_S} s")
            time.sleep(0.05)
        pages = time.perf_counter() - started
        questions = common.dev_questions()
        for i in range(ANSWERS_BEFORE_RSS):
            httpx.get(f"{base}/api/ask", params={"q": questions[i % len(questions)]}, timeout=60).raise_for_status()
        status = dict(line.split(":", 1) for line in Path(f"/proc/{process.pid}/status").read_text().splitlines())
        torch_mapped = "libtorch" in Path(f"/proc/{process.pid}/maps").read_text()
        return {"healthz": healthy, "first_answer": answered, "pages": pages,
                "rss_mb": int(status["VmRSS"].split()[0]) / 1024, "torch_mapped": torch_mapped}
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
    healthz, first_answer, pages, rss, torch_mapped, one_shot, help_ = [], [], [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        settings = common.built_project_copy(Path(tmp))
        env = os.environ | {"ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
                            "ASSISTANT_INDEX_DIR": str(settings.index_dir),
                            "ASSISTANT_DATA_DIR": str(settings.data_dir),
                            "ASSISTANT_RATE_LIMIT": "1000000/minute"}
        for i in range(max(servers, asks, helps)):  # round-robin, so noise spreads over all three
            if i < servers:
                start = server_start(env)
                healthz.append(start["healthz"])
                first_answer.append(start["first_answer"])
                pages.append(start["pages"])
                rss.append(start["rss_mb"])
                torch_mapped.append(start["torch_mapped"])
            if i < asks:
                one_shot.append(command_seconds(["ask", "--no-build", QUESTION], env))
            if i < helps:
                help_.append(command_seconds(["--help"], env))
    return {"server_runs": servers, "ask_runs": asks, "help_runs": helps,
            "healthz_s": common.median(healthz), "first_answer_s": common.median(first_answer),
            "pages_s": common.median(pages), "rss_after_answers_mb": common.median(rss), "torch_mapped": any(torch_mapped),
            "one_shot_ask_s": common.median(one_shot), "help_s": common.median(help_),
            "samples": {"healthz": healthz, "first_answer": first_answer, "pages": pages, "rss_mb": rss,
                        "one_shot_ask": one_shot, "help": help_}}


def rows(results: dict) -> list[tuple[str, str, str]]:
    r = results
    n = r["server_runs"]
    return [
        common.row(f"server spawn → /healthz 200 (median of {n})", f"{r['healthz_s']:.1f} s", "≤ 6 s", r["healthz_s"] <= 6),
        common.row(f"server spawn → first /api/ask 200 (median of {n})", f"{r['first_answer_s']:.1f} s",
                   f"≤ {FIRST_ANSWER_TARGET_S:.0f} s", r["first_answer_s"] <= FIRST_ANSWER_TARGET_S),
        common.row(f"server spawn → chat page mounted (gradio, after the API; median of {n})", f"{r['pages_s']:.1f} s"),
        common.row(f"server RSS after {ANSWERS_BEFORE_RSS} answers, bundled article (median of {n})",
                   f"{r['rss_after_answers_mb']:.0f} MB", f"≤ {RSS_TARGET_MB} MB", r["rss_after_answers_mb"] <= RSS_TARGET_MB),
        common.row("torch mapped into the server (/proc/PID/maps)", "yes" if r["torch_mapped"] else "no", "no",
                   not r["torch_mapped"]),
        common.row(f"one-shot `assistant ask --no-build` (median of {r['ask_runs']})", f"{r['one_shot_ask_s']:.1f} s",
                   f"≤ {ONE_SHOT_TARGET_S} s", r["one_shot_ask_s"] <= ONE_SHOT_TARGET_S),
        common.row(f"`assistant --help` (median of {r['help_runs']})", f"{r['help_s']:.2f} s", "≤ 1 s",
                   r["help_s"] <= 1),
    ]
