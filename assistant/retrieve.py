"""Query -> ranked passages: dense (FAISS inner product) fused with BM25 (bm25s).

Also exposes the evidence the answerability check needs (best cosine, how much of
the query's vocabulary the corpus knows). It does not decide or compose answers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from .index import Index
from .passages import context_line
from .records import Hit

RRF_K = 60
LEXICAL_WEIGHT = 0.3
SENTENCE_WEIGHT = 0.3  # share of a passage's dense score taken from its best sentence
SECTION_WEIGHT = 0.1  # headings are strong evidence: "conclusion", "sun protection"
CANDIDATES = 100  # passages scored in detail per query, from each of dense and BM25
_WORD = re.compile(r"(?u)\b\w\w+\b")


@dataclass(frozen=True)
class Ranking:
    """Every candidate passage for one query, best first, and the query's evidence."""

    hits: tuple[Hit, ...]
    best_dense: float
    terms: tuple[str, ...]  # stemmed content words of the query
    known_terms: tuple[str, ...]  # those that occur in the corpus


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS  # the 33-word STOPWORDS_EN keeps "what", "how", "when"

    return frozenset(STOPWORDS_EN_PLUS)


def content_terms(text: str) -> tuple[str, ...]:
    """A text's stemmed content words, as BM25 sees them: "What are crow's feet?" -> ("crow", "feet")."""
    stopwords = _stopwords()
    return tuple(_stemmer().stemWords([w for w in _WORD.findall(text.casefold()) if w not in stopwords]))


def blend(primary: Ranking, secondary: Ranking, weight: float) -> Ranking:
    """Rank by primary score + weight x secondary score (a passage missing from one
    ranking scores 0 there). Used for follow-ups: the reader's own words lead, the
    topic borrowed from the conversation supports."""
    scores: dict[str, float] = {}
    by_id: dict[str, Hit] = {}
    for hit in primary.hits:
        scores[hit.passage.id] = hit.score
        by_id[hit.passage.id] = hit
    for hit in secondary.hits:
        scores[hit.passage.id] = scores.get(hit.passage.id, 0.0) + weight * hit.score
        by_id.setdefault(hit.passage.id, hit)
    order = sorted(scores, key=lambda pid: -scores[pid])
    hits = tuple(Hit(by_id[pid].passage, scores[pid], by_id[pid].dense, by_id[pid].lexical, by_id[pid].row) for pid in order)
    return Ranking(hits, max(primary.best_dense, secondary.best_dense), secondary.terms, secondary.known_terms)


