"""Whether a post is public yet, from its metadata (front matter or sidecar): `draft: true`,
`published: false` or a `date` still to come keep it out of the index, so out of the
answers and the article pages too. Pure: the caller says what time it is. Finding the
metadata is corpus.py's.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from assistant.records import Skipped

_YES = frozenset({"true", "yes"})
_NO = frozenset({"false", "no"})


def _flag(value: object) -> bool | None:
    """YAML's booleans, and "true"/"yes"/"false"/"no" in any case; None for anything else."""
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else ""
    return True if word in _YES else False if word in _NO else None


def publication_date(meta: Mapping) -> datetime | None:
    """The post's `date` in UTC: a date alone is that day at 00:00 UTC, a time without a zone
    is taken as UTC. None when there is no date, or none that reads as one (ISO 8601)."""
    value = meta.get("date")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def withheld(meta: Mapping, now: datetime, source: str) -> Skipped | None:
    """Why the post `source` is not public at `now` (a timezone-aware time), or None if it is."""
    if _flag(meta.get("draft")) is True:
        return Skipped(source, "draft", "a draft (draft: true)")
    if _flag(meta.get("published")) is False:
        return Skipped(source, "draft", "a draft (published: false)")
    due = publication_date(meta)
    if due is not None and due > now:
        return Skipped(source, "scheduled", f"scheduled for {due:%Y-%m-%d %H:%M} UTC")
    return None
