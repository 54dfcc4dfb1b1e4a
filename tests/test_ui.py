"""The Gradio chat and the article page in a real browser (Debian's chromium driven by
Playwright): answer first and in view, only quoted sources highlighted, links that land
on their sentence, a conversation that clears, thumbs, chips and follow-ups that send,
plain-text copy, markup kept inert, and axe-core's critical/serious rules."""
from __future__ import annotations

import io
import re
import shutil

import httpx
import pytest
from axe import h1_count, violations
from servers import CHROMIUM, PROJECT, app_server, eventually, has_chromium, missing

from assistant.answer.fragments import Linker
from assistant.content.corpus import load_corpus
from assistant.content.passages import passages_of_all
from assistant.questionlog.logs import read
from assistant.records import Citation

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not has_chromium(), reason=missing(f"chromium ({CHROMIUM})", "chromium"))]
sync_api = pytest.importorskip("playwright.sync_api", reason=missing("the playwright package"))
expect = sync_api.expect
ARTIFACTS = PROJECT / "test-artifacts"
SLUG = "facial-expression-muscles-and-wrinkles"
HOSTILE_ARTICLE = """Zebra Safety Notes

Zebra Stripes:

Zebra stripes: <img src=x onerror=alert(1)> and <script>alert(2)</script> and [click](javascript:alert(3)) are the zebra stripes test.
"""
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("ui")


@pytest.fixture(scope="module")
def server(root):
    shutil.copytree(PROJECT / "corpus", root / "corpus")
    (root / "corpus" / "zebra.txt").write_text(HOSTILE_ARTICLE)
    with app_server(root) as base:
        yield base


@pytest.fixture(scope="module", params=list(VIEWPORTS))
def screen(request, browser):
    """One browser context per screen size for the whole module (pages are cheap)."""
    phone = request.param == "phone"
    context = browser.new_context(viewport=VIEWPORTS[request.param], is_mobile=phone, has_touch=phone)
    yield request.param, context
    context.close()


@pytest.fixture(scope="module")
def desktop(browser, server):
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    yield context
    context.close()


@pytest.fixture
def page(desktop):
    page = desktop.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    page.close()


def answers(page):
    return page.locator("#chat .message-row.bot-row")


def buttons_under(page, n: int):
    """The copy and thumbs buttons Gradio draws under the n-th answer (a sibling of it)."""
    return page.locator("#chat .message-buttons-left").nth(n)


def follow_ups(page):
    """The suggested follow-ups under the newest answer."""
    return page.locator("#chat .options button.option")


def ask(page, question: str) -> None:
    """Types a question, presses Enter and waits for its answer (one more bot message)."""
    before = answers(page).count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    expect(answers(page)).to_have_count(before + 1, timeout=120_000)


def open_chat(page, server) -> None:
    page.goto(server, wait_until="load")
    expect(page.locator("#question textarea")).to_be_editable()


def first_line_in_view(page, answer) -> bool:
    """The top of the answer's first paragraph is inside both the window and the chat's scroll area."""
    return answer.locator("p").first.evaluate("""p => {
        const top = p.getBoundingClientRect().top, line = top + 20;
        const area = p.closest('[role=log]').getBoundingClientRect();
        return top >= Math.max(0, area.top) && line <= Math.min(window.innerHeight, area.bottom);
    }""")


def test_three_questions_in_a_row_each_answer_starts_in_view(screen, server):
    name, context = screen
    page = context.new_page()
    open_chat(page, server)
    for question in ("What are crow's feet?", "What does elastin do?", "Does sunscreen help?"):
        ask(page, question)
        answer = answers(page).last
        assert eventually(lambda: first_line_in_view(page, answer), timeout=5), f"{name}: the answer to {question!r} is out of view"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"))
    page.close()


