"""Conversation -> what the reader is talking about: the earlier turns in any of the
shapes clients send, the text of the last answer (whose quotes name the paragraph under
discussion), and whether a new question leans on what came before.

It reads the history and the question only; it never looks at the index. The engine
decides from evidence whether a turn is a follow-up (FollowUps._resolve in engine/followups.py).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.text.smalltalk import asks_for_more, pleasantry
from assistant.text.terms import COMMON_ZIPF, content_words, zipf

_OPENERS = re.compile(r"^\W*(and|but|also|so|then|what about|how about|what if|what else|anything else|ok|okay)\b", re.I)
# words that point back at something said before: pronouns of every kind, "else", "there"
_REFERENCES = frozenset(
    """it its itself they them their theirs themselves this that these those one ones he him his she her hers
    there such else other others same former latter""".split()
)
_POSSESSIVES = frozenset({"its", "his", "her", "their", "theirs"})
_MARKER = re.compile(r"\s*\[\d+\]")
_NOT_MENTIONED = re.compile(r"^The (?:article|blog) doesn't mention [^.]*\. The closest it comes: ")
END_OF_ARTICLE = "That was the end of"  # how an answer to "tell me more" at the article's end opens
ELLIPSIS_WORDS = 3  # "how many?", "which ingredients?": too few words to stand alone


@dataclass(frozen=True)
class Topic:
    """What the last answer was about: its paragraph, that paragraph's heading (or its
    article's title), and the words a follow-up also borrows (the last question)."""

    label: str
    terms: str
    rows: tuple[int, ...]
    doc_slug: str


def turns(history: Iterable | None) -> list[tuple[str, str]]:
    """(role, text) of each earlier message, from any of the shapes callers send: plain
    strings (the reader's), (user, bot) pairs, or {"role", "content"} messages."""
    found: list[tuple[str, str]] = []
    for item in history or ():
        if isinstance(item, str):
            found.append(("user", item))
        elif isinstance(item, dict) and item.get("role") in ("user", "assistant"):
            found.append((item["role"], _text_of(item.get("content"))))
        elif isinstance(item, (list, tuple)) and item:
            found.append(("user", _text_of(item[0])))
            if len(item) > 1:
                found.append(("assistant", _text_of(item[1])))
    return [(role, text) for role, text in found if text.strip()]


def last_exchange(history: Iterable | None, quoting: bool = False) -> tuple[str, str]:
    """The reader's last question and the answer that followed it ("" when absent),
    small talk ("thanks!") passed over. `quoting`: the last exchange whose answer quoted
    the article, if any (a request to go on after "That was the end of …" still knows
    where the reading stopped)."""
    exchanges: list[list[str]] = []
    for role, text in turns(history):
        if role == "user":
            exchanges.append([text, ""])
        elif exchanges:
            exchanges[-1][1] = text
        else:
            exchanges.append(["", text])
    exchanges = [e for e in exchanges if not pleasantry(e[0])]  # "thanks!" leaves the topic where it was
    if quoting:  # (a client that sends only the questions: the last one)
        exchanges = [e for e in exchanges if quoted_sentences(e[1])] or exchanges
    return (exchanges[-1][0], exchanges[-1][1]) if exchanges else ("", "")


def last_own_question(history: Iterable | None) -> str:
    """The reader's last question with a subject of its own (not "what else?")."""
    return next((text for role, text in reversed(turns(history)) if role == "user" and not asks_for_more(text)), "")


def said(history: Iterable | None) -> list[str]:
    """Every sentence the conversation's answers quoted, oldest first."""
    return [sentence for text in answers_given(history) for sentence in quoted_sentences(text)]


def answers_given(history: Iterable | None) -> list[str]:
    """The text of every earlier answer, oldest first."""
    return [text for role, text in turns(history) if role == "assistant"]


def quoted_sentences(answer_text: str) -> list[str]:
    """The article's sentences an earlier answer quoted: its text without [n] markers,
    Markdown escapes or the "doesn't mention" preface, cut at the markers."""
    text = answer_text.split("\n\n", 1)[0]  # the chat's Markdown: the answer, then its citations
    text = re.sub(r"\\(.)", r"\1", text)
    text = _NOT_MENTIONED.sub("", text)
    if text.startswith(("The article doesn't cover that", "The blog doesn't cover that", END_OF_ARTICLE)):
        return []
    return [part.strip() for part in _MARKER.split(text) if part.strip()]


_NEW_ASPECT = re.compile(r"^\W*(what about|how about)\b", re.I)


def new_aspect(question: str) -> bool:
    """"what about its train stations?": the same subject, another side of it, so the
    paragraph under discussion is not the likelier answer (its article still is)."""
    match = _NEW_ASPECT.match(question)
    return bool(match) and bool(content_words(question[match.end():]))


def points_back(question: str) -> bool:
    """Does the question refer to something said before ("are they risky?", "what else?")?
    A possessive after a name the question gives refers to that name: "How did Pakistan
    boost its doctoral output?" stands on its own."""
    named = False
    for n, word in enumerate(re.findall(r"[\w']+", question)):
        lower = word.casefold()
        if lower in _REFERENCES and not (named and lower in _POSSESSIVES):
            return True
        named = named or (n > 0 and word[:1].isupper() and lower != "i")
    return False


def leans_on_context(question: str) -> bool:
    """Does the question point back, open as a continuation ("and…", "what about…") or
    leave out its subject ("how many?", or only common words: "how many people died?",
    "give me an example")? Such a question may be a follow-up even if it alone is
    answerable. The common-words rule lifted follow-up hit@1 on tests/eval/external-blog
    from 0.638 / 0.659 to 0.659 / 0.681 (one article / whole blog), switches unchanged."""
    words = re.findall(r"[\w']+", question.casefold())
    own = content_words(question)
    return (bool(_OPENERS.match(question)) or points_back(question)
            or len(words) <= ELLIPSIS_WORDS or not own or all(zipf(w) >= COMMON_ZIPF for w in own))


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(_text_of(part) for part in content)
    return ""
