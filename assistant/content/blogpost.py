"""One blog post page (or a feed entry's HTML) -> a Post -> the Markdown file the corpus
keeps: title, canonical URL, date and body blocks, blog chrome dropped. Blogger's
div-and-<br> bodies become real paragraphs. It fetches nothing and writes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import yaml
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString
from bs4.exceptions import ParserRejectedMarkup

from assistant.content.corpus import web_url
from assistant.content.plaintext import is_chrome
from assistant.errors import CorpusError

_BODIES = ("div.post-body", ".entry-content", "article", "main", "body")
# Code is not text here (as in content/markup.py), and the rest is blog chrome.
_CHROME = ("pre, script, style, noscript, template, iframe, nav, header, footer, aside, form, #comments, .comments, "
           ".post-comments, .post-footer, .post-share-buttons, .blog-pager, .related-posts, .popular-posts, .PopularPosts")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = frozenset({"p", "div", "section", "article", "main", "blockquote", "figure", "figcaption", "table", "tr",
                     "td", "th", "dl", "dt", "dd", "hr", "center", "address", "details", "summary"})
# Inline Markdown syntax that would eat text on loading; "_" between two letters is inert.
_INLINE = re.compile(r"[\\`*<\[]|&(?=#?\w+;)|(?<![^\W_])_|_(?![^\W_])")


@dataclass(frozen=True)
class Post:
    url: str
    title: str
    updated: str
    blocks: tuple[tuple[str, str], ...]  # (kind, text); kind is "h2".."h6", "p" or "li"
    name: str = ""  # file name stem when the post has no URL


def read_post(markup: bytes | str, url: str, label: str) -> Post:
    """A post from a page or a feed's HTML: title, canonical URL, date and body blocks. A
    relative canonical URL is resolved against `url`; one that isn't http(s) is dropped."""
    try:
        soup = BeautifulSoup(markup, "html.parser")
    except ParserRejectedMarkup:
        raise CorpusError(f"{label}: HTML that cannot be parsed") from None

    def meta(*names: str) -> str:
        for name in names:
            tag = soup.find("meta", property=name) or soup.find("link", rel=name)
            value = tag and (tag.get("content") or tag.get("href"))
            if isinstance(value, str) and value.strip():
                return value.strip()
        return ""

    heading = soup.select_one(".post-title, .entry-title") or soup.select_one("article h1")
    title = heading.get_text(" ") if heading else meta("og:title") or (soup.title.get_text(" ") if soup.title else "")
    title = " ".join(title.split())
    for tag in soup.select(_CHROME):
        if not tag.decomposed:
            tag.decompose()
    body = next((found for selector in _BODIES if (found := soup.select_one(selector))), soup)
    blocks = _clean(_blocks(body), title)
    if not blocks:
        raise CorpusError(f"{label}: no article text found")
    return Post(web_url(meta("canonical", "og:url"), url) or web_url(url), title, meta("article:modified_time", "article:published_time"), blocks)


def _blocks(root: Tag) -> list[tuple[str, str]]:
    """Body text as (kind, text) blocks in reading order. Blogger bodies often have no <p>:
    text split by block elements or a double <br> is separate paragraphs; one <br> is a space."""
    blocks: list[tuple[str, str]] = []
    buffer: list[str] = []
    kinds = ["p"]  # innermost heading or list item, whose text stays one block

    def flush() -> None:
        chunks = re.split(r"\n\s*\n", "".join(buffer)) if kinds[-1] == "p" else ["".join(buffer)]
        blocks.extend((kinds[-1], text) for chunk in chunks if (text := " ".join(chunk.split())))
        buffer.clear()

    # An explicit stack, not recursion: deeply nested markup must not hit the recursion limit.
    pending: list[tuple[bool, object]] = [(True, node) for node in reversed(root.contents)]
    while pending:
        entering, node = pending.pop()
        if isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):  # comments, doctypes, CDATA
                buffer.append(re.sub(r"\s+", " ", node))  # a newline in the source is a space; only <br> breaks
            continue
        name = node.name
        if name == "br":
            buffer.append("\n")
        elif name in ("ul", "ol"):
            flush()
        elif name in _HEADINGS or name == "li":
            flush()
            if entering:
                kinds.append(name)
            else:
                kinds.pop()
        elif name in _BLOCKS:
            if kinds[-1] == "p":
                flush()
            else:
                buffer.append(" ")  # a block inside a list item or heading: same block
        if entering and name != "br":
            pending.append((False, node))
            pending.extend((True, child) for child in reversed(node.contents))
    flush()
    return blocks


def _clean(blocks: list[tuple[str, str]], title: str) -> tuple[tuple[str, str], ...]:
    """Cut at blog chrome ("Popular posts from this blog"), drop a repeated title, and
    shift headings so the body's top level is "##" (a "#" would read as the title)."""
    kept = []
    for kind, text in blocks:
        if is_chrome(text):
            break
        kept.append((kind, text))
    if kept and kept[0][0] in _HEADINGS and kept[0][1] == title:
        kept = kept[1:]
    shift = max(0, 2 - min((int(kind[1]) for kind, _ in kept if kind in _HEADINGS), default=2))
    return tuple((f"h{min(6, int(kind[1]) + shift)}" if kind in _HEADINGS else kind, text) for kind, text in kept)


def _escape(text: str, heading: bool = False) -> str:
    """Backslash-escape what would otherwise turn text into Markdown structure or markup."""
    text = _INLINE.sub(lambda m: "\\" + m.group(), text)
    if number := re.match(r"\d{1,9}(?=[.)])", text):
        text = f"{text[: number.end()]}\\{text[number.end():]}"
    elif text[:1] in ("#", "-", "+", ">", "=", "~", "|"):
        text = "\\" + text
    return text[:-1] + "\\#" if heading and text.endswith("#") else text


def to_markdown(post: Post) -> str:
    """The file for a post: YAML front matter (title, url, updated), then the body."""
    meta = {key: value for key, value in (("title", post.title), ("url", post.url), ("updated", post.updated)) if value}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1 << 20) if meta else ""
    parts = ([f"---\n{front}---\n\n"] if front else []) + ([f"# {_escape(post.title, True)}\n"] if post.title else [])
    for i, (kind, text) in enumerate(post.blocks):
        if kind in _HEADINGS:
            line = f"{'#' * int(kind[1])} {_escape(text, True)}"
        else:
            line = f"- {_escape(text)}" if kind == "li" else _escape(text)
        tight = kind == "li" and i and post.blocks[i - 1][0] == "li"  # one list, not one per item
        parts.append(line + "\n" if tight else "\n" + line + "\n")
    return "".join(parts)
