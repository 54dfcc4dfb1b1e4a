"""The question log, feedback and the owner's /insights page on the real server
(`python app.py` on loopback), with `assistant insights` and chromium reading them."""
from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from servers import PROJECT, app_server, eventually

from assistant.questionlog.logs import read

pytestmark = pytest.mark.slow

TOKEN = "owner-token-for-tests"
ARTIFACTS = PROJECT / "test-artifacts"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def insights_json(db: Path, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")} | {"PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-m", "assistant", "insights", "--json", "--db", str(db), *args],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("insights")
    with app_server(root, ASSISTANT_ADMIN_TOKEN=TOKEN) as base:
        yield SimpleNamespace(base=base, db=root / "data" / "questions.db")


@pytest.fixture(scope="module")
def seeded(server):
    """Readers ask two spellings of one question, one it can't answer, and rate one answer."""
    with httpx.Client(base_url=server.base, timeout=60) as client:
        client.get("/api/ask", params={"q": "what are crows feet"}).raise_for_status()
        client.post("/api/ask", json={"question": "what are crow's feet?"}).raise_for_status()
        client.get("/api/ask", params={"q": "What is the capital of France?"}).raise_for_status()
        sunscreen = client.post("/api/ask", json={"question": "Does sunscreen help?"}).json()
        collagen = client.post("/api/ask", json={"question": "What happens to collagen with age?"}).json()
        down = client.post("/api/feedback", json={"question_id": sunscreen["question_id"], "helpful": False,
                                                  "comment": "Which SPF should I use?"})
        up = client.post("/api/feedback", json={"question_id": collagen["question_id"], "helpful": True})
    assert (down.status_code, down.json(), up.status_code) == (200, {"recorded": True}, 200)
    return SimpleNamespace(sunscreen=sunscreen, collagen=collagen)


def test_feedback_appears_against_its_question_in_insights_json(server, seeded):
    report = insights_json(server.db)
    [unhelpful] = report["unhelpful_answers"]
    assert (unhelpful["id"], unhelpful["question"], unhelpful["comment"]) == (
        seeded.sunscreen["question_id"], "Does sunscreen help?", "Which SPF should I use?")
    assert unhelpful["passage_ids"] == [c["passage_id"] for c in seeded.sunscreen["citations"]]
    groups = {g["question"]: g for g in report["top_questions"]}
    assert (groups["Does sunscreen help?"]["unhelpful"], groups["What happens to collagen with age?"]["helpful"]) == (1, 1)
    assert (report["helpful"], report["unhelpful"], report["helpful_ratio"]) == (1, 1, 0.5)


def test_spellings_are_one_top_question_and_the_out_of_scope_one_is_a_gap(server, seeded):
    report = insights_json(server.db, "--days", "1")
    crows = report["top_questions"][0]
    assert crows["count"] == 2 and set(crows["variants"]) == {"what are crows feet", "what are crow's feet?"}
    assert [g["question"] for g in report["unanswered"]] == ["What is the capital of France?"]
    assert report["per_day"][-1]["questions"] == report["questions"] >= 5


def test_feedback_that_does_not_fit_is_refused(server, seeded):
    post = lambda body: httpx.post(f"{server.base}/api/feedback", json=body, timeout=30)  # noqa: E731
    unknown = post({"question_id": "f" * 32, "helpful": True})
    assert unknown.status_code == 404 and "No such question" in unknown.json()["error"]
    assert post({"question_id": seeded.sunscreen["question_id"], "helpful": "very"}).status_code == 422
    too_long = post({"question_id": seeded.sunscreen["question_id"], "helpful": False, "comment": "x" * 600})
    assert too_long.status_code == 422 and "under 500" in too_long.json()["error"]


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, basic("owner", "wrong"), {"Authorization": f"Token {TOKEN}"},
    {"Authorization": "Basic %%%not-base64"},
])
@pytest.mark.parametrize("path", ["/insights", "/insights/", "/insights/config", "/insights/gradio_api/info"])
def test_insights_is_refused_without_the_token(server, path, headers):
    response = httpx.get(server.base + path, headers=headers, timeout=30)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert "questions" not in response.text
    assert response.json()["error"].startswith("Sign in with the admin token")  # ours, not the page


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {TOKEN}"}, basic("owner", TOKEN)])
def test_insights_opens_with_the_token_and_is_never_cached(server, headers):
    response = httpx.get(f"{server.base}/insights/", headers=headers, timeout=30)
    assert response.status_code == 200 and "<gradio-app" in response.text
    assert response.headers["cache-control"] == "no-store"


