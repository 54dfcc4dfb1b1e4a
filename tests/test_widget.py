"""The embeddable widget in a real browser: a static "blog" on one loopback origin
embeds /widget.js from the app on another, as a blog owner would paste it.
A third origin, not in ASSISTANT_ALLOWED_ORIGINS, shows what CORS and
frame-ancestors refuse."""
from __future__ import annotations

import json
import re
import shutil
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest
from axe import h1_count, violations
from servers import (
    CHROMIUM,
    PROJECT,
    app_server,
    eventually,
    has_chromium,
    missing,
    static_server,
)

from assistant.content.article_page import article_blocks, article_html
from assistant.content.corpus import load_corpus
from assistant.content.passages import passages_of_all
from assistant.questionlog.logs import read

sync_api = pytest.importorskip("playwright.sync_api", reason=missing("the playwright package"))
expect = sync_api.expect

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not has_chromium(), reason=missing(f"chromium ({CHROMIUM})", "chromium"))]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TITLE = "Ask the wrinkles article"
EXAMPLES = "What are crow's feet?|Does sunscreen help?"
HOSTILE_CSS = ("* { color: red !important; font-size: 40px !important; font-family: serif !important }"
               " button { display: none !important } div { border: 5px dashed lime !important }")
ARTICLE = ("<h1>Why we wrinkle</h1><p>Every smile and frown folds the skin a little. Over years the folds"
           " stay, and the article below explains which muscles are to blame.</p>")


def page_html(body: str, css: str = "") -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>Blog</title>'
            f"<style>body{{font:18px/1.6 Georgia,serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}{css}</style>"
            f"</head><body>{body}</body></html>")