def test_answer_first_then_the_quoted_sources_highlighted_then_related_collapsed(page, server):
    open_chat(page, server)
    ask(page, "What does elastin do?")
    answer = answers(page).last
    first = answer.locator("p").first
    expect(first).to_contain_text("elastin allows the skin to return to its original shape")
    ref = first.get_by_role("link", name="[1]")
    quoted = answer.locator("a", has_text="The Role of Collagen and Elastin").first
    assert ref.get_attribute("href") == quoted.get_attribute("href")  # [1] links to its source
    related = answer.locator("details")
    expect(related.locator("summary")).to_have_text(re.compile(r"Related passages, not quoted \(\d\)"))
    assert related.evaluate("d => !d.open")
    expect(answer.locator("mark")).to_have_count(1)  # one quoted source: one highlight
    expect(related.locator("mark")).to_have_count(0)
    expect(answer.locator("mark")).to_contain_text("Collagen provides structural support")


def test_a_citation_link_opens_the_article_at_its_sentence(page, server):
    open_chat(page, server)
    ask(page, "What are crow's feet?")
    chat = page.locator("#chat")
    assert "from 2 articles, 12 passages" in page.locator("#freshness").inner_text()
    link = chat.locator("a[href*='dynamic-wrinkles']", has_text="Dynamic Wrinkles").first
    href = link.get_attribute("href")
    assert href.startswith(f"/articles/{SLUG}#dynamic-wrinkles:~:text=")
    with page.context.expect_page() as opened:
        link.click()
    article = opened.value
    article.wait_for_load_state()
    assert article.locator("#dynamic-wrinkles").count() == 1
    article.close()


# ::target-text is how the browser paints the text a fragment selected: paint it magenta,
# then find the magenta rows in a screenshot of the window (scrolled to the match).
TARGET_STYLE = """document.addEventListener("DOMContentLoaded", () => {
  const style = document.createElement("style");
  style.textContent = "::target-text { background: #ff00ff !important; color: #00ff00 !important }";
  document.head.appendChild(style);
});"""
SENTENCE_ROWS = """sentence => {
  for (const p of document.querySelectorAll("main p")) {
    const text = p.firstChild, at = text.data.indexOf(sentence);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(text, at);
    range.setEnd(text, at + sentence.length);
    const rects = range.getClientRects();
    return [rects[0].top, rects[rects.length - 1].bottom];
  }
  return null;
}"""


def magenta_rows(page) -> tuple[int, int] | None:
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"))  # the browser scrolls to the match
    rows = np.flatnonzero((pixels == (255, 0, 255)).all(axis=2).any(axis=1))
    return (int(rows[0]), int(rows[-1])) if len(rows) else None


def test_every_sentences_link_highlights_that_sentence_in_chromium(browser, server, root):
    """Every sentence of the bundled article, cited: Chromium's own highlight on the served
    article page covers exactly that sentence's lines (not an earlier match)."""
    documents, _ = load_corpus(root / "corpus")
    passages = [p for p in passages_of_all(documents) if p.doc_slug == SLUG]
    linker = Linker(passages)
    context = browser.new_context(viewport={"width": 800, "height": 600})
    context.add_init_script(TARGET_STYLE)
    page = context.new_page()
    checked = []
    for passage in passages:
        for start, end in passage.sentences:
            url = linker.url(Citation(1, passage.doc_title, passage.section_path, passage.url, passage.text, 1.0,
                                      passage.id, (start, end)))
            page.goto("about:blank")  # a fragment is applied when a document loads, not on a same-page jump
            page.goto(server + url)
            painted = eventually(lambda: magenta_rows(page), timeout=10)
            top, bottom = page.evaluate(SENTENCE_ROWS, passage.text[start:end])
            assert painted and abs(painted[0] - top) <= 4 and abs(painted[1] - bottom) <= 4, (url, painted, (top, bottom))
            checked.append(url)
    context.close()
    assert len(checked) == 27


def test_a_follow_up_uses_the_conversation(page, server):
    open_chat(page, server)
    ask(page, "What are crow's feet?")
    ask(page, "do they go away when I relax?")
    answer = answers(page).last
    expect(answer.locator("em", has_text="About Dynamic Wrinkles")).to_be_visible()
    expect(answer.locator("p").nth(1)).to_contain_text("disappear when the muscles are at rest")  # quoted, not only cited
    assert page.dialogs == []


