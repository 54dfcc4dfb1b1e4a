"""Documents -> passages: one paragraph each, long ones split at sentence boundaries.

A passage never exceeds `max_chars` nor, with its context line, the embedder's
token limit (checked by the `fits` callable), so nothing is silently truncated.
It does not embed anything; it only decides what gets embedded.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

from assistant.records import SECTION_SEPARATOR, Document, Passage
from assistant.text.sentences import sentence_spans

MAX_CHARS = 800


def slugify(text: str) -> str:
    slug = re.sub(r"[^\w]+", "-", text.casefold()).strip("-")
    return slug or "section"


def context_line(doc_title: str, section: tuple[str, ...]) -> str:
    """The title/section context embedded in front of a passage's text."""
    return SECTION_SEPARATOR.join((doc_title, *section)) if doc_title else SECTION_SEPARATOR.join(section)


def embedding_text(passage: Passage) -> str:
    return f"{context_line(passage.doc_title, passage.section)}\n{passage.text}"


def _slices(text: str, a: int, b: int, fits: Callable[[str], bool]) -> Iterable[tuple[int, int]]:
    """A single "word" too long to fit (a pasted URL, base64): the one case that has
    to be cut mid-word, in the largest pieces that fit."""
    while a < b:
        end = b
        while end - a > 1 and not fits(text[a:end]):
            end = a + (end - a) // 2 if end - a > 64 else end - 1
        yield a, end
        a = end


def _word_chunks(text: str, start: int, end: int, fits: Callable[[str], bool]) -> Iterable[tuple[int, int]]:
    """Split an over-long sentence at word boundaries (never mid-word, unless one
    word alone is over the limit)."""
    words = []
    for m in re.finditer(r"\S+", text[start:end]):
        a, b = m.start() + start, m.end() + start
        words.extend([(a, b)] if fits(text[a:b]) else _slices(text, a, b, fits))
    chunk_start = None
    last_end = None
    for a, b in words:
        if chunk_start is None:
            chunk_start = a
        elif not fits(text[chunk_start:b]):
            yield chunk_start, last_end
            chunk_start = a
        last_end = b
    if chunk_start is not None:
        yield chunk_start, last_end


def _pieces(text: str, fits: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Greedy packing of whole sentences into spans that fit."""
    if fits(text):
        return [(0, len(text))]
    units: list[tuple[int, int]] = []
    for a, b in sentence_spans(text):
        units.extend([(a, b)] if fits(text[a:b]) else _word_chunks(text, a, b, fits))
    pieces: list[tuple[int, int]] = []
    for a, b in units:
        if pieces and fits(text[pieces[-1][0] : b]):
            pieces[-1] = (pieces[-1][0], b)
        else:
            pieces.append((a, b))
    return pieces


def passages_of(
    doc: Document,
    fits: Callable[[str], bool] | None = None,
    max_chars: int = MAX_CHARS,
) -> list[Passage]:
    """Cut a document into passages; `fits(embedding_text)` enforces the model's limit."""
    passages: list[Passage] = []
    counters: dict[str, int] = {}
    base_url = doc.url or f"/articles/{doc.slug}"
    for paragraph, block in enumerate(doc.blocks):
        context = context_line(doc.title, block.section)

        def block_fits(chunk: str) -> bool:
            return len(chunk) <= max_chars and (fits is None or fits(f"{context}\n{chunk}"))

        anchor = slugify(block.section[-1]) if block.section else ""
        for a, b in _pieces(block.text, block_fits):
            text = block.text[a:b]
            n = counters.get(anchor, 0)
            counters[anchor] = n + 1
            passages.append(
                Passage(
                    id=f"{doc.slug}#{anchor or 'top'}-{n}",
                    doc_slug=doc.slug,
                    doc_title=doc.title,
                    section=block.section,
                    text=text,
                    url=f"{base_url}#{anchor}" if anchor else base_url,
                    start=block.start + a,
                    end=block.start + b,
                    hash=hashlib.sha256(f"{context}\n{text}".encode()).hexdigest()[:16],
                    sentences=tuple(sentence_spans(text)),
                    paragraph=paragraph,
                )
            )
    return passages


def passages_of_all(docs: Iterable[Document], fits: Callable[[str], bool] | None = None) -> list[Passage]:
    return [p for doc in docs for p in passages_of(doc, fits)]
