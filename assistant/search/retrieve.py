"""Query -> ranked paragraphs: dense (FAISS inner product) fused with BM25 (bm25s).

The paragraph is the unit of relevance: the pieces of a long paragraph are scored
together, by their best piece and best sentence, so they never compete with each
other. Also finds the paragraph an earlier answer quoted, and lifts the paragraph under
discussion for a follow-up. It does not decide answerability or compose answers.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from assistant.content.passages import context_line
from assistant.records import Hit, Paragraph
from assistant.search.index import Index
from assistant.text.terms import content_terms, stemmer, stopwords

# Fusion, measured on the multi-article dev set (tests/eval/external-slice is a part of
# it) and the bundled article's sets: a paragraph's dense score leans on its best
# sentence (MiniLM matches a question to one sentence far better than to a 2,000-
# character paragraph), and BM25 is counted on both the paragraph and its best sentence.
PASSAGE_WEIGHT = 0.25  # dense: the paragraph's best piece ...
SENTENCE_WEIGHT = 0.75  # ... and its best sentence
LEXICAL_WEIGHT = 0.1  # BM25 of the whole paragraph, normalised to the query's best
SENTENCE_LEXICAL_WEIGHT = 0.2  # BM25 of its best sentence, normalised the same way
SECTION_WEIGHT = 0.1  # headings are strong evidence: "conclusion", "sun protection"
CANDIDATES = 50  # paragraphs scored in detail per query, from each of dense and BM25 (100 and 30, and a third list from sentence BM25, rank the dev sets alike)
PARAGRAPH_PRIOR = 0.05  # a follow-up: the paragraph the last answer quoted ...
ARTICLE_PRIOR = 0.1  # ... and its article
BM25_K1 = 0.9  # short crowd questions: term repetition saturates early (k1 1.5 lost 0.01 hit@1)


@dataclass(frozen=True)
class Ranking:
    """Every candidate paragraph for one query, best first."""

    hits: tuple[Hit, ...]
    terms: tuple[str, ...]  # stemmed content words of the query


def blend(primary: Ranking, secondary: Ranking, weight: float) -> Ranking:
    """Rank by primary score + weight x secondary score, each relative to its ranking's
    best (a paragraph missing from one ranking scores 0 there). Used for follow-ups: the
    reader's own words lead, the topic borrowed from the conversation supports."""
    scores: dict[tuple[int, ...], float] = {}
    by_key: dict[tuple[int, ...], Hit] = {}
    primary_top = max(primary.hits[0].score, 1e-9) if primary.hits else 1.0
    secondary_top = max(secondary.hits[0].score, 1e-9) if secondary.hits else 1.0
    for hit in primary.hits:
        scores[hit.rows] = hit.score / primary_top
        by_key[hit.rows] = hit
    for hit in secondary.hits:
        scores[hit.rows] = scores.get(hit.rows, 0.0) + weight * hit.score / secondary_top
        by_key.setdefault(hit.rows, hit)
    order = sorted(scores, key=lambda key: -scores[key])
    hits = tuple(Hit(by_key[k].passage, scores[k], by_key[k].dense, by_key[k].lexical, by_key[k].row, k) for k in order)
    return Ranking(hits, secondary.terms)


def _bm25(texts: list[str]):
    import bm25s
    from bm25s.tokenization import Tokenizer

    tokenizer = Tokenizer(stemmer=stemmer(), stopwords=sorted(stopwords()))
    ids = tokenizer.tokenize(texts, update_vocab=True, return_as="ids", show_progress=False)
    model = bm25s.BM25(k1=BM25_K1)
    model.index(ids, show_progress=False)
    return model, tokenizer.get_vocab_dict()


def _scores(bm25, terms: tuple[str, ...], size: int) -> np.ndarray:
    model, vocab = bm25
    ids = [vocab[t] for t in terms if t in vocab]
    if not ids:
        return np.zeros(size, dtype=np.float32)
    return np.asarray(model.get_scores(ids), dtype=np.float32)


def _scores_of(bm25, terms: tuple[str, ...], documents: np.ndarray) -> np.ndarray:
    """BM25 of just `documents` (ascending ids): each query term's postings, which bm25s
    keeps sorted by document, are searched for them."""
    model, vocab = bm25
    indptr, indices, data = (model.scores[k] for k in ("indptr", "indices", "data"))
    scores = np.zeros(len(documents), dtype=np.float32)
    for term in terms:
        if term not in vocab:
            continue
        postings = slice(indptr[vocab[term]], indptr[vocab[term] + 1])
        holders = indices[postings]
        if not len(holders):
            continue
        at = np.minimum(np.searchsorted(holders, documents), len(holders) - 1)
        scores += np.where(holders[at] == documents, data[postings][at], 0.0).astype(np.float32)
    return scores


