"""Messages with no subject of their own, told from their words alone:
- small talk, a greeting, thanks, an acknowledgement or a goodbye ("hi", "thanks!", "ok,
  got it", "bye"), matched whole from a closed list: a short fixed reply, never a quote
  ("Hi, what is collagen?" is a question: only whole messages match);
- requests to go on ("tell me more", "what else?"), which the engine answers from the
  conversation (engine/followups.py), not by searching.
The owner's insights leave both out of the questions asked about.
"""
from __future__ import annotations

import re

from assistant.text.terms import content_words

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


# "tell me more", "what else?", "anything else interesting?", "and then?", "go on": a
# request to go on, with no subject of its own (its every content word is one of these)
_MORE = re.compile(r"\b(else|more|next|then|afterwards?|after that|later|continue|go(ing)? on|keep going|"
                   r"other|another|interesting|explain|elaborate|expand|details?)\b", re.I)
_ELSE = re.compile(r"\b(else|other|another)\b", re.I)
_WANTS_KIND = re.compile(r"^\W*(?:(?:and|so|but)\s+)?(who|whom|whose|where|when|which|why|how)\b", re.I)
_MORE_WORDS = frozenset("""anything something else more next then after afterwards later continue go going keep on
    interesting tell happened happen happens know aspects aspect things thing facts fact information info stuff
    article post blog please details detail further explain elaborate expand""".split())
READ_ON, MORE_OF = "read on", "more of the same"


def asks_for_more(question: str) -> str:
    """What a question with no subject of its own asks the conversation for: READ_ON
    ("tell me more", "and then?", "what happened next?", "can you explain?"),
    MORE_OF the last question's answers ("what else?", "did she do anything else?"), or
    "" (a question of its own: "What else causes wrinkles?"; or one asking for a kind
    of answer the ranking looks for: "who else?", "where else?")."""
    if not _MORE.search(question) or _WANTS_KIND.match(question):
        return ""
    if not all(w in _MORE_WORDS for w in content_words(question)):
        return ""
    return MORE_OF if _ELSE.search(question) and "interesting" not in question.casefold() else READ_ON
