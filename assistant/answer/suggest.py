"""Questions to offer a reader, drawn from the article's own headings: examples before
the first question, and after each answer up to three follow-ups, the sections nearest
the one it quoted that the reader hasn't asked about yet, and "Tell me more" when the
headings give fewer (a post without headings gets only that). Nothing is generated; it
reads passages and answers only.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer.perindex import per_index
from assistant.records import Answer, Passage
from assistant.text.terms import content_terms

SKIPPED = ("Introduction", "Conclusion")  # labels the parser gives, not topics a reader would pick
FOLLOW_UPS = 3
TELL_ME_MORE = "Tell me more"  # offered when the headings give fewer than FOLLOW_UPS (the engine reads the article on)
_LEAD_IN = re.compile(r"^\s*(understanding|introduction to|about)\s+", re.I)  # "Understanding X" -> "Tell me about X"


def as_question(label: str) -> str:
    """A heading as something to ask: a heading that is a question stays one."""
    words = _LEAD_IN.sub("", label).split() or label.split()
    if label.rstrip().endswith("?"):
        return " ".join(words)
    return "Tell me about " + " ".join(w if w.isupper() else w.lower() for w in words)  # "UV" stays


class Outline:
    """An index's articles as ordered section lists, and its passages by id (built once
    per index: a follow-up is picked on every answer)."""

    def __init__(self, passages: Sequence[Passage]):
        self.by_id = {p.id: p for p in passages}
        self.sections: dict[str, list[tuple[str, ...]]] = {}
        for p in passages:
            known = self.sections.setdefault(p.doc_slug, [])
            if p.section and p.section not in known:
                known.append(p.section)

    def examples(self, count: int = 3) -> list[str]:
        """The shortest (most specific: "Sun Protection", "Dynamic Wrinkles") headings as
        questions, in article order."""
        return [as_question(label) for label in self._shortest(count)]

    def topics(self, count: int = 3) -> list[str]:
        """The same headings as topics for a hint: "sun protection" ("UV" stays)."""
        return [" ".join(w if w.isupper() else w.lower() for w in (_LEAD_IN.sub("", label).split() or label.split()))
                .rstrip("?") for label in self._shortest(count)]

    def _shortest(self, count: int) -> list[str]:
        labels = list(dict.fromkeys(s[-1] for sections in self.sections.values() for s in sections if s[-1] not in SKIPPED))
        shortest = set(sorted(labels, key=len)[:count])
        return [label for label in labels if label in shortest]

    def labels(self, answer: Answer) -> list[str]:
        """The section labels an answer quotes (what the reader has now read about)."""
        cited = [self.by_id.get(c.passage_id) for c in answer.citations if c.quoted]
        return [p.section[-1] for p in cited if p is not None and p.section]

    def follow_ups(self, answer: Answer, asked: Sequence[str] = (), seen: Sequence[str] = (),
                   count: int = FOLLOW_UPS) -> list[str]:
        """Up to `count` questions about the sections next to the one the answer quotes,
        nearest first (the next before the previous at equal distance). Sections quoted in
        this answer, named in `seen` (quoted earlier in the conversation) or covered by one
        of the reader's questions (`asked`, and this one) are left out."""
        quoted = [c for c in answer.citations if c.quoted]
        first = self.by_id.get(quoted[0].passage_id) if answer.answerable and quoted else None
        if first is None:
            return []
        if not first.section:  # a post without headings: it can still be read on
            return [TELL_ME_MORE]
        sections = self.sections[first.doc_slug]
        here = sections.index(first.section)
        done = {*self.labels(answer), *seen}
        questions = [*asked, answer.question]
        picked: list[str] = []
        for i in sorted(range(len(sections)), key=lambda i: (abs(i - here), i < here)):
            label = sections[i][-1]
            if label in SKIPPED or label in done or _asked_about(label, questions):
                continue
            if (question := as_question(label)) not in picked:
                picked.append(question)
            if len(picked) == count:
                break
        return picked if len(picked) == count else [*picked, TELL_ME_MORE]


def _asked_about(label: str, questions: Sequence[str]) -> bool:
    """A heading the reader's own words already cover ("what are static wrinkles?")."""
    words = set(content_terms(label))
    return bool(words) and any(words <= set(content_terms(q)) for q in questions)


outline_for = per_index(Outline)  # outline_for(index): the Outline of a loaded index
