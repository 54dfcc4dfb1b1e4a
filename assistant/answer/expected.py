"""What a question asks for, and whether a text can give it: "how many…?", "when…?",
"until when?" ask for a number or a time, which a passage without one can't answer.
Used for follow-ups only, where the paragraph under discussion competes with the next."""
from __future__ import annotations

import re

_ASKS_NUMBER = re.compile(
    r"^\W*(?:(?:and|so|but|then)\s+)?(?:how (?:many|much|long|old|far|often)\b|(?:until|since|till)?\s*when\b|"
    r"(?:in |by |since |until )?(?:what|which) (?:year|date|age|percentage|number|decade|century)\b)", re.I)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|dozens?|half|centur(?:y|ies)|decades?|"
    r"january|february|march|april|june|july|august|september|october|november|december)\b", re.I)


def asks_for_number(question: str) -> bool:
    return bool(_ASKS_NUMBER.match(question))


def holds_number(text: str) -> bool:
    return bool(_NUMBER.search(text))


_FOLLOWED = re.compile(r"\b(next|afterwards?|later|in the end|eventually|finally|lead to|led to|result(ed)?|outcome|"
                       r"happened (then|after|next))\b", re.I)


def asks_what_followed(question: str) -> bool:
    """"was he found guilty in the end?", "what did it lead to?": what came after, which a
    text tells later on."""
    return bool(_FOLLOWED.search(question))
