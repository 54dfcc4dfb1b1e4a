"""Question log rows -> Insights for the owner: top questions grouped by meaning,
unanswered questions (content gaps), answers marked unhelpful, answer rate,
helpful ratio and daily counts. Reading the log is questionlog/writer.py's; showing the
result is the CLI's (`as_json`, `as_text`) and web/dashboard.py's.

Grouping: questions with the same stemmed content words are one group ("what are
crows feet" = "What are crow's feet?"); groups whose phrasings embed within
MERGE_AT cosine of each other are merged ("does sunscreen help wrinkles?" =
"is sunscreen useful against wrinkles"). The threshold keeps "what are crow's
feet" apart from "what causes crow's feet" (0.87 with MiniLM).
"""
from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone

import numpy as np

from assistant.questionlog.records import (
    DayCount,
    Insights,
    LoggedQuestion,
    QuestionGroup,
)
from assistant.text.smalltalk import asks_for_more, pleasantry
from assistant.text.terms import content_terms

MERGE_AT = 0.9
TOP = 20
UNHELPFUL_SHOWN = 50
VARIANTS_SHOWN = 5

_APOSTROPHE = re.compile(r"['’‘`]")
# Characters a terminal or a page acts on instead of showing: C0/C1 controls (ESC starts
# a terminal escape sequence), bidi overrides and isolates, zero-width and line separators.
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_PUNCTUATION = re.compile(r"[^\w\s]")

Encode = Callable[[list[str]], np.ndarray]


def summarize(rows: Sequence[LoggedQuestion], encode: Encode, days: int, now: datetime | None = None,
              top: int = TOP) -> Insights:
    """Insights over `rows` (the log since `now - days`); `encode` embeds question texts."""
    now = now or datetime.now(timezone.utc)
    since = (now - timedelta(days=days)).date()
    latencies = [r.latency_ms for r in rows if r.latency_ms is not None]
    vectors = encode if isinstance(encode, Memo) else Memo(encode)
    unhelpful = sorted((r for r in rows if r.helpful is False), key=lambda r: r.asked_at, reverse=True)
    # "thanks!" and "tell me more" ask about nothing: no question to group
    asked = [r for r in rows if not (pleasantry(r.question) or asks_for_more(r.question))]
    return Insights(
        days=days, since=since.isoformat(), questions=len(rows),
        answered=sum(r.answerable for r in rows),
        helpful=sum(r.helpful is True for r in rows), unhelpful=len(unhelpful),
        median_latency_ms=round(statistics.median(latencies), 1) if latencies else None,
        top_questions=tuple(group(asked, vectors)[:top]),
        unanswered=tuple(group([r for r in asked if not r.answerable], vectors)[:top]),
        unhelpful_answers=tuple(unhelpful[:UNHELPFUL_SHOWN]),
        per_day=per_day(rows, since, now.date()),
    )


def group(rows: Sequence[LoggedQuestion], encode: Encode) -> list[QuestionGroup]:
    """Rows -> groups of the same question, most asked first."""
    by_terms: dict[tuple[str, ...], list[LoggedQuestion]] = {}
    for row in rows:
        terms = tuple(sorted(set(content_terms(row.question)))) or (" ".join(row.question.casefold().split()),)
        by_terms.setdefault(terms, []).append(row)
    keyed = _most_first(by_terms.values(), len, _latest)
    if not keyed:
        return []
    vectors = encode([plain(_phrasings(members)[0]) for members in keyed])
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    merged: list[list[LoggedQuestion]] = []
    leaders = np.empty_like(vectors)  # row i: the vector of merged[i]'s first (most asked) phrasing
    for members, vector in zip(keyed, vectors):
        if merged:
            similarity = leaders[: len(merged)] @ vector
            best = int(np.argmax(similarity))
            if similarity[best] >= MERGE_AT:
                merged[best].extend(members)
                continue
        leaders[len(merged)] = vector
        merged.append(list(members))
    return _most_first((_group(members) for members in merged), lambda g: g.count, lambda g: g.last_asked)


def per_day(rows: Sequence[LoggedQuestion], first: date, last: date) -> tuple[DayCount, ...]:
    """One DayCount for every day from `first` to `last`, zeros included (for charts)."""
    days = {}
    day = first
    while day <= last:
        days[day.isoformat()] = Counter()
        day += timedelta(days=1)
    for row in rows:
        counts = days.get(row.asked_at[:10])
        if counts is None:
            continue
        counts["questions"] += 1
        counts["answered"] += row.answerable
        if row.helpful is not None:
            counts["helpful" if row.helpful else "unhelpful"] += 1
    return tuple(DayCount(d, c["questions"], c["answered"], c["helpful"], c["unhelpful"]) for d, c in days.items())


