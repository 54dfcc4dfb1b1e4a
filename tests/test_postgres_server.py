"""The real server (`python app.py`) with its question log in PostgreSQL: questions are
logged and the owner's insights read them; PostgreSQL stopped under load or absent at
start-up never costs a reader an answer; a URL it can't use stops the start in one line."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from types import SimpleNamespace

import httpx
import pytest
from servers import PROJECT, app_server, eventually

from assistant.questionlog.logs import read
from assistant.questionlog.writer import UNREACHABLE

pytestmark = pytest.mark.slow

TOKEN = "owner-token-for-tests"


def health(base: str) -> dict:
    return httpx.get(f"{base}/healthz", timeout=30).json()


def insights_json(url: str) -> dict:
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")} | {"PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-m", "assistant", "insights", "--json", "--db", url],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def server(tmp_path_factory, postgres):
    url = postgres.create_database()
    with app_server(tmp_path_factory.mktemp("pg-app"), ASSISTANT_DATABASE_URL=url, ASSISTANT_ADMIN_TOKEN=TOKEN) as base:
        yield SimpleNamespace(base=base, url=url)


def test_questions_go_to_postgresql_and_insights_read_them_there(server, browser):
    from playwright.sync_api import expect

    with httpx.Client(base_url=server.base, timeout=60) as client:
        crows = [client.get("/api/ask", params={"q": q}).json() for q in ("what are crows feet", "what are crow's feet?")]
        france = client.get("/api/ask", params={"q": "What is the capital of France?"}).json()
        rated = client.post("/api/feedback", json={"question_id": crows[0]["question_id"], "helpful": False,
                                                   "comment": "Which muscles?"})
    assert rated.json() == {"recorded": True} and health(server.base)["status"] == "ok"
    rows = {r.id: r for r in read(server.url)}
    assert {crows[0]["question_id"], crows[1]["question_id"], france["question_id"]} <= set(rows)
    assert (rows[crows[0]["question_id"]].helpful, rows[crows[0]["question_id"]].comment) == (False, "Which muscles?")

    report = insights_json(server.url)  # `assistant insights` on the same database
    assert report["top_questions"][0]["count"] >= 2 and "What is the capital of France?" in {
        g["question"] for g in report["unanswered"]}

    context = browser.new_context(http_credentials={"username": "owner", "password": TOKEN})
    page = context.new_page()
    page.goto(f"{server.base}/insights/")
    expect(page.locator("#top-questions")).to_contain_text("crow", timeout=60_000)
    expect(page.locator("#unanswered")).to_contain_text("capital of France")
    expect(page.locator("#unhelpful")).to_contain_text("Which muscles?")
    context.close()


def test_postgresql_stopped_while_readers_ask_costs_no_answer_and_no_row(server, outage):
    answers: list[httpx.Response] = []
    stop = threading.Event()

    def reader() -> None:
        with httpx.Client(base_url=server.base, timeout=60) as client:
            for i in range(3000):  # bounded; ends much sooner, when the test sets `stop`
                if stop.is_set():
                    return
                answers.append(client.get("/api/ask", params={"q": f"what are crows feet? ({i})"}))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert eventually(lambda: len(answers) >= 3, 60)
        outage.stop()
        assert eventually(lambda: health(server.base)["status"] == UNREACHABLE, 60)  # still 200: readers are answered
        during = len(answers)
        assert eventually(lambda: len(answers) >= during + 3, 60)
        assert health(server.base)["question_log"]["waiting"] > 0
        outage.start()
        assert eventually(lambda: health(server.base)["status"] == "ok", 60)
    finally:
        stop.set()
        thread.join(120)
    assert {a.status_code for a in answers} == {200}
    asked = {a.json()["question_id"] for a in answers}
    assert eventually(lambda: asked <= {r.id for r in read(server.url)}, 60)  # every answered question, none lost
    assert "question_log" not in health(server.base) or health(server.base)["question_log"]["lost"] == 0


def test_a_server_starts_without_postgresql_and_reports_what_it_could_not_keep(tmp_path, outage, browser):
    from playwright.sync_api import expect

    url = outage.create_database()
    outage.stop()
    with app_server(tmp_path, ASSISTANT_DATABASE_URL=url, ASSISTANT_LOG_BUFFER_ROWS="2",
                    ASSISTANT_ADMIN_TOKEN=TOKEN) as base:
        assert eventually(lambda: health(base)["status"] == UNREACHABLE, 60)
        asked = [httpx.get(f"{base}/api/ask", params={"q": f"what is collagen ({i})"}, timeout=60) for i in range(4)]
        assert [a.status_code for a in asked] == [200] * 4
        assert eventually(lambda: health(base).get("question_log", {}).get("waiting") == 2, 30)
        assert health(base)["question_log"]["lost"] == 2
        context = browser.new_context(http_credentials={"username": "owner", "password": TOKEN})
        page = context.new_page()
        page.goto(f"{base}/insights/")
        summary = page.locator("#summary")
        expect(summary).to_contain_text("can't be read", timeout=60_000)  # the owner is told, and what is held
        expect(summary).to_contain_text("2 new questions wait in memory")
        expect(summary).to_contain_text("2 questions answered but not recorded")

        outage.start()
        assert eventually(lambda: health(base)["status"] == "ok", 60)
        assert eventually(lambda: len(read(url)) == 2, 30)  # the two that fitted in the buffer
        assert {r.id for r in read(url)} == {a.json()["question_id"] for a in asked[:2]}
        page.reload()
        expect(summary).to_contain_text("2 questions answered but not recorded", timeout=60_000)  # now from the log itself
        expect(summary).not_to_contain_text("wait in memory")
        context.close()


@pytest.mark.parametrize("url", ["mysql://db.example/log", "postgresql://db.example:port/log"])
def test_a_database_url_it_cant_use_stops_the_start_in_one_line(tmp_path, url):
    env = os.environ | {"ASSISTANT_DATABASE_URL": url, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
                        "ASSISTANT_PORT": "1"}
    done = subprocess.run([sys.executable, str(PROJECT / "app.py")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ASSISTANT_DATABASE_URL: ") and "Traceback" not in done.stderr
    assert not (tmp_path / "index").exists()  # stopped before building or loading anything


def test_a_locked_table_slows_no_answer_and_what_it_kept_from_the_log_is_counted_at_stop(tmp_path, postgres):
    import signal
    import time

    import psycopg
    from servers import app_process

    url = postgres.create_database()
    with app_process(tmp_path, ASSISTANT_DATABASE_URL=url) as (process, base):
        assert httpx.get(f"{base}/api/ask", params={"q": "what is collagen"}, timeout=60).status_code == 200
        with psycopg.connect(url) as holder:
            holder.execute("LOCK TABLE questions IN ACCESS EXCLUSIVE MODE")
            with httpx.Client(base_url=base, timeout=60) as client:
                seconds = []
                for i in range(6):
                    started = time.monotonic()
                    assert client.get("/api/ask", params={"q": f"what are crows feet ({i})"}).status_code == 200
                    seconds.append(time.monotonic() - started)
            assert sorted(seconds)[-2] < 0.9  # one answer may wait its 0.25 s for the log; none waits a second
            assert health(base)["status"].startswith("degraded: question log")  # slow, or unreachable once cancelled
            process.send_signal(signal.SIGTERM)
            process.wait(60)  # the lock is still held: the log can't be written before the process ends
        said = eventually(lambda: [line for line in (tmp_path / "server.log").read_text().splitlines()
                                   if "stopped with" in line], 30)
    assert len(said) == 1 and "stopped with 6 questions answered but not recorded" in said[0]
    assert len(read(url)) == 1  # the question asked before the lock
