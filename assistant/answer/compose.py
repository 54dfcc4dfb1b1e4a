"""Ranked paragraphs -> an Answer: decide answerability from the passages that would
be cited, pick the sentences that answer, say which key terms the article doesn't
mention, number the citations. Extractive only: every sentence of an answer is a
verbatim sentence of a passage; nothing is generated.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from assistant.answer.conversation import END_OF_ARTICLE
from assistant.answer.fragments import plain_fragment_url
from assistant.answer.spelling import nearest
from assistant.content.passages import context_line
from assistant.records import Answer, Citation, Paragraph
from assistant.text.smalltalk import ACKNOWLEDGED, GOODBYE, GREETING, THANKS
from assistant.text.terms import COMMON_ZIPF, content_words, stemmer, zipf

# Answerability: evidence = the top paragraph's dense score + COVERAGE_WEIGHT x the
# share of the question's words that paragraph contains, each word weighted by how rare
# it is in English (a missing "annelids" or "1944" counts, a missing "year" hardly).
# Only the cited paragraph counts, not the corpus: in a real blog almost every word
# occurs somewhere. Measured on the multi-article dev set (one article / whole blog):
# 1.2% / 1.0% of answerable questions refused, 97.6% / 86% of off-topic ones refused.
COVERAGE_WEIGHT = 0.5
EVIDENCE_NEEDED = 0.55
RARITY_CAP = 4.0  # a word's weight: 6 - Zipf frequency, between 0 and this
RARITY_BASE = 6.0
KEY_POSITION = 3  # ... and one of them is among the question's first content words (its subject)
KEY_SHARE = 0.25  # unmentioned words count only when they carry this share of the question's rarity weight
PREFIX_MATCH = 6  # "retinol" is covered by "retinoids": shared prefix of 6+ letters
SENTENCE_WORD_WEIGHT = 0.15
STEMS_CACHED = 8192  # texts whose stems are kept (sentences, paragraphs): a few MB
REPEAT_MARGIN = 0.05  # a follow-up's sentence not quoted yet is preferred when it scores this close to a quoted one
SECOND_SENTENCE_MARGIN = 0.1  # a second paragraph's lead is quoted too when it scores this close
# the better neighbour always completes the best sentence (only when within 0.2 of it: 0.03
# fewer answers held the answer) unless the two run past LEAD_CHARS (median answer ~340)
LEAD_CHARS = 400
# a lead under this many characters takes its better neighbour too (within LEAD_CHARS):
# answers holding the gold answer 0.858 -> 0.871 (one article) and 0.860 -> 0.875 (whole
# blog) on the multi-article dev set, median answer 332 -> 340 characters; 250 passed 350
SHORT_LEAD = 200
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules)\b|\bsystem prompt\b|\bjailbreak\b", re.I
)
# ... and in a yes/no question, the everyday verbs and nouns any such question may use ("did
# he find work?": "find" 5.76), never "water" (5.52, "does drinking more water help?")
YES_NO_COMMON_ZIPF = 5.6
_YES_NO = re.compile(r"^\W*(does|do|did|is|are|was|were|can|could|will|would|should|has|have|had)\b", re.I)
_ANY_YES_NO = frozenset("""help helps helped work works worked make makes made get gets got good bad better best worse
    really actually possible true right wrong use used using need needs way ways thing things much many lot mean means
    cause causes caused affect affects effect effects important matter matters happen happens also still ever
    else anything something everything other another more know tell""".split())
_NEVER_KEY = frozenset({"rid"})
# a sentence that can't stand alone: what it refers to is in the sentence before
_DANGLING = re.compile(r"^(these|this|they|it|those|such|that|there|here|its|their|common examples|examples|"
                       r"for (example|instance)|however|but|also|in addition|as a result|similarly|likewise|then)\b", re.I)


def mentions(paragraph: Paragraph) -> str:
    """What a paragraph mentions: its text, and its headings and title ("Preventing…" covers "prevent")."""
    first = paragraph.pieces[0]
    return f"{context_line(first.doc_title, first.section)}\n{paragraph.text}"


def _weight(word: str) -> float:
    return min(RARITY_CAP, max(0.0, RARITY_BASE - zipf(word)))


def _covered(stem: str, word: str, stems: frozenset[str]) -> bool:
    if stem in stems:
        return True
    prefix = word[:PREFIX_MATCH]
    return len(word) >= PREFIX_MATCH and any(s.startswith(prefix) for s in stems)


@lru_cache(maxsize=STEMS_CACHED)
def _stems(text: str) -> frozenset[str]:
    """A text's stemmed content words: cached, as the same sentences and paragraphs are
    scored on every question that reaches them."""
    return frozenset(stemmer().stemWords(content_words(text)))


def coverage(question: str, text: str) -> float:
    """Rarity-weighted share of the question's content words that occur in `text`."""
    words = content_words(question)
    if not words:
        return 0.0
    stems = _stems(text)
    weights = [_weight(w) for w in words] if any(_weight(w) for w in words) else [1.0] * len(words)
    found = sum(w for w, word, stem in zip(weights, words, stemmer().stemWords(words)) if _covered(stem, word, stems))
    return found / sum(weights)