LONG_QUESTION = ("Could you please explain, in as much detail as the article allows, " + "why" * 60 +
                 " the muscles around the eyes make crow's feet deeper over the years, and what to do about it?")


def test_the_insights_page_says_charts_need_more_questions_then_draws_them(server, seeded, browser):
    from axe import h1_count, violations
    from playwright.sync_api import Error, expect

    anonymous = browser.new_page()
    with pytest.raises(Error, match="ERR_INVALID_AUTH_CREDENTIALS"):  # headless: a 401 it can't prompt for
        anonymous.goto(f"{server.base}/insights/")
    anonymous.close()

    httpx.get(f"{server.base}/api/ask", params={"q": LONG_QUESTION}, timeout=60).raise_for_status()
    context = browser.new_context(http_credentials={"username": "owner", "password": TOKEN},
                                  viewport={"width": 1280, "height": 1000}, bypass_csp=True)  # to inject axe
    page = context.new_page()
    page.goto(f"{server.base}/insights/")
    asked = len(read(server.db))
    expect(page.locator("#charts-note")).to_have_text(f"{asked} questions so far; charts appear after 20.", timeout=60_000)
    for chart in ("#questions-per-day", "#answered-vs-refused", "#helpful-ratio"):
        expect(page.locator(chart)).to_be_hidden()  # no empty boxes
    expect(page.locator("#top-questions", has_text="what are crow")).to_be_visible()
    assert "capital of France" in page.locator("#unanswered").inner_text()
    unhelpful = page.locator("#unhelpful").inner_text()
    assert "Which SPF should I use?" in unhelpful and "Sun Protection" in unhelpful  # cited passages by section
    assert "helpful ratio 50%" in page.locator("#summary").inner_text()
    long_cell = page.locator("#top-questions td", has_text="Could you please explain")
    assert long_cell.get_attribute("title") == LONG_QUESTION  # the whole question on hover
    assert long_cell.inner_text().endswith("…") and len(long_cell.inner_text()) <= 160
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert violations(page) == [] and h1_count(page) == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "insights-empty.png"), full_page=True)
    dark = browser.new_context(http_credentials={"username": "owner", "password": TOKEN}, color_scheme="dark", bypass_csp=True)
    night = dark.new_page()
    night.goto(f"{server.base}/insights/")
    expect(night.locator("#top-questions table")).to_be_visible(timeout=60_000)
    assert violations(night) == []
    dark.close()

    with httpx.Client(base_url=server.base, timeout=60) as client:
        for n in range(20 - asked):
            client.get("/api/ask", params={"q": f"What do facial muscles do? ({n})"}).raise_for_status()
    page.reload()
    for chart in ("#questions-per-day", "#answered-vs-refused", "#helpful-ratio"):
        page.locator(f"{chart} canvas, {chart} svg").first.wait_for(timeout=60_000)
    expect(page.locator("#charts-note")).to_be_hidden()
    assert eventually(lambda: violations(page) == [])  # once the charts have settled (vega labels them as it draws)
    page.wait_for_timeout(500)  # let the charts finish their entry transition before the picture
    page.screenshot(path=str(ARTIFACTS / "insights.png"), full_page=True)
    context.close()


