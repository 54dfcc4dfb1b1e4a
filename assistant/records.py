"""Small frozen records passed between the pipeline stages.

corpus -> Block/Parsed/Document -> Passage -> Hit/Paragraph -> Citation/Answer, and the
BuildReport of a build (the question log's records are questionlog/records.py). No behaviour beyond trivial derived properties lives here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class Block:
    """One paragraph (or list item) of a document, in reading order.

    `start`/`end` are character offsets into the `text` of the Parsed document it
    came from, and `text == parsed.text[start:end]` always holds.
    """

    section: tuple[str, ...]
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class FrontMatter:
    """The YAML header of a Markdown file: its values as written, or what was wrong with it."""

    values: dict = field(default_factory=dict)
    problem: str = ""  # why the YAML could not be read; "" when it could (or there is none)
    line: int = 0  # the file's line the problem is on, the opening `---` being line 1; 0: unknown


@dataclass(frozen=True)
class Parsed:
    """What a format loader returns: the article's own text and its paragraphs."""

    title: str
    text: str
    blocks: tuple[Block, ...]
    url: str = ""
    front_matter: FrontMatter = field(default_factory=FrontMatter)


@dataclass(frozen=True)
class Document:
    """A parsed article plus where it came from and how to link to it."""

    slug: str
    source: str
    title: str
    url: str
    text: str
    blocks: tuple[Block, ...]


# unreadable: binary or empty; draft: `draft: true` or `published: false`; scheduled: dated
# in the future; front matter: not valid YAML (it might have said `draft: true`); url: a URL
# citations can't link to (relative, javascript:, no host)
SkipReason = Literal["unreadable", "draft", "scheduled", "front matter", "url"]


@dataclass(frozen=True)
class Skipped:
    """An article file the corpus loader left out of the index, and why."""

    source: str  # relative to the corpus folder
    reason: SkipReason
    detail: str  # for the owner: "a draft (draft: true)", "scheduled for …", the YAML problem
    line: int = 0  # the line of the file the problem is on; 0: none in particular

    @property
    def needs_fixing(self) -> bool:
        """A file the owner must fix (a warning), not a post that waits to be public (news)."""
        return self.reason in ("front matter", "url")


@dataclass(frozen=True)
class Passage:
    """The unit that is embedded, retrieved and cited: a paragraph or a part of one."""

    id: str
    doc_slug: str
    doc_title: str
    section: tuple[str, ...]
    text: str
    url: str
    start: int
    end: int
    hash: str
    sentences: tuple[tuple[int, int], ...] = ()
    paragraph: int = 0  # which paragraph of its document: the pieces of a long one share it

    @property
    def section_path(self) -> str:
        return SECTION_SEPARATOR.join(self.section)

    def sentence_texts(self) -> list[str]:
        return [self.text[a:b] for a, b in self.sentences]


@dataclass(frozen=True)
class Hit:
    """A passage retrieved for a query, with the scores that ranked it."""

    passage: Passage
    score: float
    dense: float
    lexical: float
    row: int = -1  # the passage's position in its index
    rows: tuple[int, ...] = ()  # every piece of the passage's paragraph, in order (ranked as one unit)


@dataclass(frozen=True)
class Paragraph:
    """A ranked paragraph with what composing an answer reads: its pieces in order and,
    per piece, one vector per sentence (numpy arrays)."""

    hit: Hit
    pieces: tuple[Passage, ...]
    sentence_vectors: tuple

    @property
    def text(self) -> str:
        return " ".join(p.text for p in self.pieces)


@dataclass(frozen=True)
class Citation:
    """A numbered source shown under an answer; `highlight` marks the quoted sentence."""

    n: int
    doc_title: str
    section: str
    url: str
    text: str
    score: float
    passage_id: str
    highlight: tuple[int, int]
    quoted: bool = True  # the answer text quotes this citation; False: only related


    @property
    def sentence(self) -> str:
        return self.text[self.highlight[0] : self.highlight[1]]


@dataclass(frozen=True)
class Answer:
    question: str
    answerable: bool
    text: str
    citations: tuple[Citation, ...] = ()
    query: str = ""  # the question as searched, after follow-up resolution
    not_covered: tuple[str, ...] = ()  # the question's key terms that no cited passage mentions
    about: str = ""  # a follow-up read in context: the topic it was taken to be about


@dataclass(frozen=True)
class BuildReport:
    passages: int
    embedded: int
    reused: int
    removed: int
    seconds: float
    documents: int = 0
    changed: bool = True
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)

    @property
    def drafts_skipped(self) -> int:
        """Posts left out because they are not public yet: drafts and scheduled posts."""
        return sum(s.reason in ("draft", "scheduled") for s in self.skipped)