def widget_tag(app: str, **data: str) -> str:
    attributes = "".join(f' data-{k}="{v}"' for k, v in data.items())
    return f'<script src="{app}/widget.js"{attributes} defer></script>'


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The app (allowing only the blog's origin), the blog (which publishes the article at
    /article.html, the URL the corpus knows it by), and an unlisted origin."""
    root = tmp_path_factory.mktemp("widget")
    blog_dir, other_dir = root / "blog", root / "other"
    blog_dir.mkdir()
    other_dir.mkdir()
    with ExitStack() as stack:
        blog = stack.enter_context(static_server(blog_dir))
        other = stack.enter_context(static_server(other_dir))
        corpus = root / "app" / "corpus"
        shutil.copytree(PROJECT / "corpus", corpus)
        meta = corpus / "facial-expression-muscles-and-wrinkles.meta.json"
        meta.write_text(json.dumps(json.loads(meta.read_text()) | {"url": f"{blog}/article.html"}))
        app = stack.enter_context(app_server(root / "app", ASSISTANT_ALLOWED_ORIGINS=blog))
        tag = widget_tag(app, title=TITLE, examples=EXAMPLES)
        passages = passages_of_all(load_corpus(corpus)[0])
        article = article_html(article_blocks(passages, passages[0].doc_slug))  # the post as the blog shows it
        (blog_dir / "article.html").write_text(article.replace("</body>", widget_tag(app, title=TITLE) + "</body>"))
        (blog_dir / "blog.html").write_text(page_html(ARTICLE + tag, HOSTILE_CSS))
        (blog_dir / "plain.html").write_text(page_html(ARTICLE * 6 + tag))
        (blog_dir / "options.html").write_text(page_html(ARTICLE + widget_tag(
            app, title=TITLE, examples=EXAMPLES, position="left", theme="dark", open="true",
            accent="red;}:host{display:none")))
        (blog_dir / "accent.html").write_text(page_html(ARTICLE + widget_tag(app, title=TITLE, accent="#0a7d45")))
        (blog_dir / "frame.html").write_text(page_html(f'{ARTICLE}<iframe src="{app}/embed" width="360" height="600"></iframe>'))
        (other_dir / "fetch.html").write_text(page_html(
            "<p>Not an allowed origin.</p><script>window.__result = null;"
            f"fetch({json.dumps(app + '/api/ask?q=collagen')}).then(r => r.text()).then("
            "t => { window.__result = {ok: true, text: t}; },"
            "e => { window.__result = {ok: false, error: String(e)}; });</script>" + tag))
        (other_dir / "frame.html").write_text(page_html(f'<iframe src="{app}/embed" width="360" height="600"></iframe>'))
        yield SimpleNamespace(app=app, blog=blog, other=other, db=root / "app" / "data" / "questions.db")


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


def open_widget(page, url: str):
    """Loads a page with the widget and opens it; returns (launcher, dialog)."""
    page.goto(url)
    launcher = page.get_by_role("button", name=TITLE)
    launcher.click()
    dialog = page.get_by_role("dialog", name=TITLE)
    expect(dialog).to_be_visible()
    return launcher, dialog


def ask(scope, question: str) -> None:
    """Types a question, presses Enter and waits until its answer (or error) replaced the "…"."""
    box = scope.get_by_role("textbox", name="Your question")
    box.fill(question)
    box.press("Enter")
    expect(scope.locator(".msg.user").last).to_have_text(question)
    expect(scope.locator(".msg[aria-label]")).to_have_count(0, timeout=120_000)


def shadow_count(page, selector: str) -> int:
    return page.evaluate("s => document.querySelector('article-assistant').shadowRoot.querySelectorAll(s).length", selector)


def test_crows_feet_answer_links_each_quote_to_its_sentence_on_the_blog(sites, context, page):
    launcher, dialog = open_widget(page, f"{sites.blog}/blog.html")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(dialog.locator(".fresh")).to_contain_text(re.compile(r"Updated \d{4}-\d\d-\d\d · 1 article, 11 passages"))
    ask(dialog, "What are crow's feet?")

    answer = dialog.locator(".msg.bot").last
    expect(answer).to_contain_text("crow's feet")
    expect(answer.locator("mark").first).to_contain_text("crow's feet")
    link = answer.get_by_role("link", name=re.compile("Dynamic Wrinkles"))
    href = link.get_attribute("href")
    # the article's public URL (the corpus knows it), with the section anchor and the sentence
    assert href.startswith(f"{sites.blog}/article.html#dynamic-wrinkles:~:text=")
    assert link.get_attribute("target") == "_blank" and link.get_attribute("rel") == "noopener"
    expect(answer.get_by_role("link", name="Source 1")).to_have_attribute("href", href)  # [1] in the text links there too
    expect(answer.locator(".cites li")).to_have_count(answer.locator("mark").count())  # only quoted sources, each marked

    responses = []
    context.on("response", lambda response: responses.append(response))
    with context.expect_page() as opened:
        link.click()
    article = opened.value
    article.wait_for_load_state()
    assert article.url.split("#")[0] == href.split("#")[0]
    assert [r.status for r in responses if r.url == href.split("#")[0]] == [200]
    expect(article.locator("#dynamic-wrinkles")).to_be_attached()


def test_a_follow_up_says_quietly_what_it_was_taken_to_be_about(sites, page):
    _, dialog = open_widget(page, f"{sites.blog}/blog.html")
    ask(dialog, "What are static wrinkles?")
    expect(dialog.locator(".msg.bot").last.locator(".about")).to_have_count(0)
    ask(dialog, "where do they show up?")
    answer = dialog.locator(".msg.bot").last
    expect(answer.locator(".about")).to_have_text("About Static Wrinkles")
    expect(answer).to_contain_text("nasolabial folds")


def test_thumbs_down_and_a_comment_are_recorded_against_the_question(sites, page):
    _, dialog = open_widget(page, f"{sites.blog}/blog.html")
    question = "How does sunscreen protect the skin?"
    ask(dialog, question)
    rating = dialog.locator(".msg.bot").last.get_by_role("group", name="Was this answer helpful?")
    rating.get_by_role("button", name="Not helpful").click()  # a cross-origin POST: CORS allows the blog
    expect(rating.get_by_role("button", name="Not helpful")).to_have_attribute("aria-pressed", "true")
    expect(rating.get_by_role("status")).to_have_text("Thanks!")
    comment = rating.get_by_role("textbox", name="What was missing?")
    comment.fill("Which SPF should I use?")
    rating.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-feedback.png"))
    comment.press("Enter")
    expect(rating.get_by_role("status")).to_have_text("Thanks, noted.")
    expect(comment).to_have_count(0)
    rows = eventually(lambda: [r for r in read(sites.db) if r.question == question and r.comment])
    assert [(r.helpful, r.comment, r.channel) for r in rows] == [(False, "Which SPF should I use?", "api")]


def test_hostile_blog_css_neither_hides_nor_restyles_the_widget(sites, page):
    _, dialog = open_widget(page, f"{sites.blog}/blog.html")
    intro = dialog.locator(".intro")
    style = intro.evaluate("e => { const s = getComputedStyle(e); return [s.fontSize, s.color, s.borderTopStyle]; }")
    assert style[0] != "40px" and style[1] != "rgb(255, 0, 0)" and style[2] == "none"
    # ...and ours does not leak out: the blog's own heading keeps the blog's (hostile) look.
    assert page.locator("h1").evaluate("e => getComputedStyle(e).fontSize") == "40px"


def test_example_chips_ask_their_question(sites, page):
    _, dialog = open_widget(page, f"{sites.blog}/blog.html")
    dialog.get_by_role("button", name="Does sunscreen help?").click()
    expect(dialog.locator(".msg[aria-label]")).to_have_count(0, timeout=120_000)
    expect(dialog.locator(".msg.user")).to_have_text(["Does sunscreen help?"])
    expect(dialog.locator(".cites a").first).to_be_visible()


def test_questions_with_markup_stay_text(sites, page):
    alerts = []
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    _, dialog = open_widget(page, f"{sites.blog}/blog.html")
    payloads = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>"]
    for question in payloads:
        ask(dialog, question)
    expect(dialog.locator(".msg.user")).to_have_text(payloads)
    page.wait_for_timeout(300)  # give a (wrongly) created <img> time to fail and fire onerror
    assert alerts == []
    assert shadow_count(page, ".log img, .log script") == 0


def test_passage_markup_and_unsafe_urls_from_the_api_stay_inert(sites, page):
    """A hostile API answer (as if the article held markup) renders as text; a javascript: URL is no link."""
    alerts = []
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    passage = "Before <img src=x onerror=alert(3)> quoted <b>bold</b> after."
    body = {"question": "q", "answerable": True, "answer": "<script>alert(4)</script> [1] [2]", "index_version": "t",
            "citations": [
                {"n": 1, "doc_title": "T", "section": "<i>Sec</i>", "url": "javascript:alert(5)", "text": passage,
                 "score": 1.0, "passage_id": "p#1", "highlight": [7, 35]},
                {"n": 2, "doc_title": "T", "section": "Rel", "url": "/articles/x#rel", "text": "plain", "score": 0.5,
                 "passage_id": "p#2", "highlight": [0, 99]}]}
    page.route(f"{sites.app}/api/ask", lambda route: route.fulfill(json=body))
    page.goto(f"{sites.app}/embed")
    ask(page, "anything")
    answer = page.locator(".msg.bot").last
    expect(answer).to_contain_text("<script>alert(4)</script> [1] [2]")
    expect(answer.locator("mark").first).to_have_text(passage[7:35])
    expect(answer.get_by_role("link")).to_have_count(2)  # [2] in the text and its source; never the javascript: one
    for link in answer.get_by_role("link").all():
        assert link.get_attribute("href") == f"{sites.app}/articles/x#rel"
    expect(answer.locator("strong")).to_have_text("[1] <i>Sec</i>")
    page.wait_for_timeout(300)
    assert alerts == []
    assert shadow_count(page, ".log img, .log script, .log b, .log i") == 0


def test_keyboard_newline_escape_and_focus_return(sites, page):
    page.goto(f"{sites.blog}/blog.html")
    launcher = page.get_by_role("button", name=TITLE)
    launcher.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=TITLE)
    box = dialog.get_by_role("textbox", name="Your question")
    expect(box).to_be_focused()

    box.press_sequentially("first")
    box.press("Shift+Enter")
    box.press_sequentially("second")
    expect(box).to_have_value("first\nsecond")
    expect(dialog.locator(".msg.user")).to_have_count(0)

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_be_focused()
    assert launcher.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # a visible focus ring


def test_data_options_position_theme_open_and_accent(sites, page):
    page.goto(f"{sites.blog}/options.html")
    dialog = page.get_by_role("dialog", name=TITLE)
    expect(dialog).to_be_visible()  # data-open="true", no click
    launcher = page.get_by_role("button", name=TITLE)
    assert launcher.bounding_box()["x"] < 100  # data-position="left"
    # An accent that is not a colour is ignored, not injected into the stylesheet.
    assert launcher.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(36, 88, 211)"
    assert dialog.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(24, 27, 34)"  # data-theme="dark"

    page.goto(f"{sites.blog}/accent.html")
    launcher = page.get_by_role("button", name=TITLE)
    assert launcher.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(10, 125, 69)"
    expect(page.get_by_role("dialog", name=TITLE)).to_be_hidden()


def test_an_origin_not_allowed_cannot_read_answers(sites, page):
    page.goto(f"{sites.other}/fetch.html")
    page.wait_for_function("window.__result !== null")
    result = page.evaluate("window.__result")
    assert result["ok"] is False and "TypeError" in result["error"]
    assert "text" not in result  # nothing of the answer reached the page

    # The widget pasted on such a page says so; the console names the setting to change.
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.get_by_role("button", name=TITLE).click()
    dialog = page.get_by_role("dialog", name=TITLE)
    ask(dialog, "What is collagen?")
    expect(dialog.locator(".msg.error")).to_contain_text("This site isn't allowed to use the assistant yet.")
    expect(dialog.locator(".cites")).to_have_count(0)
    expect(dialog.get_by_role("textbox", name="Your question")).to_have_value("What is collagen?")
    assert any(sites.other in line and "ASSISTANT_ALLOWED_ORIGINS" in line for line in console), console


def test_embed_answers_inside_an_iframe_on_an_allowed_origin(sites, page):
    page.goto(f"{sites.blog}/frame.html")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("dialog", name="Ask this article")).to_be_visible()
    expect(frame.locator(".launcher")).to_have_count(0)
    ask(frame, "What are crow's feet?")
    link = frame.get_by_role("link", name=re.compile("Dynamic Wrinkles"))
    expect(link).to_be_visible()
    assert link.get_attribute("href").startswith(f"{sites.blog}/article.html#dynamic-wrinkles:~:text=")
    form = frame.locator("form").bounding_box()
    assert form["width"] <= 360


def test_embed_is_refused_in_a_frame_on_another_origin(sites, page):
    page.goto(f"{sites.other}/frame.html")
    page.wait_for_load_state("load")
    child = page.frames[1]
    assert not child.url.startswith(sites.app)  # Chromium swaps in its error page
    expect(page.frame_locator("iframe").get_by_role("textbox")).to_have_count(0)


def test_widget_is_small_cached_and_talks_only_to_its_own_origin(sites, page):
    response = httpx.get(f"{sites.app}/widget.js")  # httpx asks for gzip, as browsers do
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip" and response.num_bytes_downloaded < 10_000
    assert len(response.content) < 30_000
    assert httpx.get(f"{sites.app}/widget.js", headers={"Accept-Encoding": "identity"}).content == response.content
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert b"innerHTML" not in response.content and b"eval(" not in response.content
    assert httpx.get(f"{sites.app}/embed").headers["content-type"].startswith("text/html")

    origins = set()
    page.on("request", lambda request: origins.add("{0.scheme}://{0.netloc}".format(urlsplit(request.url))))
    _, dialog = open_widget(page, f"{sites.blog}/blog.html")
    ask(dialog, "Does sunscreen help?")
    assert origins == {sites.blog, sites.app}


def test_the_conversation_survives_a_reload_and_new_conversation_clears_it(sites, page):
    _, dialog = open_widget(page, f"{sites.blog}/blog.html")
    ask(dialog, "What are static wrinkles?")
    page.reload()  # another page load of the blog, in the same tab
    launcher = page.get_by_role("button", name=TITLE)
    launcher.click()
    dialog = page.get_by_role("dialog", name=TITLE)
    expect(dialog.locator(".msg.user")).to_have_text(["What are static wrinkles?"])
    expect(dialog.locator(".msg.bot mark").first).to_contain_text("ingrained")
    ask(dialog, "where do they show up?")  # still a follow-up: the history came back too
    expect(dialog.locator(".msg.bot").last.locator(".about")).to_have_text("About Static Wrinkles")

    dialog.get_by_role("button", name="New conversation").click()
    expect(dialog.locator(".msg")).to_have_count(0)
    expect(dialog.get_by_role("textbox", name="Your question")).to_be_focused()
    ask(dialog, "where do they show up?")
    expect(dialog.locator(".msg.bot").last.locator(".about")).to_have_count(0)
    page.reload()
    page.get_by_role("button", name=TITLE).click()
    expect(page.get_by_role("dialog", name=TITLE).locator(".msg.user")).to_have_text(["where do they show up?"])


def test_without_data_examples_it_offers_three_from_the_headings_and_follow_ups_after(sites, page):
    _, dialog = open_widget(page, f"{sites.blog}/article.html")
    chips = dialog.locator(".chips:not(.next) .chip")
    expect(chips).to_have_text(["Tell me about dynamic wrinkles", "Tell me about static wrinkles", "Tell me about sun protection"])
    chips.nth(2).click()
    expect(dialog.locator(".msg[aria-label]")).to_have_count(0, timeout=120_000)
    next_ones = dialog.get_by_role("group", name="Ask next").locator(".chip")
    expect(next_ones).to_have_count(3)
    expect(next_ones.first).to_have_text("Tell me about facial exercises")  # the section after Sun Protection
    next_ones.first.click()
    expect(dialog.locator(".msg.user")).to_have_text(["Tell me about sun protection", "Tell me about facial exercises"])
    expect(dialog.locator(".msg[aria-label]")).to_have_count(0, timeout=120_000)
    expect(dialog.get_by_role("group", name="Ask next")).to_have_count(1)  # only under the newest answer


ERRORS = [  # (status, body, headers, what the reader reads)
    (429, {"error": "Too many questions at once; try again in 7 s.", "code": "rate_limited"}, {"Retry-After": "7"},
     re.compile(r"Too many questions right now; try again in [1-7] s\.")),
    (413, {"error": "Request too large; the limit is 65,536 bytes.", "code": "too_large"}, {},
     "That question is too long; please shorten it."),
    (422, {"error": "Please type a question about the article."}, {}, "Please type a question about the article."),
    (503, {"error": "Index is loading.", "code": "unavailable"}, {}, "The assistant is busy or restarting"),
    (500, {"error": "Traceback (most recent call last)"}, {}, "Something went wrong on the assistant's side"),
    (502, None, {}, "The assistant is busy or restarting"),  # a proxy's HTML page: the status tells
]


@pytest.mark.parametrize(("status", "body", "headers", "message"), ERRORS, ids=[str(e[0]) for e in ERRORS])
def test_errors_are_told_apart_keep_the_question_and_retry(sites, page, status, body, headers, message):
    page.route(f"{sites.app}/api/ask", lambda route: route.fulfill(
        status=status, headers=headers, **({"json": body} if body is not None else {"body": "<html>Bad gateway</html>"})))
    page.goto(f"{sites.app}/embed")
    ask(page, "What is collagen?")
    error = page.locator(".msg.error")
    expect(error).to_contain_text(message)
    assert "Traceback" not in error.inner_text()
    expect(page.get_by_role("textbox", name="Your question")).to_have_value("What is collagen?")  # nothing typed is lost
    page.unroute(f"{sites.app}/api/ask")
    retry = error.get_by_role("button", name="Retry")
    if status == 429:
        expect(retry).to_be_disabled()
        expect(error).to_contain_text("You can ask again now.", timeout=15_000)
    retry.click()
    expect(page.locator(".msg.error")).to_have_count(0)
    expect(page.locator(".msg.user")).to_have_text(["What is collagen?"])
    expect(page.locator(".cites a").first).to_be_visible(timeout=120_000)
    expect(page.get_by_role("textbox", name="Your question")).to_have_value("")


def test_offline_is_told_as_offline(sites, context, page):
    page.goto(f"{sites.app}/embed")
    context.set_offline(True)
    try:
        ask(page, "What is collagen?")
        expect(page.locator(".msg.error")).to_contain_text("You seem to be offline.")
        expect(page.get_by_role("textbox", name="Your question")).to_have_value("What is collagen?")
    finally:
        context.set_offline(False)


def test_the_launcher_comes_first_in_the_tab_order(sites, page):
    page.goto(f"{sites.blog}/blog.html")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=TITLE)).to_be_focused()


def test_on_a_phone_the_open_panel_keeps_focus_and_esc_returns_it(sites, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        launcher, dialog = open_widget(page, f"{sites.blog}/blog.html")
        expect(dialog).to_have_attribute("aria-modal", "true")
        inside = "() => document.querySelector('article-assistant').shadowRoot.activeElement?.closest('.panel') !== null"
        for _ in range(12):  # more stops than the panel has: focus must wrap, never reach the page
            page.keyboard.press("Tab")
            assert page.evaluate(inside)
        for _ in range(12):
            page.keyboard.press("Shift+Tab")
            assert page.evaluate(inside)
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(launcher).to_be_focused()
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_widget_on_a_blog_and_the_embed_page_pass_axe_with_one_h1(sites, browser, scheme):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme, bypass_csp=True)  # to inject axe
    try:
        page = context.new_page()
        _, dialog = open_widget(page, f"{sites.blog}/article.html")
        ask(dialog, "What are crow's feet?")
        assert violations(page) == [] and h1_count(page) == 1
        page.goto(f"{sites.app}/embed")
        ask(page, "What does elastin do?")
        assert violations(page) == [] and h1_count(page) == 1
    finally:
        context.close()


def test_screenshots_desktop_and_phone(sites, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    for name, viewport in [("widget-desktop.png", {"width": 1280, "height": 800}),
                           ("widget-phone.png", {"width": 390, "height": 844})]:
        context = browser.new_context(viewport=viewport, is_mobile=viewport["width"] < 480, has_touch=viewport["width"] < 480)
        try:
            page = context.new_page()
            _, dialog = open_widget(page, f"{sites.blog}/plain.html")
            ask(dialog, "What are crow's feet?")
            expect(dialog.locator(".cites a").first).to_be_visible()
            box = dialog.bounding_box()
            if viewport["width"] <= 480:
                assert box == {"x": 0, "y": 0, "width": viewport["width"], "height": viewport["height"]}
            else:
                assert 360 <= box["width"] <= 400 and box["height"] <= 600
            page.screenshot(path=str(ARTIFACTS / name))
        finally:
            context.close()