def test_questions_lost_to_a_locked_log_stay_on_the_page_after_recovery_until_dismissed(server, seeded, browser):
    from playwright.sync_api import expect

    server_log = server.db.parent.parent / "server.log"
    holder = sqlite3.connect(server.db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # the owner's own tool holding the log, say
    try:
        lost = httpx.get(f"{server.base}/api/ask", params={"q": "what is collagen"}, timeout=60)
        assert eventually(lambda: "database is locked" in server_log.read_text(), 30)  # the writer gave up on it
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert lost.status_code == 200
    kept = httpx.get(f"{server.base}/api/ask", params={"q": "what are crows feet"}, timeout=60).json()
    assert eventually(lambda: kept["question_id"] in {r.id for r in read(server.db)})  # recovered: the loss is in the log too

    context = browser.new_context(http_credentials={"username": "owner", "password": TOKEN})
    page = context.new_page()
    page.goto(f"{server.base}/insights/")
    summary = page.locator("#summary")
    expect(summary).to_contain_text("1 question answered but not recorded", timeout=60_000)
    expect(summary).to_contain_text("locked")
    page.locator("#dismiss-losses").click()
    expect(summary).not_to_contain_text("not recorded", timeout=120_000)
    expect(page.locator("#dismiss-losses")).to_have_count(0)
    page.reload()
    expect(summary).to_contain_text("helpful ratio", timeout=60_000)
    assert "not recorded" not in summary.inner_text()
    context.close()


def test_two_hundred_concurrent_questions_are_each_recorded_once(tmp_path):
    questions = [f"What do the muscles of facial expression do? (reader {i})" for i in range(200)]
    with app_server(tmp_path) as base, httpx.Client(timeout=120) as client, ThreadPoolExecutor(32) as pool:
        bodies = list(pool.map(lambda q: client.post(f"{base}/api/ask", json={"question": q}).json(), questions))
    rows = read(tmp_path / "data" / "questions.db")  # read after the server stopped: nothing still queued is lost
    assert sorted(r.id for r in rows) == sorted(b["question_id"] for b in bodies)
    assert Counter(r.question for r in rows) == Counter(questions)
    assert all(r.latency_ms > 0 and r.channel == "api" for r in rows)


def test_with_logging_off_nothing_is_written(tmp_path):
    with app_server(tmp_path, ASSISTANT_LOG_QUESTIONS="0") as base:
        body = httpx.get(f"{base}/api/ask", params={"q": "what are crows feet"}, timeout=60).json()
        feedback = httpx.post(f"{base}/api/feedback", json={"question_id": "a" * 32, "helpful": True}, timeout=30)
        insights = httpx.get(f"{base}/insights/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        config = httpx.get(f"{base}/config", timeout=30).json()
    [chat] = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "chat"]
    assert chat["props"]["likeable"] is False  # no thumbs in the chat: nowhere to record them
    assert body["answerable"] is True and "question_id" not in body
    assert feedback.status_code == 404 and "logging is off" in feedback.json()["error"]
    assert insights.status_code == 403  # no admin token on this server either
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "index", "server.log"]


def test_an_unwritable_log_never_breaks_an_answer(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log's folder should be")
    with app_server(tmp_path / "app", ASSISTANT_DB=str(blocker / "questions.db"), ASSISTANT_ADMIN_TOKEN=TOKEN) as base:
        answers = [httpx.get(f"{base}/api/ask", params={"q": q}, timeout=60) for q in ("what are crows feet", "what is collagen")]
        feedback = httpx.post(f"{base}/api/feedback", json={"question_id": answers[0].json()["question_id"], "helpful": True},
                              timeout=30)
        page = httpx.get(f"{base}/insights/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert [a.status_code for a in answers] == [200, 200] and answers[0].json()["answerable"] is True
    assert feedback.status_code == 503 and "try again later" in feedback.json()["error"]
    assert page.status_code == 200
    log = (tmp_path / "app" / "server.log").read_text()
    assert log.count("questions are not recorded until this is fixed") == 1 and "Traceback" not in log