def test_a_thumb_is_recorded_against_the_answer_it_sits_under(page, server, root):
    def rated(question: str):
        return eventually(lambda: [r.helpful for r in read(root / "data" / "questions.db")
                                   if r.question == question and r.helpful is not None])

    open_chat(page, server)
    ask(page, "What happens to collagen as we age?")
    ask(page, "How do facial exercises help?")
    buttons_under(page, 0).get_by_role("button", name="Like", exact=True).click()
    assert rated("What happens to collagen as we age?") == [True]
    buttons_under(page, 1).get_by_role("button", name="Dislike", exact=True).click()
    assert rated("How do facial exercises help?") == [False]
    page.get_by_role("button", name="Clear").click()  # the chat's trash icon: thumbs after it still bind right
    expect(answers(page)).to_have_count(0)
    ask(page, "How does sunscreen protect the skin?")
    buttons_under(page, 0).get_by_role("button", name="Like", exact=True).click()
    assert rated("How does sunscreen protect the skin?") == [True]
    assert rated("What happens to collagen as we age?") == [True]  # not moved onto the first question


@pytest.mark.parametrize("clear", ["Clear", "New conversation"])
def test_clearing_the_chat_makes_the_next_question_standalone(page, server, clear):
    open_chat(page, server)
    ask(page, "What are static wrinkles?")
    ask(page, "where do they show up?")
    expect(answers(page).last.locator("em", has_text="About Static Wrinkles")).to_be_visible()  # a follow-up here
    page.get_by_role("button", name=clear, exact=True).click()
    expect(answers(page)).to_have_count(0)
    ask(page, "where do they show up?")
    expect(answers(page).last).not_to_contain_text("About Static Wrinkles")
    expect(answers(page).last).to_contain_text("doesn't")  # alone, it is refused


def test_example_chips_send_at_once(page, server):
    open_chat(page, server)
    chips = page.locator("#chat button.example")
    expect(chips).to_have_count(3)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-empty.png"))
    chips.filter(has_text="Tell me about sun protection").click()
    expect(answers(page)).to_have_count(1, timeout=120_000)
    expect(page.locator("#chat .user-row")).to_have_text("Tell me about sun protection")
    expect(answers(page).last.locator("mark").first).to_contain_text("sunscreen")


def test_follow_ups_offer_nearby_sections_not_yet_asked_and_send(page, server):
    open_chat(page, server)
    ask(page, "What are dynamic wrinkles?")  # quotes Dynamic Wrinkles and the Static Wrinkles paragraph after it
    options = follow_ups(page)
    expect(options).to_have_text(["Tell me about the role of collagen and elastin",  # the nearest sections not yet read
                                  "Tell me about preventing and reducing facial expression wrinkles",
                                  "Tell me about facial expression muscles"])
    options.first.click()
    expect(answers(page)).to_have_count(2, timeout=120_000)
    expect(answers(page).last.locator("mark").first).to_contain_text("Collagen")
    expect(page.locator("#chat .options")).to_have_count(1)  # only the newest answer offers them
    later = " ".join(follow_ups(page).all_inner_texts()).lower()
    assert later and not any(read in later for read in ("dynamic wrinkles", "static wrinkles", "collagen"))


