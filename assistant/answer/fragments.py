"""Text fragments (`#:~:text=prefix-,start,end,-suffix`) that select exactly the quoted
sentence on the article's page. A browser highlights the *first* match of a fragment, so
a short start phrase that also occurs earlier (in the introduction, say) lands on the
wrong sentence. Each candidate fragment is matched against the page's own blocks
(content/article_page.py) the way the WICG text-fragment algorithm does it, and the shortest one
whose first match is the sentence wins. Nothing here ranks or composes answers.

Hand-written because no maintained Python package generates or matches text fragments;
the matching follows the spec's "find a range from a text directive": case-insensitive,
word-bounded, a match never spanning two blocks, context allowed across whitespace.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote

from assistant.answer.perindex import per_index
from assistant.content.article_page import ArticlePage, article_blocks
from assistant.records import Answer, Citation, Passage

EDGE_WORDS = 4  # words of a start or end phrase, before any is needed for uniqueness
CONTEXT_WORDS = 3  # at most this many words of prefix or suffix

Position = tuple[int, int]  # (block, offset in the block's whitespace-collapsed text)


@dataclass(frozen=True)
class Directive:
    start: str
    end: str = ""
    prefix: str = ""
    suffix: str = ""

    def encoded(self) -> str:
        text = (f"{_encode(self.prefix)}-," if self.prefix else "") + _encode(self.start)
        text += f",{_encode(self.end)}" if self.end else ""
        return text + (f",-{_encode(self.suffix)}" if self.suffix else "")


def _encode(part: str) -> str:
    return quote(part, safe="").replace("-", "%2D")


def with_fragment(url: str, directive: Directive) -> str:
    """`url` (which may end in a section anchor) plus the text directive."""
    return f"{url}:~:text={directive.encoded()}" if "#" in url else f"{url}#:~:text={directive.encoded()}"


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _bounded(text: str, at: int) -> bool:
    return at <= 0 or at >= len(text) or not (_is_word(text[at - 1]) and _is_word(text[at]))


def _find(blocks: Sequence[str], folded: Sequence[str], query: str, since: Position,
          word_start: bool, word_end: bool) -> tuple[Position, Position] | None:
    """The first match of `query` at or after `since`, inside one block."""
    needle = query.lower()
    block, offset = since
    while block < len(blocks):
        at = folded[block].find(needle, offset)
        while at >= 0:
            end = at + len(needle)
            if (not word_start or _bounded(blocks[block], at)) and (not word_end or _bounded(blocks[block], end)):
                return (block, at), (block, end)
            at = folded[block].find(needle, at + 1)
        block, offset = block + 1, 0
    return None


def _next_visible(blocks: Sequence[str], at: Position) -> Position | None:
    """Past any whitespace, into the next block if this one ends here."""
    block, offset = at
    while block < len(blocks):
        text = blocks[block]
        while offset < len(text) and text[offset].isspace():
            offset += 1
        if offset < len(text):
            return block, offset
        block, offset = block + 1, 0
    return None


def first_match(blocks: Sequence[str], directive: Directive) -> tuple[Position, Position] | None:
    """Where a browser's first match of `directive` starts and ends in `blocks`."""
    folded = [b.lower() if len(b.lower()) == len(b) else b for b in blocks]
    search: Position = (0, 0)
    while True:
        if directive.prefix:
            found = _find(blocks, folded, directive.prefix, search, True, False)
            if found is None:
                return None
            search = (found[0][0], found[0][1] + 1)
            begin = _next_visible(blocks, found[1])
            if begin is None:
                return None
            start = _find(blocks, folded, directive.start, begin, False, not directive.end)
            if start is None:
                return None
            if start[0] != begin:
                continue
        else:
            start = _find(blocks, folded, directive.start, search, True, not directive.end)
            if start is None:
                return None
            search = (start[0][0], start[0][1] + 1)
        match_start, match_end = start
        while True:
            if directive.end:
                end = _find(blocks, folded, directive.end, match_end, True, not directive.suffix)
                if end is None:
                    return None
                match_end = end[1]
            if not directive.suffix:
                return match_start, match_end
            after = _next_visible(blocks, match_end)
            suffix = after and _find(blocks, folded, directive.suffix, after, False, True)
            if not suffix:
                return None
            if suffix[0] == after:
                return match_start, match_end
            if not directive.end:
                break


