"""What the question log keeps of a reader's text: e-mail addresses and phone-like numbers
masked before anything is stored. The log stores no IP address, cookie or user id."""
from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()./-]{5,}\d")


def masked(question: str) -> str:
    """The question with e-mail addresses and phone-like numbers replaced: readers
    sometimes type them, and the owner needs neither to see what was asked."""
    return _PHONE.sub("[number]", _EMAIL.sub("[email]", question))
