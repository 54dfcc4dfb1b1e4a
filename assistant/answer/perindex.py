"""Data derived from a loaded index (the citation linker, the headings outline), made
once per index version and kept for the few most recent ones: a hot swap makes a new
one, and the old versions' go once no answer needs them."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from assistant.records import Passage

T = TypeVar("T")
KEPT = 4


def per_index(make: Callable[[Sequence[Passage]], T]) -> Callable[[object], T]:
    """index -> make(index.passages), cached by (index folder, manifest version)."""
    made: dict[tuple[str, str], T] = {}

    def of(index) -> T:
        key = (str(index.directory), index.manifest.version)
        if key not in made:
            while len(made) >= KEPT:
                made.pop(next(iter(made)))
            made[key] = make(index.passages)
        return made[key]

    return of