def _edges(words: list[str], start: int, end: int) -> Directive:
    """The first `start` and last `end` words as start and end phrases; all of them as the
    start phrase when they don't leave a gap."""
    if start + end >= len(words):
        return Directive(" ".join(words))
    return Directive(" ".join(words[:start]), " ".join(words[-end:]))


def plain_fragment_url(url: str, sentence: str) -> str:
    """`url` plus the plain edge-phrase directive for `sentence`, matched against no page:
    a citation's link until the Linker, which knows the page, makes it exact."""
    return with_fragment(url, _edges(sentence.split(), EDGE_WORDS, EDGE_WORDS))


def _candidates(words: list[str], before: list[str], after: list[str]) -> Iterator[Directive]:
    """From the shortest to the most specific: edge phrases, then context words before
    or after, then longer start or end phrases, then the whole sentence with context."""
    plain = _edges(words, EDGE_WORDS, EDGE_WORDS)
    yield plain
    for n in range(1, min(CONTEXT_WORDS, len(before)) + 1):
        yield replace(plain, prefix=" ".join(before[-n:]))
    for n in range(1, min(CONTEXT_WORDS, len(after)) + 1):
        yield replace(plain, suffix=" ".join(after[:n]))
    for longer in range(EDGE_WORDS + 1, len(words) - EDGE_WORDS + 1):
        yield _edges(words, longer, EDGE_WORDS)
        yield _edges(words, EDGE_WORDS, longer)
    whole = Directive(" ".join(words))
    for n in range(1, CONTEXT_WORDS + 1):
        if n <= len(before):
            yield replace(whole, prefix=" ".join(before[-n:]))
        if n <= len(after):
            yield replace(whole, suffix=" ".join(after[:n]))


def directive_for(blocks: Sequence[str], block: int, start: int, end: int) -> Directive:
    """The shortest directive whose first match in `blocks` is exactly blocks[block][start:end]
    (whitespace-collapsed texts); the plain edge phrases if none is (a sentence repeated word
    for word with the same context)."""
    text = blocks[block]
    words = text[start:end].split()
    target = ((block, start), (block, end))
    candidates = _candidates(words, text[:start].split(), text[end:].split())
    plain = next(candidates)
    if first_match(blocks, plain) == target:
        return plain
    return next((d for d in candidates if first_match(blocks, d) == target), plain)


URLS_KEPT = 4096  # citation URLs remembered per index (then forgotten all at once)


class Linker:
    """Rewrites citation URLs so their fragments select exactly the quoted sentence on the
    article's page. One per index: pages are built the first time an article is cited."""

    def __init__(self, passages: Sequence[Passage]):
        self.passages = passages
        self.by_id = {p.id: p for p in passages}
        self.pages: dict[str, ArticlePage | None] = {}
        self.urls: dict[tuple[str, tuple[int, int]], str] = {}

    def page(self, slug: str) -> ArticlePage | None:
        if slug not in self.pages:
            self.pages[slug] = article_blocks(self.passages, slug)
        return self.pages[slug]

    def url(self, citation: Citation) -> str:
        """The citation's URL with a fragment selecting exactly its quote (its passage and
        quote span decide it: kept for the next answer that quotes the same sentence)."""
        key = (citation.passage_id, citation.highlight)
        url = self.urls.get(key)  # (request threads share it: no read after a write)
        if url is None:
            url = self._url(citation)
            if len(self.urls) >= URLS_KEPT:
                self.urls.clear()
            self.urls[key] = url
        return url

    def _url(self, citation: Citation) -> str:
        passage = self.by_id.get(citation.passage_id)
        page = passage and self.page(passage.doc_slug)
        if page is None or passage.paragraph not in page.paragraph_blocks:
            return citation.url
        blocks = page.texts()
        block = page.paragraph_blocks[passage.paragraph]
        a, b = citation.highlight
        before = " ".join(citation.text[:a].split())
        sentence = " ".join(citation.text[a:b].split())
        start = len(before) + 1 if before else 0
        if blocks[block][start : start + len(sentence)] != sentence:
            start = blocks[block].find(sentence)
            if not sentence or start < 0:
                return citation.url
        return with_fragment(passage.url, directive_for(blocks, block, start, start + len(sentence)))

    def relink(self, answer: Answer) -> Answer:
        if not answer.citations:
            return answer
        return replace(answer, citations=tuple(replace(c, url=self.url(c)) for c in answer.citations))


linker_for = per_index(Linker)  # linker_for(index): the Linker of a loaded index