class Retriever:
    def __init__(self, index: Index, fusion: str = "linear"):
        self.index = index
        self.fusion = fusion

    @cached_property
    def _bm25(self):
        import bm25s
        from bm25s.tokenization import Tokenizer

        tokenizer = Tokenizer(stemmer=_stemmer(), stopwords=sorted(_stopwords()))
        texts = [f"{context_line(p.doc_title, p.section)}\n{p.text}" for p in self.index.passages]
        ids = tokenizer.tokenize(texts, update_vocab=True, return_as="ids", show_progress=False)
        model = bm25s.BM25()
        model.index(ids, show_progress=False)
        return model, tokenizer

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(t for t in self._bm25[1].get_vocab_dict() if t)

    @cached_property
    def _passage_matrix(self) -> np.ndarray:
        """All passage vectors as one (n, dim) array: a zero-copy view of FAISS's own
        storage (flat or HNSW) where possible."""
        import faiss

        index = self.index.faiss
        storage = faiss.downcast_index(index.storage) if hasattr(index, "storage") else index
        try:
            return faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * storage.d).reshape(storage.ntotal, storage.d)
        except (AttributeError, RuntimeError, TypeError):
            return index.reconstruct_n(0, index.ntotal)

    @cached_property
    def _sentence_counts(self) -> np.ndarray:
        return np.array([len(p.sentences) for p in self.index.passages], dtype=np.int64)

    @cached_property
    def _sentence_starts(self) -> np.ndarray:
        return np.asarray(self.index.sentence_rows, dtype=np.int64)

    @cached_property
    def _labels(self) -> list[frozenset[str]]:
        return [frozenset(content_terms(p.section[-1])) if p.section else frozenset() for p in self.index.passages]

    def section_scores(self, rows: np.ndarray, terms: tuple[str, ...]) -> np.ndarray:
        """Share of each passage's own heading that the query names."""
        wanted = set(terms)
        labels = self._labels
        return np.array([len(labels[i] & wanted) / len(labels[i]) if labels[i] else 0.0 for i in rows])

    def lexical_scores(self, terms: tuple[str, ...]) -> np.ndarray:
        """BM25 score of every passage for the query's stemmed content words."""
        model, tokenizer = self._bm25
        vocab = tokenizer.get_vocab_dict()
        ids = [vocab[t] for t in terms if t in vocab]
        if not ids:
            return np.zeros(len(self.index.passages), dtype=np.float32)
        return np.asarray(model.get_scores(ids), dtype=np.float32)

    def dense_scores(self, query_vector: np.ndarray, lexical: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidate rows (FAISS top ∪ BM25 top) and their dense scores: the passage
        cosine blended with its best sentence's cosine, so one sentence that answers
        the question lifts its paragraph."""
        k = min(self.index.faiss.ntotal, CANDIDATES)
        query_vector = np.asarray(query_vector, dtype=np.float32)
        _, rows = self.index.faiss.search(query_vector.reshape(1, -1), k)
        top = np.argpartition(-lexical, k - 1)[:k] if len(lexical) > k else np.arange(len(lexical))
        lexical_top = top[lexical[top] > 0]
        candidates = np.unique(np.concatenate([rows[0][rows[0] >= 0], lexical_top])).astype(np.int64)
        passage_cos = self._passage_matrix[candidates] @ query_vector
        # every candidate's best sentence in one gather + matmul + segmented max
        counts = self._sentence_counts[candidates]
        with_sentences = counts > 0
        best_sentence = passage_cos.copy()
        if with_sentences.any():
            n = counts[with_sentences]
            starts = np.cumsum(n) - n
            gather = np.repeat(self._sentence_starts[candidates[with_sentences]] - starts, n) + np.arange(n.sum())
            sentence_cos = np.maximum.reduceat(self.index.sentence_vectors[gather] @ query_vector, starts)
            best_sentence[with_sentences] = np.maximum(sentence_cos, passage_cos[with_sentences])
        return candidates, (1 - SENTENCE_WEIGHT) * passage_cos + SENTENCE_WEIGHT * best_sentence

    def rank(self, query: str, query_vector: np.ndarray) -> Ranking:
        terms = content_terms(query)  # stemmed once, for BM25, headings and answerability
        lexical_all = self.lexical_scores(terms)
        rows, dense = self.dense_scores(query_vector, lexical_all)
        lexical = lexical_all[rows]
        fused = self._fuse(dense, lexical) + SECTION_WEIGHT * self.section_scores(rows, terms)
        order = np.argsort(-fused, kind="stable")
        passages = self.index.passages
        hits = tuple(Hit(passages[rows[i]], float(fused[i]), float(dense[i]), float(lexical[i]), int(rows[i])) for i in order)
        return Ranking(hits, float(dense.max()) if len(dense) else 0.0, terms,
                       tuple(t for t in terms if t in self.vocabulary))

    def _fuse(self, dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        if self.fusion == "rrf":
            dense_rank = np.empty(len(dense)); dense_rank[np.argsort(-dense)] = np.arange(len(dense))
            lexical_rank = np.empty(len(lexical)); lexical_rank[np.argsort(-lexical)] = np.arange(len(lexical))
            lexical_part = np.where(lexical > 0, 1.0 / (RRF_K + lexical_rank + 1), 0.0)
            return 1.0 / (RRF_K + dense_rank + 1) + lexical_part
        if self.fusion == "dense":
            return dense.astype(np.float64)
        top = float(lexical.max()) if len(lexical) else 0.0
        normalised = lexical / top if top > 0 else lexical
        return dense + LEXICAL_WEIGHT * normalised
