"""A new index -> the evidence an answer needs on it, measured once at build time.

A wider corpus gives an off-topic question more paragraphs to half-match by chance, so
one fixed bar that refuses well on one article refuses little on a large blog. At build
time the index is asked a bundled bank of generic questions about other subjects
(data/probes.txt); the bar is their median evidence plus a margin, never below the
measured floor and never above a cap that would start refusing real questions.
It only measures; the engine applies the bar (compose.is_answerable).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.answer import compose

PROBES = Path(__file__).parent.parent / "data" / "probes.txt"
# Measured with the bundled bank: the probes' median evidence is 0.07 on the bundled
# article, 0.10-0.22 on single Wikipedia articles and 0.35 on twelve of them in one
# corpus, where off-topic questions start to pass the floor (86% refused at 0.55).
MARGIN = 0.2
CAP = 0.75  # above this, 5%+ of answerable questions on the multi-article dev set are refused


@lru_cache(maxsize=1)
def probes() -> tuple[str, ...]:
    lines = PROBES.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def threshold(median_probe_evidence: float) -> float:
    return float(min(CAP, max(compose.EVIDENCE_NEEDED, median_probe_evidence + MARGIN)))


def probe_evidence(retriever, embedder, paragraph_of) -> float:
    """Median evidence of the probe questions on this index (`paragraph_of(hit)` gives
    the Paragraph compose.evidence reads)."""
    questions = list(probes())
    if not retriever.index.passages or not questions:
        return 0.0
    vectors = embedder.encode(questions)
    scores = []
    for question, vector in zip(questions, vectors):
        ranking = retriever.rank(question, vector)
        scores.append(compose.evidence(question, paragraph_of(ranking.hits[0])) if ranking.hits else 0.0)
    return float(np.median(scores))
