"""Raw user input -> a clean question string, or InvalidQuestion with a friendly message.

Handles what readers paste: control characters, invalid UTF-8 (lone surrogates),
bidi and zero-width marks, odd Unicode forms. It does not judge relevance.
"""
from __future__ import annotations

import re
import unicodedata

from assistant.errors import InvalidQuestion

EXAMPLE = "What are crow's feet?"


def readable(raw: object) -> str:
    """Any input as a string that encodes to UTF-8 (invalid bytes become U+FFFD, lone
    surrogates "?"), so echoing it back can never fail."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    text = "" if raw is None else str(raw)
    return text.encode("utf-8", errors="replace").decode("utf-8")


def printable(raw: object) -> str:
    """readable(raw) with every control character but tab and newline replaced by U+FFFD,
    for text kept and shown later (the question log): a NUL, an escape sequence or a
    carriage return must not reach a database, a terminal or a CSV file as itself."""
    return _CONTROL.sub("\ufffd", readable(raw))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(raw: object, max_chars: int) -> str:
    """The question as it will be searched; raises InvalidQuestion if empty or too long."""
    text = readable(raw)
    if len(text) > max_chars * 4:  # don't spend time normalising a pasted book
        raise InvalidQuestion(_too_long(len(text), max_chars))
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in text
        if unicodedata.category(ch) not in ("Cf", "Cs", "Co", "Cn")
    )
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise InvalidQuestion(f"Please type a question about the article, for example: {EXAMPLE}")
    if len(text) > max_chars:
        raise InvalidQuestion(_too_long(len(text), max_chars))
    return text


def _too_long(length: int, max_chars: int) -> str:
    return f"That question is {length:,} characters long; please keep it under {max_chars:,} characters."