def evidence(question: str, top: Paragraph | None, topic: str = "") -> float:
    """How strongly the paragraph that would be cited speaks to the question. A follow-up
    with no words of its own ("what do they do?") is covered as its `topic` is."""
    if top is None:
        return 0.0
    words = question if content_words(question) or not topic else topic
    return top.hit.dense + COVERAGE_WEIGHT * coverage(words, mentions(top))


def is_answerable(question: str, top: Paragraph | None, needed: float = EVIDENCE_NEEDED, topic: str = "") -> bool:
    """`needed`: the bar for this index (answer/calibrate.py raises it for wide corpora)."""
    return evidence(question, top, topic) >= needed


def not_covered(question: str, paragraphs: Sequence[Paragraph], vocabulary: frozenset[str] = frozenset()
                ) -> tuple[str, ...]:
    """The question's key terms that none of `paragraphs` mentions: "does smoking cause
    wrinkles?" -> ("smoking",). A key term is a content word that is not common English,
    that the corpus (`vocabulary`, stemmed) never uses, not even spelt one letter apart
    (a typo is not a new subject), and that is not an -ly adverb or -ed verb form (crowd
    questions paraphrase with "formerly", "intended"; a subject is a thing). Together
    they must weigh KEY_SHARE of the question: "What percentage of households had
    children under 18?" is answered although the article writes "%". And one of them
    must come early, where English puts a question's subject ("does smoking…", "is
    botox…"), not in a closing clause ("…near my eyes when I laugh?")."""
    stems = set().union(*(_stems(mentions(p)) for p in paragraphs)) if paragraphs else set()
    words = list(dict.fromkeys(content_words(question)))
    yes_no = bool(_YES_NO.match(question))
    unmentioned = [(word, stem) for word, stem in zip(words, stemmer().stemWords(words))
                   if not (_common(word, yes_no) or len(word) <= 2 or word.endswith(("ly", "ed"))
                           or _covered(stem, word, stems) or stem in vocabulary)]
    # the typo search (a scan of the vocabulary) only when the other rules leave a gap:
    # it can only shrink one
    if not _is_gap([w for w, _ in unmentioned], words):
        return ()
    missing = [word for word, stem in unmentioned if not _misspelt(stem, vocabulary)]
    return tuple(missing) if _is_gap(missing, words) else ()


def _common(word: str, yes_no: bool) -> bool:
    """Too common to be a key term, except in a yes/no question, whose every word is part of
    what is asked ("does drinking water reduce wrinkles?", "does it hurt?"), bar the words
    any such question uses ("does it help?", "is it good?"). "rid" (Zipf 4.2) is never
    one: it only says "get rid of"."""
    if word in _NEVER_KEY:
        return True
    if yes_no:
        return word in _ANY_YES_NO or zipf(word) >= YES_NO_COMMON_ZIPF
    return zipf(word) >= COMMON_ZIPF


