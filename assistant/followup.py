"""Conversation -> the query to search: a short follow-up ("and how do I prevent
them?", "what about around the eyes?") borrows the previous question's topic.

It only rewrites the query text; it never looks at the index.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

_OPENERS = re.compile(r"^(and|but|also|so|then|what about|how about|what if|ok|okay)\b", re.I)
_PRONOUNS = frozenset("it its they them their theirs this that these those ones one".split())
_FILLER = frozenset(
    """a an the and or but so then also what about how why when where which who whom is are was were
    be do does did can could should would will i me my you your we us our to of in on at for with from by
    around near more less any some there here ok okay please tell explain get have has""".split()
)
FOLLOWUP_MAX_WORDS = 4


def user_turns(history: Iterable | None) -> list[str]:
    """The reader's earlier messages, from any of the history shapes callers send:
    plain strings, (user, bot) pairs, or {"role", "content"} messages (Gradio)."""
    turns: list[str] = []
    for item in history or ():
        if isinstance(item, str):
            turns.append(item)
        elif isinstance(item, dict):
            if item.get("role") == "user":
                turns.append(_text_of(item.get("content")))
        elif isinstance(item, (list, tuple)) and item:
            turns.append(_text_of(item[0]))
    return [t for t in turns if t.strip()]


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(_text_of(part) for part in content)
    return ""


def is_followup(question: str) -> bool:
    words = re.findall(r"[\w']+", question.casefold())
    content = [w for w in words if w not in _FILLER and w not in _PRONOUNS]
    if _OPENERS.match(question.strip()):
        return True
    return any(w in _PRONOUNS for w in words) and len(content) <= FOLLOWUP_MAX_WORDS - 2 or len(content) == 0


def resolve(question: str, history: Iterable | None) -> str:
    """The query to search for `question`, given the earlier turns of the conversation."""
    topic = ""
    for turn in user_turns(history):
        topic = f"{topic} {turn}".strip() if is_followup(turn) and topic else turn
    if topic and is_followup(question):
        return f"{topic} {question}"
    return question
