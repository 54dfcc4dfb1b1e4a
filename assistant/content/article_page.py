"""An indexed article as the page readers land on from a citation: its blocks (title,
headings, paragraphs) in reading order, and that page as HTML. Text fragments are
checked against these same blocks (answer/fragments.py), so a link selects what the page
shows. It reads passages only; serving the page is web/routers/pages.py's.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.content.passages import slugify
from assistant.records import Passage

HIDDEN_HEADINGS = ("Introduction",)  # a label the parser gives text before the first heading, not a real heading


@dataclass(frozen=True)
class Block:
    tag: str  # "h1".."h6" or "p"
    text: str
    anchor: str = ""  # the id a heading carries (its section's slug)


@dataclass(frozen=True)
class ArticlePage:
    slug: str
    title: str
    blocks: tuple[Block, ...]
    paragraph_blocks: dict[int, int]  # a passage's `paragraph` -> the index of its block

    def texts(self) -> list[str]:
        """Each block's text with whitespace collapsed, as a browser renders it."""
        return [" ".join(b.text.split()) for b in self.blocks]


def article_blocks(passages: Sequence[Passage], slug: str) -> ArticlePage | None:
    """The page of the article `slug` from the index's passages, or None if unknown.
    The pieces of one paragraph are one block, as in the article."""
    mine = [p for p in passages if p.doc_slug == slug]
    if not mine:
        return None
    blocks = [Block("h1", mine[0].doc_title)]
    paragraph_blocks: dict[int, int] = {}
    shown: set[tuple[str, ...]] = set()
    for p in mine:
        if p.paragraph in paragraph_blocks:  # another piece of the paragraph just shown
            index = paragraph_blocks[p.paragraph]
            blocks[index] = Block("p", f"{blocks[index].text} {p.text}")
            continue
        for depth in range(1, len(p.section) + 1):
            heading = p.section[:depth]
            if heading not in shown and heading[-1] not in HIDDEN_HEADINGS:
                shown.add(heading)
                blocks.append(Block(f"h{min(depth + 1, 6)}", heading[-1], slugify(heading[-1])))
        paragraph_blocks[p.paragraph] = len(blocks)
        blocks.append(Block("p", p.text))
    return ArticlePage(slug, mine[0].doc_title, tuple(blocks), paragraph_blocks)


STYLE = ("body{max-width:44rem;margin:2rem auto;padding:0 1rem;font:17px/1.6 system-ui,sans-serif;color:#1d2330;background:#fff}"
         ":target{background:#fff3b0}a{color:#1f4fbf}"
         "@media (prefers-color-scheme:dark){body{color:#e8ebf1;background:#181b22}:target{background:#5c4d00}a{color:#9db8ff}}")


def article_html(page: ArticlePage) -> str:
    """The page as HTML: one h1, the article inside <main>, heading anchors for section links."""
    parts = []
    for block in page.blocks:
        anchor = f' id="{block.anchor}"' if block.anchor else ""
        parts.append(f"<{block.tag}{anchor}>{html.escape(block.text)}</{block.tag}>")
    title = html.escape(page.title)
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<meta name="color-scheme" content="light dark"><title>{title}</title><style>{STYLE}</style></head>'
            f'<body><main><article>{"".join(parts)}</article></main></body></html>')