def _is_gap(missing: list[str], words: list[str]) -> bool:
    """The unmentioned words weigh KEY_SHARE of the question, and one of them is its subject."""
    total = sum(_weight(w) for w in words)
    if not missing or (total and sum(_weight(w) for w in missing) < KEY_SHARE * total):
        return False
    return bool(set(missing) & set(words[:KEY_POSITION]))  # "…when I laugh?": a circumstance, not the subject


def _misspelt(stem: str, vocabulary: frozenset[str]) -> bool:
    """`stem` is one edit (two for long words) from a corpus term: "buit", "invaild"."""
    return nearest(stem, vocabulary) is not None


def is_injection(question: str) -> bool:
    """Prompt-injection phrasing: there is no LLM to fool, but it is not a question
    about the article, and answering it would look like compliance."""
    return bool(_INJECTION.search(question))


def refusal(question: str, topics: list[str], query: str = "", missing: tuple[str, ...] = (),
            subject: str = "article") -> Answer:
    """No citations: what the article (or, over several, the blog: `subject`) doesn't
    cover, naming the key terms it never mentions when there are any, and what it does."""
    missing = tuple(w for w in missing if zipf(w) > 0)  # never echo gibberish or a foreign script back
    first = f"The {subject} doesn't mention {_listed(missing)}." if missing else f"The {subject} doesn't cover that."
    text = f"{first} It covers: {'; '.join(topics)}." if topics else first
    return Answer(question=question, answerable=False, text=text, citations=(), query=query or question,
                  not_covered=missing)


def _sentences(paragraph: Paragraph) -> list[tuple[int, int, int]]:
    """Every sentence of the paragraph as (piece, start, end), start/end in the joined text."""
    spans, offset = [], 0
    for n, piece in enumerate(paragraph.pieces):
        spans += [(n, offset + a, offset + b) for a, b in piece.sentences] or [(n, offset, offset + len(piece.text))]
        offset += len(piece.text) + 1
    return spans


def _sentence_scores(paragraph: Paragraph, spans, query_vector: np.ndarray, question: str) -> list[float]:
    text = paragraph.text
    vectors = [v for piece, vs in zip(paragraph.pieces, paragraph.sentence_vectors)
               for v in (vs if len(piece.sentences) else [None])]
    scores = []
    for (_, a, b), vector in zip(spans, vectors):
        cosine = float(vector @ query_vector) if vector is not None else paragraph.hit.dense
        scores.append(cosine + SENTENCE_WORD_WEIGHT * coverage(question, text[a:b]))
    return scores


def lead_span(paragraph: Paragraph, query_vector: np.ndarray, question: str, said: Sequence[str] = ()
              ) -> tuple[int, int, float]:
    """The best sentence plus the neighbour that completes it: the one before when the
    best one leans on it ("These wrinkles…", "Common examples include…"), else the
    better scoring of its neighbours; and while that is short, the better neighbour of
    what is taken. Sentences the conversation already quoted (`said`) are passed over
    when one not quoted yet scores within REPEAT_MARGIN of the best ("give me some
    examples" still gets the examples). Returns (start, end, best sentence's score)."""
    spans = _sentences(paragraph)
    scores = _sentence_scores(paragraph, spans, query_vector, question)
    repeated = [bool(said) and any(paragraph.text[a:b].strip() in s for s in said) for _, a, b in spans]
    free = [not r for r in repeated]
    if not any(free) or max(s for s, f in zip(scores, free) if f) < max(scores) - REPEAT_MARGIN:
        free = [True] * len(spans)  # nothing new answers as well: the quote stands
    best = max((i for i in range(len(spans)) if free[i]), key=lambda i: scores[i])
    text = paragraph.text
    first, last = best, best
    if best > 0 and free[best - 1] and _DANGLING.match(text[spans[best][1]:spans[best][2]]):
        first = best - 1
    else:
        before = scores[best - 1] if best > 0 and free[best - 1] else None
        after = scores[best + 1] if best + 1 < len(spans) and free[best + 1] else None
        if before is not None or after is not None:
            first, last = (best - 1, best) if after is None or (before is not None and before >= after) else (best, best + 1)
            if spans[last][2] - spans[first][1] > LEAD_CHARS:
                first, last = best, best
    while spans[last][2] - spans[first][1] < SHORT_LEAD:  # short sentences: one more, the better neighbour
        options = [i for i in (first - 1, last + 1) if 0 <= i < len(spans) and free[i]]
        if not options:
            break
        pick = max(options, key=lambda i: scores[i])
        if spans[max(last, pick)][2] - spans[min(first, pick)][1] > LEAD_CHARS:
            break
        first, last = min(first, pick), max(last, pick)
    return spans[first][1], spans[last][2], scores[best]


