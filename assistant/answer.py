"""Ranked passages -> an Answer: decide answerability, pick the sentences that best
match the question, number the citations. Extractive only: every sentence of an
answer is a verbatim sentence of a passage; nothing is generated.
"""
from __future__ import annotations

import re
from urllib.parse import quote

import numpy as np

from .records import Answer, Citation, Hit
from .retrieve import Ranking

# Answerability: evidence = best dense score + COVERAGE_WEIGHT x the share of the
# question's content words that occur in the corpus. MiniLM scores some in-scope
# questions low ("What are crow's feet?" 0.30) and some off-topic ones not much lower
# ("square root of 144" 0.12); the article's own words separate them. Calibrated on
# tests/eval/questions.jsonl + dev: off-topic max 0.215 / in-scope min 0.307 with fp32
# vectors, 0.236 / 0.277 with the default int8 ones (a bare "summary" aside).
COVERAGE_WEIGHT = 0.25
EVIDENCE_NEEDED = 0.26
SENTENCE_WORD_WEIGHT = 0.15
SECOND_SENTENCE_MARGIN = 0.06
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules)\b|\bsystem prompt\b|\bjailbreak\b", re.I
)
_DANGLING = re.compile(r"^(these|this|they|it|those|such)\b", re.I)


def evidence(ranking: Ranking) -> float:
    """How strongly the corpus speaks to the query (see COVERAGE_WEIGHT)."""
    coverage = len(ranking.known_terms) / len(ranking.terms) if ranking.terms else 0.0
    return ranking.best_dense + COVERAGE_WEIGHT * coverage


def is_answerable(ranking: Ranking) -> bool:
    return bool(ranking.hits) and evidence(ranking) >= EVIDENCE_NEEDED


def is_injection(question: str) -> bool:
    """Prompt-injection phrasing: there is no LLM to fool, but it is not a question
    about the article, and answering it would look like compliance."""
    return bool(_INJECTION.search(question))


def refusal(question: str, topics: list[str], query: str = "") -> Answer:
    listed = "; ".join(topics)
    text = f"The article doesn't cover that. It covers: {listed}." if listed else "The article doesn't cover that."
    return Answer(question=question, answerable=False, text=text, citations=(), query=query or question)


FRAGMENT_EDGE_WORDS = 4


def _fragment_part(text: str) -> str:
    return quote(text, safe="").replace("-", "%2D")


def text_fragment_url(url: str, sentence: str) -> str:
    """`url` plus a text fragment (#:~:text=start,end) that makes the browser scroll to
    and highlight `sentence`; kept after any section anchor."""
    words = sentence.split()
    if len(words) > 2 * FRAGMENT_EDGE_WORDS:
        directive = f"{_fragment_part(' '.join(words[:FRAGMENT_EDGE_WORDS]))},{_fragment_part(' '.join(words[-FRAGMENT_EDGE_WORDS:]))}"
    else:
        directive = _fragment_part(" ".join(words))
    return f"{url}:~:text={directive}" if "#" in url else f"{url}#:~:text={directive}"


def _best_sentence(hit: Hit, sentence_vectors: np.ndarray, query_vector: np.ndarray, terms: set[str], term_of) -> tuple[int, float]:
    """Index and score of the passage sentence that best matches the question."""
    passage = hit.passage
    if not passage.sentences:
        return -1, hit.dense
    cosines = sentence_vectors @ query_vector
    best, best_score = 0, -9.0
    for i, sentence in enumerate(passage.sentence_texts()):
        overlap = len(terms & set(term_of(sentence))) / len(terms) if terms else 0.0
        score = float(cosines[i]) + SENTENCE_WORD_WEIGHT * overlap
        if score > best_score:
            best, best_score = i, score
    return best, best_score


def compose(question: str, query: str, ranking: Ranking, top: list[tuple[Hit, np.ndarray]],
            query_vector: np.ndarray, term_of) -> Answer:
    """The answer text (best sentences, marked [n]) and the numbered citations."""
    terms = set(ranking.terms)
    citations, picks = [], []
    for n, (hit, sentence_vectors) in enumerate(top, start=1):
        i, score = _best_sentence(hit, sentence_vectors, query_vector, terms, term_of)
        passage = hit.passage
        span = passage.sentences[i] if i >= 0 else (0, len(passage.text))
        if i > 0 and _DANGLING.match(passage.text[span[0]:span[1]]):
            span = (passage.sentences[i - 1][0], span[1])  # keep the sentence "These…" refers to
        url = text_fragment_url(passage.url, passage.text[span[0]:span[1]])
        citations.append(Citation(n, passage.doc_title, passage.section_path, url, passage.text,
                                  round(hit.score, 4), passage.id, span))
        picks.append(score)
    lead = [citations[0]]
    if len(citations) > 1 and picks[1] >= picks[0] - SECOND_SENTENCE_MARGIN:
        lead.append(citations[1])
    text = " ".join(f"{c.sentence} [{c.n}]" for c in lead)
    return Answer(question=question, answerable=True, text=text, citations=tuple(citations), query=query)
