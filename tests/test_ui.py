"""The Gradio chat in a real browser (Debian's chromium driven by Playwright)."""
from __future__ import annotations

import shutil

import pytest
from servers import CHROMIUM, PROJECT, app_server, eventually, has_chromium

from assistant.questionlog import read

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not has_chromium(), reason=f"{CHROMIUM} missing: `make test` installs it (apt-get install chromium)")]
sync_api = pytest.importorskip("playwright.sync_api")
ARTIFACTS = PROJECT / "test-artifacts"
HOSTILE_ARTICLE = """Zebra Safety Notes

Zebra Stripes:

Zebra stripes: <img src=x onerror=alert(1)> and <script>alert(2)</script> and [click](javascript:alert(3)) are the zebra stripes test.
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("ui")


@pytest.fixture(scope="module")
def server(root):
    shutil.copytree(PROJECT / "corpus", root / "corpus")
    (root / "corpus" / "zebra.txt").write_text(HOSTILE_ARTICLE)
    with app_server(root) as base:
        yield base


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    page.close()


def ask(page, question: str, wait_for: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_selector(wait_for, timeout=30_000)


def test_a_question_gets_an_answer_with_a_citation_link(page, server):
    page.goto(server, wait_until="load")
    ask(page, "What are crow's feet?", "#chat a[href*='dynamic-wrinkles']")
    chat = page.locator("#chat")
    assert "Common examples include crow's feet around the eyes" in chat.inner_text()
    assert "from 2 articles, 12 passages" in page.locator("#freshness").inner_text()
    assert chat.locator("mark", has_text="Common examples include crow's feet").count() >= 1
    link = chat.locator("a[href*='dynamic-wrinkles']").first
    href = link.get_attribute("href")
    assert href.startswith("/articles/") and ":~:text=" in href
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-desktop.png"))

    with page.context.expect_page() as opened:
        link.click()
    article = opened.value
    article.wait_for_load_state()
    assert article.locator("#dynamic-wrinkles").count() == 1
    article.close()


def test_a_thumbs_up_is_recorded_against_its_question(page, server, root):
    page.goto(server, wait_until="load")
    question = "What happens to collagen as we age?"
    ask(page, question, "#chat a[href*='articles']")
    page.locator("#chat button[aria-label='Like']").last.click()
    rows = eventually(lambda: [r for r in read(root / "data" / "questions.db") if r.question == question and r.helpful is not None])
    assert [(r.helpful, r.channel, r.answerable) for r in rows] == [(True, "chat", True)]


def test_a_follow_up_uses_the_conversation(page, server):
    page.goto(server, wait_until="load")
    ask(page, "What are crow's feet?", "#chat a[href*='dynamic-wrinkles']")
    ask(page, "do they go away when I relax?", "#chat em:has-text('About Dynamic Wrinkles')")
    last_answer = page.locator("#chat em:has-text('About Dynamic Wrinkles')").locator("xpath=ancestor::*[.//p][1]").inner_text()
    assert last_answer.index("disappear when the muscles are at rest") < last_answer.index("[1]")  # quoted, not only cited
    assert page.dialogs == []


def test_a_follow_up_says_in_the_chat_what_it_was_taken_to_be_about(page, server):
    page.goto(server, wait_until="load")
    ask(page, "What are static wrinkles?", "#chat a[href*='static-wrinkles']")
    ask(page, "where do they show up?", "#chat em:has-text('About Static Wrinkles')")
    assert "nasolabial folds" in page.locator("#chat").inner_text()


def test_xss_in_a_question_renders_as_text(page, server):
    page.goto(server, wait_until="load")
    payload = "<img src=x onerror=alert(1)> <script>alert(2)</script> crow's feet"
    ask(page, payload, "#chat a[href*='dynamic-wrinkles']")
    chat = page.locator("#chat")
    assert "<img src=x onerror=alert(1)>" in chat.inner_text()
    assert chat.locator("img[src='x']").count() == 0
    assert chat.locator("script").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []


def test_xss_inside_an_article_renders_as_text(page, server):
    page.goto(server, wait_until="load")
    ask(page, "zebra stripes", "#chat a[href*='zebra']")
    chat = page.locator("#chat")
    text = chat.inner_text()
    assert "<img src=x onerror=alert(1)>" in text and "<script>alert(2)</script>" in text
    assert chat.locator("img[src='x']").count() == 0
    assert chat.locator("a[href^='javascript']").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []


def test_usable_at_phone_width(browser, server):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(server, wait_until="load")
    ask(page, "does sunscreen help?", "#chat a[href*='sun-protection']")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-phone.png"))
    page.close()
