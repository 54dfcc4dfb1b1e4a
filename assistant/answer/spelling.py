"""A question's misspelt words, spelt as the corpus spells them, before anything is
decided: "What does Colagen do?" is searched, judged and answered as "What does collagen
do?". A word is corrected when the corpus never uses it (by its stem), it is no English
word at all ("conclude" is a word, not a misspelt "conclusion"; "fiqh" is rare, not wrong),
and a corpus term is one edit away, begins with the same letter, is a rare word itself
(a technical term, where a typo costs the whole question: "fiqh" is not a misspelt "fish")
and is not the word with a suffix more or less ("Freemasonry" is not a misspelt
"freemason"). Acronyms ("ICTR") and contractions are left alone: a typo is not a new subject, so it
must not be refused as a name the blog never uses, and a new subject is not a typo.
The reader's own words are still what the answer shows.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache

from assistant.text.terms import content_words, stemmer, zipf

TYPO_ZIPF = 1.0  # wordfreq's Zipf scale: "colagen" 0, "wrinkels" 0; "conclude" 3.9
TERM_ZIPF = 3.5  # what a typo may be corrected to: "collagen" 3.25, "elastin" 0; not "cooler" 3.96, "regime" 4.3
MIN_LETTERS = 4  # shorter words are too often other words
_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def surface_words(texts: Iterable[str]) -> dict[str, str]:
    """Each stem the corpus uses -> its commonest written form ("collagen" -> "collagen",
    "wrinkl" -> "wrinkles")."""
    counts = Counter(w for text in texts for w in content_words(text))
    words = [w for w, _ in counts.most_common()]
    found: dict[str, str] = {}
    for word, stem in zip(words, stemmer().stemWords(words)):
        found.setdefault(stem, word)
    return found


def respelt(question: str, vocabulary: frozenset[str], written: Callable[[str], str]) -> str:
    """`question` with each misspelt word replaced by the corpus's word (see above), as
    `written` spells a stem; unchanged when nothing is misspelt."""
    def fix(match: re.Match) -> str:
        word = match.group()
        lower = word.casefold()
        if len(word) < MIN_LETTERS or word.isupper() or not word.isalpha() or zipf(lower) >= TYPO_ZIPF:
            return word
        stem = stemmer().stemWord(lower)
        if stem in vocabulary:
            return word
        near = nearest(stem, vocabulary, 1)
        if not near or near[0] != stem[0] or near.startswith(stem) or stem.startswith(near):
            return word
        spelt = written(near)
        return spelt if zipf(spelt) < TERM_ZIPF else word

    return _WORDS.sub(fix, question)


def nearest(stem: str, vocabulary: frozenset[str], most: int | None = None) -> str | None:
    """The corpus term one edit from `stem` (two for long stems, unless `most` says), or None."""
    if len(stem) < MIN_LETTERS or not vocabulary:
        return None
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    allowed = most or (1 if len(stem) < 8 else 2)
    by_length = _by_length(vocabulary)
    best = None
    for n in range(len(stem) - allowed, len(stem) + allowed + 1):
        found = process.extractOne(stem, by_length.get(n, ()), scorer=OSA.distance, score_cutoff=allowed)
        if found is not None and (best is None or found[1] < best[1]):
            best = found
    return best[0] if best else None


@lru_cache(maxsize=4)
def _by_length(vocabulary: frozenset[str]) -> dict[int, tuple[str, ...]]:
    """The vocabulary by word length: a term k edits away is within k letters of the
    stem's length, so a 100k-passage blog's vocabulary is not scanned whole per word."""
    groups: dict[int, list[str]] = {}
    for term in vocabulary:
        groups.setdefault(len(term), []).append(term)
    return {n: tuple(sorted(terms)) for n, terms in groups.items()}