def test_copy_gives_the_answer_and_its_sources_as_plain_text(page, server):
    """The clipboard holds the answer as /api/ask gives it, a blank line, then one
    `[n] Section — URL` line per quoted source, its link absolute: nothing else."""
    open_chat(page, server)
    ask(page, "What are crow's feet?")
    buttons_under(page, 0).get_by_role("button", name="Copy message").click()
    copied = eventually(lambda: page.evaluate("navigator.clipboard.readText()"))
    answer = httpx.get(f"{server}/api/ask", params={"q": "What are crow's feet?"}, timeout=60).json()
    sources = [c for c in answer["citations"] if c["quoted"]]
    assert answer["answer"].startswith("Dynamic Wrinkles: These wrinkles are formed") and sources
    assert copied == "\n".join([answer["answer"], ""] + [f"[{c['n']}] {c['section']} — {server}{c['url']}" for c in sources])
    assert re.fullmatch(rf"\[1\] Types of Wrinkles Associated with Facial Expressions › Dynamic Wrinkles — {re.escape(server)}/articles/{SLUG}#dynamic-wrinkles:~:text=\S+",
                        copied.splitlines()[2])
    assert "\\" not in copied and "<mark>" not in copied and "**" not in copied


def test_xss_in_a_question_renders_as_text(page, server):
    open_chat(page, server)
    payload = "<img src=x onerror=alert(1)> <script>alert(2)</script> crow's feet"
    ask(page, payload)
    chat = page.locator("#chat")
    expect(chat.locator("a[href*='dynamic-wrinkles']").first).to_be_attached()
    assert "<img src=x onerror=alert(1)>" in chat.inner_text()
    assert chat.locator("img[src='x']").count() == 0
    assert chat.locator("script").count() == 0
    page.wait_for_timeout(500)  # give a (wrongly) created <img> time to fail and fire onerror
    assert page.dialogs == []


def test_xss_inside_an_article_renders_as_text(page, server):
    open_chat(page, server)
    ask(page, "zebra stripes")
    chat = page.locator("#chat")
    expect(chat.locator("a[href*='zebra']").first).to_be_attached()
    text = chat.inner_text()
    assert "<img src=x onerror=alert(1)>" in text and "<script>alert(2)</script>" in text
    assert chat.locator("img[src='x']").count() == 0
    assert chat.locator("a[href^='javascript']").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_chat_and_the_article_page_pass_axe_with_one_h1(browser, server, scheme):
    context = browser.new_context(viewport=VIEWPORTS["desktop"], color_scheme=scheme, bypass_csp=True)  # to inject axe
    page = context.new_page()
    open_chat(page, server)
    ask(page, "What does elastin do?")
    assert violations(page) == [] and h1_count(page) == 1
    page.goto(f"{server}/articles/{SLUG}")
    assert violations(page, impacts=("critical", "serious", "moderate")) == [] and h1_count(page) == 1
    context.close()


def test_the_title_and_the_ask_button_use_one_system_font_and_no_web_font(page, server):
    open_chat(page, server)
    families = page.evaluate("""async () => { await document.fonts.ready;
        return { loaded: [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family),
                 title: getComputedStyle(document.querySelector('h1')).fontFamily,
                 button: getComputedStyle(document.querySelector('#ask')).fontFamily }; }""")
    assert families["loaded"] == []  # Source Sans Pro's 400/600 faces mixed with a synthesised bold: "Ask" had two fonts
    assert families["title"] == families["button"] and families["title"].startswith("system-ui")


def test_on_a_phone_the_scroll_down_arrow_covers_no_answer_text(browser, server):
    context = browser.new_context(viewport=VIEWPORTS["phone"], is_mobile=True, has_touch=True)
    page = context.new_page()
    open_chat(page, server)
    for question in ("Why do wrinkles form?", "Does sunscreen help?"):
        ask(page, question)
    page.locator("#chat [role=log]").evaluate("log => log.scrollTo(0, log.scrollHeight / 3)")
    arrow = page.locator("#chat .scroll-down-button-container button")
    expect(arrow).to_be_visible()
    box = arrow.bounding_box()
    covered = page.evaluate("""([x, y, w, h]) => [...document.querySelectorAll('#chat .message-row.bot-row .message p')]
        .map(p => p.getBoundingClientRect()).filter(r => r.height > 0 &&
            r.left < x + w && x < r.right && r.top < y + h && y < r.bottom).length""",
                            [box["x"], box["y"], box["width"], box["height"]])
    context.close()
    assert covered == 0
