"""A message that is no question: a greeting, thanks, an acknowledgement or a goodbye
("hi", "thanks!", "ok, got it", "bye"), matched whole from a closed list. Such a message
gets a short fixed reply, never a quote, and the owner's insights leave it out of the
questions asked. "Hi, what is collagen?" is a question: only whole messages match.
"""
from __future__ import annotations

import re

GREETING, THANKS, ACKNOWLEDGED, GOODBYE = "greeting", "thanks", "acknowledged", "goodbye"

_PHRASES = {
    GREETING: r"(?:hi|hello|hey|hiya|howdy)(?: there)?|good (?:morning|afternoon|evening)|greetings",
    THANKS: r"thanks?(?: you)?(?: (?:so|very) much| a lot| a bunch)?|thx|ty|cheers|much appreciated|"
            r"(?:that|this) (?:was|is) (?:very |really |so )?(?:helpful|useful|great)",
    ACKNOWLEDGED: r"ok(?:ay)?|k|cool|great|nice|good|perfect|awesome|got it|i see|understood|alright|all right|"
                  r"makes sense|interesting|wow|sure|right|fine|yes|no|yeah|nope|huh|hmm+|hm+|uh|um+|oh|ah|lol|haha",
    GOODBYE: r"bye|goodbye|see you|see ya|that'?s all|that is all|good night",
}
_ONE = "|".join(f"(?:{p})" for p in _PHRASES.values())
# one to three of them, with commas, "and", "oh", "so" and punctuation or emoji between
_WHOLE = re.compile(rf"^[\W_]*(?:(?:oh|so|and|well|ah)\s+)?(?:{_ONE})(?:[\s\W_]+(?:and\s+)?(?:{_ONE})){{0,2}}[\s\W_]*$",
                    re.I)
_KINDS = [(kind, re.compile(rf"\b(?:{p})\b", re.I)) for kind, p in _PHRASES.items()]


def pleasantry(text: str) -> str:
    """The kind of small talk `text` is in full (GREETING, THANKS, ACKNOWLEDGED,
    GOODBYE; thanks before goodbye before a greeting), or "" for anything else."""
    if not _WHOLE.match(text):
        return ""
    found = {kind for kind, pattern in _KINDS if pattern.search(text)}
    return next((kind for kind in (THANKS, GOODBYE, GREETING, ACKNOWLEDGED) if kind in found), ACKNOWLEDGED)
