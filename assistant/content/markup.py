"""Markdown and HTML articles -> Parsed: title, url and section-tagged paragraphs.

Both formats are reduced to one stream of headings and blocks, so section paths and
blog-chrome cut-off follow the same rules. Code blocks, tables and images are not text here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import yaml
from bs4 import BeautifulSoup, Tag
from bs4.element import PreformattedString
from bs4.exceptions import ParserRejectedMarkup
from markdown_it import MarkdownIt

from assistant.content.plaintext import is_chrome
from assistant.records import Block, FrontMatter, Parsed

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_DROPPED = ("script", "style", "nav", "footer", "header", "aside", "form", "noscript", "template")
# Tags whose boundaries separate words even when the markup has no whitespace there.
_BREAKING = frozenset({"br", "div", "p", "li", "ul", "ol", "tr", "td", "th", "dd", "dt", "pre", "hr", "table", "section"})


@dataclass
class _Item:
    """One heading (level 1-6) or block (level 0) in reading order, before sections are known."""

    level: int
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def _assemble(items: list[_Item], meta_title: str, fallback_title: str, url: str) -> Parsed:
    """Turn the heading/block stream into a Parsed: first h1 is the title, chrome ends it."""
    title_heading: str | None = None
    kept: list[tuple[tuple[str, ...] | None, str]] = []  # None section: before any heading
    stack: list[tuple[int, str]] = []
    for item in items:
        text = item.text
        if not text:
            continue
        if item.level == 1 and title_heading is None:
            title_heading = text
            continue
        if is_chrome(text):
            break
        if item.level:
            # Later h1s rank with h2: both are top-level sections under the title.
            level = max(item.level, 2)
            stack = [(lvl, name) for lvl, name in stack if lvl < level]
            stack.append((level, text.rstrip(":").strip()))
        else:
            kept.append((tuple(name for _, name in stack) if stack else None, text))

    has_sections = any(section is not None for section, _ in kept)
    intro: tuple[str, ...] = ("Introduction",) if has_sections else ()
    blocks: list[Block] = []
    start = 0
    for section, text in kept:
        blocks.append(Block(section=section if section is not None else intro, text=text, start=start, end=start + len(text)))
        start += len(text) + 2
    return Parsed(
        title=meta_title or title_heading or fallback_title,
        text="\n\n".join(text for _, text in kept),
        blocks=tuple(blocks),
        url=url,
    )


def split_front_matter(raw: str) -> tuple[FrontMatter, str]:
    """The YAML between `---` lines at the very start, and the text after it. Invalid YAML
    gives no values and a problem naming its line; it is never raised."""
    lines = raw.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        return FrontMatter(), raw
    for i, line in enumerate(lines[1:], start=1):
        if line.rstrip() in ("---", "..."):
            body = "".join(lines[i + 1 :])
            try:
                values = yaml.safe_load("".join(lines[1:i]))
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
                problem = getattr(exc, "problem", None) or type(exc).__name__
                # mark.line counts from 0 within the YAML, which starts on the file's line 2
                return FrontMatter(problem=f"front matter is not valid YAML ({problem})",
                                   line=mark.line + 2 if mark else 0), body
            except ValueError as exc:  # dates like 2020-13-45: PyYAML gives no line for these
                return FrontMatter(problem=f"front matter is not valid YAML ({exc})"), body
            return FrontMatter(values if isinstance(values, dict) else {}), body
    return FrontMatter(), raw


def _inline_text(children: list) -> str:
    parts = []
    for token in children:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def parse_markdown(raw: str) -> Parsed:
    """Parse a Markdown article, with optional YAML front matter giving title and url (its
    other values and any problem with it are kept in `front_matter`, for the corpus loader)."""
    front_matter, body = split_front_matter(raw)
    items: list[_Item] = []
    # Innermost open container: a list item collects its paragraphs into one block,
    # a blockquote (None) lets its paragraphs stand alone, as in the HTML parser.
    containers: list[_Item | None] = []
    heading_level = 0
    for token in MarkdownIt("commonmark").parse(body):
        if token.type == "list_item_open":
            containers.append(_Item(0))
            items.append(containers[-1])
        elif token.type == "blockquote_open":
            containers.append(None)
        elif token.type in ("list_item_close", "blockquote_close"):
            containers.pop()
        elif token.type == "heading_open":
            heading_level = int(token.tag[1:])
        elif token.type == "heading_close":
            heading_level = 0
        elif token.type == "inline":
            text = _inline_text(token.children or [])
            if heading_level:
                items.append(_Item(heading_level, [text]))
            elif containers and containers[-1] is not None:
                containers[-1].parts.append(text)
            else:
                items.append(_Item(0, [text]))
    title = front_matter.values.get("title")
    url = front_matter.values.get("url")
    parsed = _assemble(items, str(title).strip() if title else "", "", str(url).strip() if url else "")
    return replace(parsed, front_matter=front_matter)


def _own_text(element: Tag, emitted: set[int]) -> str:
    """Text of `element`, leaving out nested elements that are blocks of their own."""
    # An explicit stack, not recursion: pathological nesting must not hit the recursion limit.
    parts: list[str] = []
    pending: list = list(reversed(element.contents))
    while pending:
        node = pending.pop()
        if isinstance(node, Tag):
            if id(node) in emitted:
                parts.append(" ")
            elif node.name in _BREAKING:
                pending.extend([" ", *reversed(node.contents), " "])
            else:
                pending.extend(reversed(node.contents))
        elif type(node) is str or not isinstance(node, PreformattedString):  # not comments, doctypes
            parts.append(node)
    return "".join(parts)


def _absorbed(paragraph: Tag) -> bool:
    """A p whose nearest li/blockquote ancestor is an li belongs to that list item's text."""
    container = paragraph.find_parent(["li", "blockquote"])
    return container is not None and container.name == "li"


def _attribute(tag: Tag | None, name: str) -> str:
    value = tag.get(name) if tag is not None else None
    return value.strip() if isinstance(value, str) else ""


def parse_html(raw: str) -> Parsed:
    """Parse an HTML page, keeping the article's own text and dropping site chrome."""
    try:
        soup = BeautifulSoup(raw, "html.parser")
    except ParserRejectedMarkup:
        # html.parser asserts on some "<![" marked sections; read them as plain text instead.
        try:
            soup = BeautifulSoup(raw.replace("<![", "&lt;!["), "html.parser")
        except ParserRejectedMarkup:
            return Parsed(title="", text="", blocks=())
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    url = _attribute(soup.find("link", rel="canonical"), "href") or _attribute(
        soup.find("meta", property="og:url"), "content"
    )
    # An article's own <header> usually holds its h1; keep that title before headers go.
    article = soup.find("article")
    header_h1 = next((h for h in article.find_all("h1") if h.find_parent("header")), None) if article else None
    if header_h1 is not None:
        page_title = " ".join(header_h1.get_text(" ").split()) or page_title
    for tag in soup.find_all(_DROPPED):
        if not tag.decomposed:
            tag.decompose()

    root = soup.find("article") or soup.find("main") or soup.body or soup
    elements = [
        tag for tag in root.find_all([*_HEADINGS, "p", "li", "blockquote"])
        if not (tag.name == "p" and _absorbed(tag))
    ]
    emitted = {id(tag) for tag in elements}
    items = [
        _Item(int(tag.name[1]) if tag.name in _HEADINGS else 0, [_own_text(tag, emitted)])
        for tag in elements
    ]
    return _assemble(items, "", page_title, url)
