"""Plain text as pasted from a blog: paragraphs, headings and labelled sub-sections.

The conventions: the first line is the title; a short line ending in ":" standing
alone is a section heading; a paragraph opening with "Label: " is a sub-section;
paragraphs after the last labelled paragraph (with no heading between) are the
conclusion; blog chrome from "Popular posts from this blog" on is dropped.
Offsets index into the raw text itself, so every block is a verbatim slice of it.
"""
from __future__ import annotations

import re

from assistant.records import Block, Parsed

CHROME_MARKERS = frozenset(
    {
        "popular posts from this blog",
        "related posts",
        "you may also like",
        "post a comment",
        "comments",
        "share this post",
        "newer post",
        "older post",
    }
)
_PARAGRAPH = re.compile(r"[^\n]*\S[^\n]*(?:\n[^\n]*\S[^\n]*)*")
_LABEL = re.compile(r"([A-Z][^:.!?\n]{0,60}):\s+\S")
HEADING_MAX_CHARS = 80
LABEL_MAX_WORDS = 6


def is_chrome(line: str) -> bool:
    return line.strip().rstrip(":").strip().casefold() in CHROME_MARKERS


def _is_heading(paragraph: str) -> bool:
    line = paragraph.strip()
    return (
        "\n" not in line
        and line.endswith(":")
        and len(line) <= HEADING_MAX_CHARS
        and not re.search(r"[.!?]\s", line)
    )


def _label(paragraph: str) -> str | None:
    match = _LABEL.match(paragraph)
    if match and len(match.group(1).split()) <= LABEL_MAX_WORDS:
        return match.group(1).strip()
    return None


def parse_text(raw: str) -> Parsed:
    """Split pasted blog text into a title and section-tagged paragraphs."""
    spans = [(m.start(), m.end()) for m in _PARAGRAPH.finditer(raw)]
    if not spans:
        return Parsed(title="", text=raw, blocks=())
    first_line_end = raw.find("\n", spans[0][0])
    title_end = first_line_end if first_line_end != -1 and first_line_end < spans[0][1] else spans[0][1]
    title = raw[spans[0][0] : title_end].strip()
    body = [(title_end, spans[0][1])] if title_end < spans[0][1] else []
    body = [(a, b) for a, b in body + spans[1:]]
    body = [(a + len(raw[a:b]) - len(raw[a:b].lstrip()), a + len(raw[a:b].rstrip())) for a, b in body]
    body = [(a, b) for a, b in body if b > a]

    kept: list[tuple[int, int]] = []
    for a, b in body:
        if is_chrome(raw[a:b].split("\n", 1)[0]):
            break
        kept.append((a, b))

    has_heading = any(_is_heading(raw[a:b]) for a, b in kept)
    labelled = [i for i, (a, b) in enumerate(kept) if _label(raw[a:b])]
    last_label = labelled[-1] if labelled else len(kept)

    blocks: list[Block] = []
    heading: tuple[str, ...] = ("Introduction",) if has_heading else ()
    for i, (a, b) in enumerate(kept):
        paragraph = raw[a:b]
        if _is_heading(paragraph):
            heading = (paragraph.strip().rstrip(":").strip(),)
            continue
        label = _label(paragraph)
        if label:
            section = heading + (label,) if heading != ("Introduction",) else (label,)
        elif i > last_label and not any(_is_heading(raw[x:y]) for x, y in kept[last_label:i]):
            section = ("Conclusion",)
        else:
            section = heading
        blocks.append(Block(section=section, text=paragraph, start=a, end=b))
    return Parsed(title=title, text=raw, blocks=tuple(blocks))
