"""Words -> the terms search compares: stemmed content words (BM25's view of a text),
and how telling each word is in general English (to find a question's key terms).

It does not look at any index; corpus statistics live with the retriever.
"""
from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"(?u)\b\w\w+\b")
COMMON_ZIPF = 4.8  # wordfreq Zipf scale: "cause" 5.3, "smoking" 4.5, "wrinkles" 3.3, "botox" 3.1
TITLE_WORD, TITLE_WORDS, TITLE_SHARE = 3, 3, 0.75  # names(): of 3+ words of 3+ letters, 3 in 4 capitalised


@lru_cache(maxsize=1)
def stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import (
        STOPWORDS_EN_PLUS,  # the 33-word STOPWORDS_EN keeps "what", "how", "when"
    )

    return frozenset(STOPWORDS_EN_PLUS)


def content_words(text: str) -> list[str]:
    """Lower-cased words of `text` that are not stopwords, in order."""
    stop = stopwords()
    return [w for w in _WORD.findall(text.casefold()) if w not in stop]


def names(text: str) -> frozenset[str]:
    """Lower-cased words that `text` writes as a name: capitalised after its first word
    ("When is Brasilia's rainy season?" -> brasilia), or in capitals ("HDI"). A question
    in title case ("Does Sensation Return to the Nasal Tip?", a pasted headline) says
    nothing by its capitals but its acronyms."""
    words = [m.group() for m in _WORD.finditer(text)]
    titled = _title_case(words)
    found = set()
    for n, word in enumerate(words):
        if word.isupper() or (not titled and n > 0 and word[0].isupper()):
            found.add(word.casefold())
    return frozenset(found)


def _title_case(words: list[str]) -> bool:
    """Most longer words after the first are capitalised: a headline, not a sentence."""
    long = [w for w in words[1:] if len(w) >= TITLE_WORD and not w.isdigit()]
    return len(long) >= TITLE_WORDS and sum(w[0].isupper() for w in long) >= TITLE_SHARE * len(long)


def content_terms(text: str) -> tuple[str, ...]:
    """A text's stemmed content words, as BM25 sees them: "What are crow's feet?" -> ("crow", "feet")."""
    return tuple(stemmer().stemWords(content_words(text)))


@lru_cache(maxsize=65536)
def zipf(word: str) -> float:
    """How common `word` is in English (wordfreq's Zipf scale, 0 for unseen words); the
    small list (29k words, 4 MB) is enough: anything outside it counts as rare."""
    from wordfreq import zipf_frequency

    if word.isdigit():
        return 0.0  # a year or a number is as specific as a name
    return zipf_frequency(word, "en", wordlist="small")


def is_common(word: str) -> bool:
    return zipf(word) >= COMMON_ZIPF