def compose(question: str, query: str, paragraphs: Sequence[Paragraph], query_vector: np.ndarray,
            missing: tuple[str, ...] = (), subject: str = "article", said: Sequence[str] = ()) -> Answer:
    """The answer text (the lead sentences, marked [n]) and the numbered citations; only
    the citations the text quotes are marked `quoted`. `said`: what the conversation
    already quoted, not quoted again where a paragraph has something else."""
    leads = [lead_span(p, query_vector, question, said) for p in paragraphs]
    quoted = {0}
    if len(leads) > 1 and not missing and leads[1][2] >= leads[0][2] - SECOND_SENTENCE_MARGIN:
        quoted.add(1)
    return _cited(question, query, paragraphs, leads, quoted, missing, subject)


def read_on(question: str, paragraph: Paragraph, said: Sequence[str], subject: str = "article") -> Answer | None:
    """"Tell me more", "what else?": the paragraph's first sentences after the last one
    the conversation quoted (a lead of SHORT_LEAD, within LEAD_CHARS), or None when
    nothing after it is left."""
    spans = _sentences(paragraph)
    text = paragraph.text
    quoted = [n for n, (_, a, b) in enumerate(spans) if any(text[a:b].strip() in s for s in said)]
    first = quoted[-1] + 1 if quoted else 0
    if first >= len(spans):
        return None
    last = first
    while (last + 1 < len(spans) and spans[last][2] - spans[first][1] < SHORT_LEAD
           and spans[last + 1][2] - spans[first][1] <= LEAD_CHARS):
        last += 1
    return _cited(question, question, [paragraph], [(spans[first][1], spans[last][2], 0.0)], {0}, (), subject)


_SMALL_TALK = {GREETING: "Hello!", THANKS: "You're welcome.", GOODBYE: "Goodbye!", ACKNOWLEDGED: ""}


def small_talk(question: str, kind: str, topics: list[str], subject: str = "article") -> Answer:
    """The fixed reply to a greeting, thanks or "ok" (text/smalltalk.py): no quote, and
    what the article (or blog) covers, so the reader knows what to ask."""
    covers = f" It covers: {'; '.join(topics)}." if topics else ""
    text = f"{_SMALL_TALK.get(kind, '')} Ask me anything about the {subject}.{covers}".strip()
    return Answer(question=question, answerable=False, text=text, citations=(), query=question)


def nothing_more(question: str, title: str, subject: str = "article") -> Answer:
    """A request to read on when the conversation has reached the article's end."""
    text = f"{END_OF_ARTICLE} “{title}”: the {subject} says nothing more after it."
    return Answer(question=question, answerable=False, text=text, citations=(), query=question)


def _cited(question: str, query: str, paragraphs: Sequence[Paragraph], leads, quoted: set[int],
           missing: tuple[str, ...], subject: str) -> Answer:
    """The Answer quoting each paragraph's lead span (a, b) whose position is in `quoted`."""
    citations = []
    for n, (paragraph, (a, b, _)) in enumerate(zip(paragraphs, leads), start=1):
        piece = paragraph.pieces[0]
        text = paragraph.text
        citations.append(Citation(n, piece.doc_title, piece.section_path, plain_fragment_url(piece.url, text[a:b]), text,
                                  round(paragraph.hit.score, 4), paragraph.hit.passage.id, (a, b), (n - 1) in quoted))
    body = " ".join(f"{c.sentence} [{c.n}]" for c in citations if c.quoted)
    if missing:
        body = f"The {subject} doesn't mention {_listed(missing)}. The closest it comes: {body}"
    return Answer(question=question, answerable=True, text=body, citations=tuple(citations), query=query,
                  not_covered=missing)


def _listed(words: tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
