"""Rate limits as a reader meets them, on a server allowing 3 questions a minute: loading
pages costs none, and a spent budget reads "try again in N s" in the chat and in the
widget, with the question kept for a retry."""
from __future__ import annotations

import re

import httpx
import pytest
from servers import CHROMIUM, PROJECT, app_server, has_chromium, missing

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not has_chromium(), reason=missing(f"chromium ({CHROMIUM})", "chromium"))]
sync_api = pytest.importorskip("playwright.sync_api", reason=missing("the playwright package"))
expect = sync_api.expect
ARTIFACTS = PROJECT / "test-artifacts"
LIMIT = 3
WAIT = re.compile(r"Too many questions right now; try again in \d+ s\.")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory.mktemp("limits"), ASSISTANT_RATE_LIMIT=f"{LIMIT}/minute") as base:
        yield base


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


def test_loading_pages_the_health_check_and_static_files_use_up_no_question(server, page):
    for _ in range(LIMIT + 2):
        page.goto(server)
        expect(page.locator("#freshness")).to_contain_text("Index built")  # the page's load event has run
        page.goto(f"{server}/embed")
        expect(page.locator(".fresh")).to_contain_text("Updated")  # the widget's own health check
    for path in ("/healthz", "/widget.js", "/embed", "/chat.js", "/api/examples", "/articles/facial-expression-muscles-and-wrinkles"):
        assert httpx.get(server + path).status_code == 200
    with httpx.Client(base_url=server) as client:
        asked = [client.get("/api/ask", params={"q": "What is collagen?"}).status_code for _ in range(LIMIT + 1)]
    assert asked == [200] * LIMIT + [429]  # the whole budget was still there


def test_a_spent_budget_in_the_chat_says_when_to_try_again_and_keeps_the_question(server, page):
    with httpx.Client(base_url=server) as client:  # one budget: questions on the API spend the chat's too
        while client.get("/api/ask", params={"q": "What is elastin?"}).status_code != 429:
            pass
    page.goto(server)
    box = page.locator("#question textarea")
    box.fill("Does sunscreen help?")
    box.press("Enter")
    expect(page.locator("#notice")).to_contain_text(WAIT, timeout=120_000)
    expect(page.get_by_role("alert")).to_contain_text("Too many questions right now")
    expect(box).to_have_value("Does sunscreen help?")
    expect(page.locator("#chat .message-row")).to_have_count(0)  # no error pill, nothing added
    before = page.locator("#notice").inner_text().strip()
    expect(page.locator("#notice")).not_to_have_text(before, timeout=5_000)  # it counts down
    expect(page.locator("#notice")).to_contain_text(WAIT)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-limited.png"))


def test_a_spent_budget_in_the_widget_says_when_to_try_again_and_keeps_the_question(server, page):
    with httpx.Client(base_url=server) as client:  # this reader has asked a lot already
        while client.get("/api/ask", params={"q": "What is elastin?"}).status_code != 429:
            pass
    page.set_viewport_size({"width": 400, "height": 560})  # as an iframe on a blog shows it
    page.goto(f"{server}/embed")
    box = page.get_by_role("textbox", name="Your question")
    box.fill("Does sunscreen help?")
    box.press("Enter")
    error = page.locator(".msg.error")
    expect(error).to_contain_text(WAIT, timeout=120_000)
    expect(error.get_by_role("button", name="Retry")).to_be_disabled()
    expect(box).to_have_value("Does sunscreen help?")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-limited.png"))
