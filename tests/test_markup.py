"""Markdown and HTML articles parse into a title, a url and section-tagged blocks."""
from __future__ import annotations

from assistant.content.markup import parse_html, parse_markdown
from assistant.records import Parsed

MARKDOWN_ARTICLE = """\
---
title: Typing in Python
url: https://example.com/typing
---
# Typing in Python

Python is **dynamically** typed, see [the docs](https://docs.python.org).

## Types

There are a few kinds:

- `int` for whole numbers
- `str` for
  text

### Dynamic Wrinkles:

Duck typing means *behaviour* matters.

## Summary

Use type hints.

## Popular posts from this blog

Ten tips you will not believe.
"""

HTML_PAGE = """\
<!doctype html>
<html>
<head>
  <title>Typing in Python | My Blog</title>
  <link rel="canonical" href="https://example.com/typing">
  <script>var secret = "tracking pixel";</script>
</head>
<body>
  <nav><ul><li>Home</li><li>About</li></ul></nav>
  <header><h1>My Blog</h1></header>
  <article>
    <h1>Typing in Python</h1>
    <p>Python is <b>dynamically</b>
       typed &amp; flexible.</p>
    <h2>Types</h2>
    <ul>
      <li>Numbers: <code>int</code></li>
      <li><p>Text: <code>str</code></p></li>
    </ul>
    <h3>Dynamic Wrinkles:</h3>
    <p>Duck typing means behaviour matters.</p>
    <style>.x { color: red }</style>
    <h2>Popular posts from this blog</h2>
    <p>Ten tips you will not believe.</p>
  </article>
  <footer><p>Copyright 2024</p></footer>
</body>
</html>
"""


def sections_and_texts(parsed: Parsed) -> list[tuple[tuple[str, ...], str]]:
    return [(block.section, block.text) for block in parsed.blocks]


def assert_offsets(parsed: Parsed) -> None:
    for block in parsed.blocks:
        assert parsed.text[block.start : block.end] == block.text
    assert parsed.text == "\n\n".join(block.text for block in parsed.blocks)


def test_markdown_article_sections_and_plain_text():
    parsed = parse_markdown(MARKDOWN_ARTICLE)
    assert parsed.title == "Typing in Python"
    assert parsed.url == "https://example.com/typing"
    assert sections_and_texts(parsed) == [
        (("Introduction",), "Python is dynamically typed, see the docs."),
        (("Types",), "There are a few kinds:"),
        (("Types",), "int for whole numbers"),
        (("Types",), "str for text"),
        (("Types", "Dynamic Wrinkles"), "Duck typing means behaviour matters."),
        (("Summary",), "Use type hints."),
    ]
    assert_offsets(parsed)


def test_markdown_title_from_heading_without_front_matter():
    parsed = parse_markdown("# Hello\n\nFirst words.\n\nSecond words.\n")
    assert parsed.title == "Hello"
    assert parsed.url == ""
    assert sections_and_texts(parsed) == [((), "First words."), ((), "Second words.")]
    assert_offsets(parsed)


def test_markdown_second_h1_is_a_top_level_section():
    parsed = parse_markdown("# Title\n\nIntro.\n\n# Part one\n\n### Detail\n\nDeep.\n\n## Part two\n\nMore.\n")
    assert parsed.title == "Title"
    assert sections_and_texts(parsed) == [
        (("Introduction",), "Intro."),
        (("Part one", "Detail"), "Deep."),
        (("Part two",), "More."),
    ]


def test_markdown_list_item_with_paragraphs_and_nested_list():
    parsed = parse_markdown("- first\n\n  continued\n\n  - nested\n- second\n\n> quoted\n")
    assert [block.text for block in parsed.blocks] == ["first continued", "nested", "second", "quoted"]
    assert_offsets(parsed)


def test_markdown_chrome_paragraph_ends_the_article():
    parsed = parse_markdown("Kept.\n\nPost a Comment:\n\nDropped.\n")
    assert [block.text for block in parsed.blocks] == ["Kept."]


def test_markdown_invalid_front_matter_is_ignored():
    raw = "---\ntitle: [unclosed\nurl: : :\n---\n# Real title\n\nBody text.\n"
    parsed = parse_markdown(raw)
    assert parsed.title == "Real title"
    assert parsed.url == ""
    assert [block.text for block in parsed.blocks] == ["Body text."]


def test_markdown_front_matter_with_impossible_date_is_ignored():
    parsed = parse_markdown("---\ntitle: X\ndate: 2020-13-45\n---\nBody.\n")
    assert parsed.title == ""
    assert [block.text for block in parsed.blocks] == ["Body."]


def test_html_page_keeps_article_and_drops_chrome():
    parsed = parse_html(HTML_PAGE)
    assert parsed.title == "Typing in Python"
    assert parsed.url == "https://example.com/typing"
    assert sections_and_texts(parsed) == [
        (("Introduction",), "Python is dynamically typed & flexible."),
        (("Types",), "Numbers: int"),
        (("Types",), "Text: str"),
        (("Types", "Dynamic Wrinkles"), "Duck typing means behaviour matters."),
    ]
    for dropped in ("tracking pixel", "color: red", "Home", "Copyright", "My Blog", "Ten tips"):
        assert dropped not in parsed.text
    assert_offsets(parsed)


def test_html_nested_lists_and_blockquote_are_not_duplicated():
    raw = """<main>
      <ul><li>Outer <b>item</b><ul><li>Inner item</li></ul></li></ul>
      <blockquote><p>Quoted once.</p></blockquote>
      <blockquote>Bare quote.</blockquote>
      <p>Plain.</p>
    </main>"""
    parsed = parse_html(raw)
    assert [block.text for block in parsed.blocks] == ["Outer item", "Inner item", "Quoted once.", "Bare quote.", "Plain."]
    assert_offsets(parsed)


def test_html_title_and_url_fallbacks():
    raw = """<html><head><title> Page title </title>
      <meta property="og:url" content="https://example.com/og"></head>
      <body><p>Text.</p></body></html>"""
    parsed = parse_html(raw)
    assert parsed.title == "Page title"
    assert parsed.url == "https://example.com/og"
    assert sections_and_texts(parsed) == [((), "Text.")]


def test_html_title_from_the_articles_own_header():
    raw = "<article><header><h1>Post title</h1><p>By me</p></header><h2>Part</h2><p>Body.</p></article>"
    parsed = parse_html(raw)
    assert parsed.title == "Post title"
    assert sections_and_texts(parsed) == [(("Part",), "Body.")]


def test_html_popular_posts_paragraph_ends_the_article():
    raw = "<body><p>Kept.</p><div><p>Popular posts from this blog</p></div><p>Dropped.</p></body>"
    assert [block.text for block in parse_html(raw).blocks] == ["Kept."]


def test_garbage_html_does_not_raise():
    parsed = parse_html("<p>open <b>never <li>closed &bogus; </div></p><<>>")
    assert_offsets(parsed)
    # html.parser itself rejects this marked section; it is read as text instead.
    assert parse_html("<p>a <![h%<5 b</p>").blocks[0].text == "a <![h%<5 b"


def test_empty_input_has_no_blocks():
    for parsed in (parse_markdown(""), parse_html("")):
        assert parsed == Parsed(title="", text="", blocks=())
