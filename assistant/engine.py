"""The Assistant: loads the index and model once and answers questions. Every
interface (Python, CLI, web) calls `ask`/`ask_batch` here; no retrieval logic lives
in the interfaces.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property

from . import answer as composer
from . import calibrate, followup, index as index_store
from .embed import Embedder
from .question import clean, readable
from .records import Answer, BuildReport, Hit, Paragraph
from .retrieve import Ranking, Retriever, blend
from .settings import Settings

TOPICS_SHOWN = 8
TOPIC_WEIGHT = 0.5  # a follow-up's borrowed topic counts half as much as its own words


class Assistant:
    def __init__(self, index: index_store.Index, embedder: Embedder, settings: Settings, fusion: str = "linear"):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.retriever = Retriever(index, fusion)
        # the real Embedder caches and batches questions; any object with encode() will do
        self._encode_queries = getattr(embedder, "encode_queries", embedder.encode)

    @classmethod
    def load(cls, settings: Settings | None = None, *, build: bool = True, embedder: Embedder | None = None,
             progress: bool = False) -> "Assistant":
        """Load the index (building or updating it first when `build` and it is missing or stale)."""
        settings = settings or Settings.from_env()
        embedder = embedder or Embedder(settings.model)
        if build and not index_store.is_current(settings.index_dir, settings.corpus_dir, embedder.model_id):
            ensure_built(settings, embedder, progress)
        return cls(index_store.load(settings.index_dir, embedder.model_id), embedder, settings)

    def warm_up(self) -> None:
        """Build the lazy parts (BM25, stemmer) now, so the first reader doesn't wait."""
        if self.index.passages:
            self.retriever.rank("warm up", self.index.faiss.reconstruct(0))

    @cached_property
    def topics(self) -> list[str]:
        """What the corpus covers: section names of one article, or article titles."""
        passages = self.index.passages
        titles = list(dict.fromkeys(p.doc_title for p in passages))
        if len(titles) > 1:
            return titles[:TOPICS_SHOWN]
        skip = {"Introduction", "Conclusion"}
        return [s for s in dict.fromkeys(p.section[0] for p in passages if p.section) if s not in skip][:TOPICS_SHOWN]

    def ask(self, question: str, history: Sequence | None = None) -> Answer:
        """Answer one question; `history` is the conversation so far (any common shape)."""
        return self.ask_batch([question], [history])[0]

    def ask_batch(self, questions: Sequence[str], histories: Sequence | None = None) -> list[Answer]:
        """Answer many questions with one call to the model. Raises InvalidQuestion for
        an empty or over-long question (check each with `question.clean` first to skip)."""
        histories = list(histories or [None] * len(questions))
        cleaned = [clean(q, self.settings.max_question_chars) for q in questions]
        queries = [followup.resolve(q, h) for q, h in zip(cleaned, histories)]
        # a follow-up is also checked on its own words, so "and the capital of France?"
        # is not answered just because the previous turn was on topic
        texts = list(dict.fromkeys(queries + cleaned))
        vectors = dict(zip(texts, self._encode_queries(texts)))
        answers = []
        for original, question, query in zip(questions, cleaned, queries):
            ranking = self.retriever.rank(query, vectors[query])
            alone = ranking if query == question else self.retriever.rank(question, vectors[question])
            answers.append(self._answer(readable(original), query, ranking, alone, vectors[question]))
        return answers

    def rank(self, question: str) -> Ranking:
        """The full ranking for one question, with no answerability decision (for eval)."""
        query = clean(question, self.settings.max_question_chars)
        ranking = self.retriever.rank(query, self._encode_queries([query])[0])
        return self._conclusion_first(ranking) if is_about_whole_article(query) and ranking.hits else ranking

    def _answer(self, question: str, query: str, ranking: Ranking, alone: Ranking, question_vector) -> Answer:
        """Refuse, or compose from the ranking; sentences are picked by the reader's own words."""
        if composer.is_injection(question):
            return composer.refusal(question, self.topics, query)
        if is_about_whole_article(question) and ranking.hits:
            ranking = self._conclusion_first(ranking)
        elif not (self._answerable(query, ranking) and
                  (alone is ranking or self._answerable(question, alone) or not alone.terms)):
            cited = [self._paragraph(hit) for hit in alone.hits[: self.settings.top_k]]
            return composer.refusal(question, self.topics, query, composer.not_covered(question, cited, self.retriever.vocabulary))
        elif alone is not ranking:
            ranking = blend(alone, ranking, TOPIC_WEIGHT)
        top = [self._paragraph(hit) for hit in ranking.hits[: self.settings.top_k]]
        missing = () if is_about_whole_article(question) else composer.not_covered(question, top, self.retriever.vocabulary)
        return composer.compose(question, query, top, question_vector, missing)

    def _answerable(self, text: str, ranking: Ranking) -> bool:
        return bool(ranking.hits) and composer.is_answerable(text, self._paragraph(ranking.hits[0]), self.evidence_needed)

    def _paragraph(self, hit: Hit) -> Paragraph:
        return self.retriever.paragraph(hit)

    @cached_property
    def evidence_needed(self) -> float:
        """This index's bar for answering, from the probes measured when it was built."""
        return calibrate.threshold(self.index.manifest.probe_evidence)

    def _conclusion_first(self, ranking: Ranking) -> Ranking:
        """For "sum this up": the closing paragraph of the best-matching article leads."""
        top = ranking.hits[0]
        rows = self._conclusions.get(top.passage.doc_slug)
        if not rows:
            return ranking
        closing = Hit(self.index.passages[rows[0]], top.score, top.dense, top.lexical, rows[0], rows)
        rest = tuple(h for h in ranking.hits if h.rows != rows)
        return replace(ranking, hits=(closing, *rest))

    @cached_property
    def _conclusions(self) -> dict[str, tuple[int, ...]]:
        """Each article's closing paragraph: the one under a "Conclusion"-like heading, else its last."""
        found: dict[str, tuple[int, ...]] = {}
        named: dict[str, tuple[int, ...]] = {}
        for row, passage in enumerate(self.index.passages):
            key = passage.doc_slug
            previous = found.get(key)
            same_paragraph = previous and self.index.passages[previous[0]].paragraph == passage.paragraph
            found[key] = (*previous, row) if same_paragraph else (row,)
            if passage.section and _CLOSING.search(passage.section[-1]):
                named[key] = found[key] if key not in named or same_paragraph else named[key]
        return found | named


_WHOLE_ARTICLE = re.compile(
    r"\b(summary|summari[sz]e|sum (it |this |that )?up|tl;? ?dr|gist|main (point|idea|message|takeaway)s?|"
    r"key (point|takeaway)s?|takeaways?|conclusions?|overview|in a nutshell|"
    r"(point|purpose) of (this|the) (post|article|blog|piece)|"
    r"(this|the) (post|article|piece) (is )?about)\b", re.I)
_CLOSING = re.compile(r"\b(conclusions?|summary|final thoughts|takeaways?|wrapping up|in closing)\b", re.I)


def is_about_whole_article(question: str) -> bool:
    """"sum this up", "what's the point of this post?": asked of the article as a whole."""
    return bool(_WHOLE_ARTICLE.search(question))


def ensure_built(settings: Settings, embedder: Embedder, progress: bool = False) -> BuildReport:
    """Build or update the index for `settings`; a no-op report when it is current."""
    return index_store.build(settings.corpus_dir, settings.index_dir, embedder, progress=progress)