def as_json(insights: Insights) -> dict:
    body = asdict(insights)
    body["refused"] = insights.refused
    for key, records in (("top_questions", insights.top_questions), ("unanswered", insights.unanswered),
                         ("per_day", insights.per_day)):
        for entry, record in zip(body[key], records):
            entry["refused"] = record.refused
    body["answer_rate"] = _rounded(insights.answer_rate)
    body["helpful_ratio"] = _rounded(insights.helpful_ratio)
    return body


def visible(text: str) -> str:
    r"""Readers' text made safe to print: each control or direction character becomes its
    escape ("\x1b", "\u202e"), so a question can't recolour, clear or reorder a terminal."""
    return _HIDDEN.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def dumps(insights: Insights) -> str:
    r"""as_json() as one line of JSON in which the characters visible() escapes are \u
    escapes (json escapes only C0 when it writes UTF-8): the same data, safe in a terminal."""
    import json

    return _HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(as_json(insights), ensure_ascii=False))


def as_text(insights: Insights) -> str:
    """A terminal report; readers' text goes through visible()."""
    lines = [f"Since {insights.since} ({insights.days} days): {_count(insights.questions, 'question')}, "
             f"{insights.answered} answered, {insights.refused} refused (answer rate {percent(insights.answer_rate)})."]
    rated = insights.helpful + insights.unhelpful
    lines.append(f"Feedback: {_count(rated, 'rating')}, {insights.helpful} helpful, {insights.unhelpful} unhelpful "
                 f"(helpful ratio {percent(insights.helpful_ratio)}).")
    if insights.median_latency_ms is not None:
        lines.append(f"Median answer time: {insights.median_latency_ms:.0f} ms.")
    for title, groups in (("Top questions", insights.top_questions), ("Unanswered (content gaps)", insights.unanswered)):
        lines += ["", title + ":" if groups else title + ": none"]
        for g in groups:
            also = f"  (also: {'; '.join(visible(v) for v in g.variants[1:3])})" if len(g.variants) > 1 else ""
            votes = f", {g.helpful} helpful, {g.unhelpful} unhelpful" if g.helpful or g.unhelpful else ""
            lines.append(f"{g.count:5d}  {visible(g.question)}{also}  [{g.answered} answered{votes}]")
    lines += ["", "Marked unhelpful:" if insights.unhelpful_answers else "Marked unhelpful: none"]
    for row in insights.unhelpful_answers:
        comment = f'  "{visible(row.comment)}"' if row.comment else ""
        lines.append(f"  {minute(row.asked_at)}  {visible(row.question)}{comment}  [{', '.join(row.passage_ids) or 'refused'}]")
    return "\n".join(lines)


def plain(question: str) -> str:
    """The form that is embedded: "What are crow’s feet?" -> "what are crows feet" (MiniLM
    puts the two at 0.77 as typed, 1.0 in this form)."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return " ".join(_PUNCTUATION.sub(" ", _APOSTROPHE.sub("", text)).split())


class Memo:
    """`encode` with a memory of what it embedded (up to `limit` texts), so the
    dashboard's reloads and the gaps table reuse the top questions' vectors. Encodes
    in small chunks so readers' questions can take the model in between."""

    def __init__(self, encode: Encode, limit: int = 20_000, chunk: int = 32):
        self.encode = encode
        self.limit = limit
        self.chunk = chunk
        self.known: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        for start in range(0, len(missing), self.chunk):
            part = missing[start : start + self.chunk]
            self.known.update(zip(part, np.asarray(self.encode(part), dtype=np.float32)))
        vectors = np.stack([self.known[t] for t in texts])
        if len(self.known) > self.limit:
            self.known.clear()
        return vectors


def _group(members: list[LoggedQuestion]) -> QuestionGroup:
    phrasings = _phrasings(members)
    return QuestionGroup(
        question=phrasings[0], count=len(members), variants=tuple(phrasings[:VARIANTS_SHOWN]),
        answered=sum(m.answerable for m in members),
        helpful=sum(m.helpful is True for m in members), unhelpful=sum(m.helpful is False for m in members),
        last_asked=_latest(members))


def _phrasings(members: Sequence[LoggedQuestion]) -> list[str]:
    """Distinct phrasings (ignoring case and spacing), most common first, then most recent."""
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    latest: dict[str, str] = {}
    for m in members:
        key = " ".join(m.question.casefold().split())
        counts[key] += 1
        if m.asked_at >= latest.get(key, ""):
            shown[key], latest[key] = " ".join(m.question.split()), m.asked_at
    return [shown[k] for k in _most_first(counts, counts.__getitem__, latest.__getitem__)]


def _latest(members: Sequence[LoggedQuestion]) -> str:
    return max(m.asked_at for m in members)


def _most_first(items, size, latest) -> list:
    """Largest `size` first; among equals, the latest first (two stable sorts)."""
    return sorted(sorted(items, key=latest, reverse=True), key=size, reverse=True)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def minute(stamp: str) -> str:
    """"2026-11-24T05:01:02.345Z" -> "2026-11-24 05:01" (UTC)."""
    return stamp[:16].replace("T", " ")


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