def _normalised(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if len(scores) else 0.0
    return scores / top if top > 0 else scores


class Retriever:
    def __init__(self, index: Index):
        self.index = index

    @cached_property
    def _paragraphs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each passage row's paragraph number, and each paragraph's first row and piece
        count (the pieces of one paragraph are consecutive rows)."""
        passages = self.index.passages
        keys = [(p.doc_slug, p.paragraph) for p in passages]
        new = np.array([i == 0 or keys[i] != keys[i - 1] for i in range(len(keys))], dtype=bool)
        of_row = np.cumsum(new) - 1
        first = np.flatnonzero(new)
        counts = np.diff(np.append(first, len(keys)))
        return of_row.astype(np.int64), first.astype(np.int64), counts.astype(np.int64)

    @cached_property
    def _paragraph_sentences(self) -> tuple[np.ndarray, np.ndarray]:
        """Each paragraph's first sentence row and sentence count (over all its pieces)."""
        _, first, counts = self._paragraphs
        per_row = np.array([len(p.sentences) for p in self.index.passages], dtype=np.int64)
        starts = self._sentence_starts
        totals = np.add.reduceat(per_row, first) if len(first) else np.zeros(0, dtype=np.int64)
        return (starts[first] if len(first) else np.zeros(0, dtype=np.int64)), totals

    @cached_property
    def _bm25_paragraphs(self):
        if self.index.lexical:  # saved at build time (search/bm25_files.py)
            return self.index.lexical[0]
        passages = self.index.passages
        _, first, counts = self._paragraphs
        texts = [context_line(passages[a].doc_title, passages[a].section) + "\n"
                 + " ".join(p.text for p in passages[a : a + n]) for a, n in zip(first, counts)]
        return _bm25(texts)

    @cached_property
    def _bm25_sentences(self):
        if self.index.lexical:
            return self.index.lexical[1]
        return _bm25([t for p in self.index.passages for t in p.sentence_texts()] or [""])

    def lexical_indexes(self) -> tuple:
        """The BM25 (model, term ids) of the paragraphs and of the sentences, for saving."""
        return self._bm25_paragraphs, self._bm25_sentences

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(t for t in self._bm25_paragraphs[1] if t)

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
    def _labels(self) -> list[frozenset[str]]:
        passages = self.index.passages
        return [frozenset(content_terms(passages[a].section[-1])) if passages[a].section else frozenset()
                for a in self._paragraphs[1]]

    def section_scores(self, paragraphs: np.ndarray, terms: tuple[str, ...]) -> np.ndarray:
        """Share of each paragraph's own heading that the query names."""
        wanted = set(terms)
        labels = self._labels
        return np.array([len(labels[i] & wanted) / len(labels[i]) if labels[i] else 0.0 for i in paragraphs])

    def lexical_scores(self, terms: tuple[str, ...]) -> np.ndarray:
        """BM25 score of every paragraph for the query's stemmed content words."""
        return _scores(self._bm25_paragraphs, terms, len(self._paragraphs[1]))

    @cached_property
    def _sentence_starts(self) -> np.ndarray:
        return np.asarray(self.index.sentence_rows, dtype=np.int64)

    def sentence_lexical_scores(self, paragraphs: np.ndarray, terms: tuple[str, ...]) -> np.ndarray:
        """BM25 of each of `paragraphs`' best sentence. Only their sentences are scored:
        scoring all 390k sentences of 100k passages and keeping each paragraph's best took
        3 ms, more than the FAISS search."""
        starts, counts = self._paragraph_sentences
        m = counts[paragraphs]
        best = np.zeros(len(paragraphs), dtype=np.float32)
        if not m.sum():
            return best
        offsets = np.cumsum(m) - m
        sentences = np.repeat(starts[paragraphs] - offsets, m) + np.arange(m.sum())
        scores = _scores_of(self._bm25_sentences, terms, sentences)
        with_sentences = m > 0
        best[with_sentences] = np.maximum.reduceat(scores, offsets[with_sentences])
        return best

    def _candidates(self, query_vector: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        """Paragraphs worth scoring in detail: FAISS's top passages' paragraphs and
        BM25's top paragraphs."""
        of_row = self._paragraphs[0]
        k = min(self.index.faiss.ntotal, CANDIDATES)
        _, rows = self.index.faiss.search(query_vector.reshape(1, -1), k)
        dense = of_row[rows[0][rows[0] >= 0]]
        top = np.argpartition(-lexical, k - 1)[:k] if len(lexical) > k else np.arange(len(lexical))
        return np.unique(np.concatenate([dense, top[lexical[top] > 0]])).astype(np.int64)

    def dense_scores(self, paragraphs: np.ndarray, query_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each paragraph: its blended dense score, its best sentence's cosine, and
        the row of the piece that holds that sentence (one gather + matmul + segmented max)."""
        _, first, counts = self._paragraphs
        n = counts[paragraphs]
        offsets = np.cumsum(n) - n
        rows = np.repeat(first[paragraphs] - offsets, n) + np.arange(n.sum())
        piece_cos = np.maximum.reduceat(self._passage_matrix[rows] @ query_vector, offsets)
        starts, sentence_counts = self._paragraph_sentences
        m = sentence_counts[paragraphs]
        best_sentence = piece_cos.copy()
        best_row = first[paragraphs].copy()
        with_sentences = m > 0
        if with_sentences.any():
            m_kept = m[with_sentences]
            s_offsets = np.cumsum(m_kept) - m_kept
            gather = np.repeat(starts[paragraphs[with_sentences]] - s_offsets, m_kept) + np.arange(m_kept.sum())
            cosines = self.index.sentence_vectors[gather] @ query_vector
            top = np.maximum.reduceat(cosines, s_offsets)
            best_sentence[with_sentences] = top
            # which piece holds the best sentence (the first, on a tie): the row whose
            # sentence range contains it
            position = np.where(cosines == np.repeat(top, m_kept), np.arange(len(cosines)), len(cosines))
            argbest = np.minimum.reduceat(position, s_offsets)
            best_row[with_sentences] = self._row_of_sentence(gather[argbest])
        dense = PASSAGE_WEIGHT * piece_cos + SENTENCE_WEIGHT * best_sentence
        return dense, best_sentence, best_row

    def _row_of_sentence(self, sentence_rows: np.ndarray) -> np.ndarray:
        return np.searchsorted(self._sentence_starts, sentence_rows, side="right") - 1

    def rank(self, query: str, query_vector: np.ndarray) -> Ranking:
        terms = content_terms(query)  # stemmed once, for BM25, headings and answerability
        query_vector = np.asarray(query_vector, dtype=np.float32)
        if not self.index.passages:
            return Ranking((), terms)
        lexical_all = self.lexical_scores(terms)
        paragraphs = self._candidates(query_vector, lexical_all)
        dense, _, best_row = self.dense_scores(paragraphs, query_vector)
        lexical = lexical_all[paragraphs]
        sentence_lexical = self.sentence_lexical_scores(paragraphs, terms)
        fused = self._fuse(dense, lexical, sentence_lexical) + SECTION_WEIGHT * self.section_scores(paragraphs, terms)
        order = np.argsort(-fused, kind="stable")
        passages = self.index.passages
        _, first, counts = self._paragraphs
        # plain Python numbers first: one Hit per candidate, and numpy scalars are slow one by one
        rows, starts, ends = best_row[order].tolist(), first[paragraphs[order]].tolist(), (first + counts)[paragraphs[order]].tolist()
        hits = tuple(Hit(passages[row], score, dense_score, lexical_score, row, tuple(range(a, b)))
                     for row, score, dense_score, lexical_score, a, b
                     in zip(rows, fused[order].tolist(), dense[order].tolist(), lexical[order].tolist(), starts, ends))
        return Ranking(hits, terms)

    def quoted_paragraph(self, sentences: list[str]) -> tuple[int, ...]:
        """The rows of the paragraph an earlier answer quoted first: found by sentence
        BM25, then checked verbatim, so a paraphrase never passes for a quote."""
        total = int(self._paragraph_sentences[1].sum())
        for sentence in sentences:
            scores = _scores(self._bm25_sentences, content_terms(sentence), total or 1)
            if not total or scores.max() <= 0:
                continue
            best = int(np.argmax(scores))
            row = int(self._row_of_sentence(np.array([best]))[0])
            passage = self.index.passages[row]
            found = passage.sentence_texts()[best - self.index.sentence_rows[row]]
            if found in sentence or sentence in found:
                return self.paragraph_rows(row)
        return ()

    def paragraph_rows(self, row: int) -> tuple[int, ...]:
        """The rows of the paragraph that passage `row` is a piece of."""
        of_row, first, counts = self._paragraphs
        paragraph = of_row[row]
        return tuple(range(int(first[paragraph]), int(first[paragraph] + counts[paragraph])))

    def prefer(self, ranking: Ranking, rows: tuple[int, ...], doc_slug: str) -> Ranking:
        """The conversation as a prior, not a filter: the paragraph under discussion and
        its article gain a little; everything else keeps its place."""
        def lifted(hit: Hit) -> float:
            return hit.score + PARAGRAPH_PRIOR * (hit.rows == rows) + ARTICLE_PRIOR * (hit.passage.doc_slug == doc_slug)

        hits = sorted(ranking.hits, key=lambda h: -lifted(h))
        return Ranking(tuple(Hit(h.passage, lifted(h), h.dense, h.lexical, h.row, h.rows) for h in hits), ranking.terms)

    def paragraph(self, hit: Hit) -> Paragraph:
        """The hit's whole paragraph: every piece, with its sentence vectors."""
        rows = hit.rows or (hit.row,)
        return Paragraph(hit, tuple(self.index.passages[r] for r in rows),
                         tuple(self.index.sentence_vectors_of(r) for r in rows))

    @staticmethod
    def _fuse(dense: np.ndarray, lexical: np.ndarray, sentence_lexical: np.ndarray) -> np.ndarray:
        # linear; reciprocal rank fusion measured 0.909 vs 0.955 hit@1 on the article's dev set
        return dense + LEXICAL_WEIGHT * _normalised(lexical) + SENTENCE_LEXICAL_WEIGHT * _normalised(sentence_lexical)
