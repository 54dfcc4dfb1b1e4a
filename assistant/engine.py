"""The Assistant: loads the index and model once and answers questions. Every
interface (Python, CLI, web) calls `ask`/`ask_batch` here; no retrieval logic lives
in the interfaces.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from . import answer as composer
from . import followup, index as index_store
from .embed import Embedder
from .question import clean, readable
from .records import Answer, BuildReport
from .retrieve import Ranking, Retriever, blend, content_terms
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
        return self.retriever.rank(query, self._encode_queries([query])[0])

    def _answer(self, question: str, query: str, ranking: Ranking, alone: Ranking, question_vector) -> Answer:
        """Refuse, or compose from the ranking; sentences are picked by the reader's own words."""
        if composer.is_injection(question) or not (composer.is_answerable(ranking) and
                                                     (alone is ranking or composer.is_answerable(alone) or not alone.terms)):
            return composer.refusal(question, self.topics, query)
        if alone is not ranking:
            ranking = blend(alone, ranking, TOPIC_WEIGHT)
        top = [(hit, self.index.sentence_vectors_of(hit.row)) for hit in ranking.hits[: self.settings.top_k]]
        return composer.compose(question, query, ranking, top, question_vector, content_terms)


def ensure_built(settings: Settings, embedder: Embedder, progress: bool = False) -> BuildReport:
    """Build or update the index for `settings`; a no-op report when it is current."""
    return index_store.build(settings.corpus_dir, settings.index_dir, embedder, progress=progress)

