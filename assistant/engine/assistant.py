"""The Assistant: loads the index and model once and answers questions. Every
interface (Python, CLI, web) calls `ask`/`ask_batch` here; no retrieval logic lives
in the interfaces.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property

from assistant.answer import calibrate, conversation, spelling
from assistant.answer import compose as composer
from assistant.answer import document_questions as documents
from assistant.answer.fragments import Linker, linker_for
from assistant.engine import build as index_build
from assistant.engine.followups import POINTING_ALLOWANCE, FollowUps
from assistant.errors import InvalidQuestion
from assistant.model.embedder import Embedder
from assistant.records import Answer, BuildReport, Hit, Paragraph
from assistant.search import index as index_store
from assistant.search.retrieve import Ranking, Retriever
from assistant.settings import Settings
from assistant.text import smalltalk
from assistant.text.cleaning import clean, readable
from assistant.text.terms import names, zipf

TOPICS_SHOWN = 8
# a name rarer than this in English ("Brasilia" 0, "Plymouth" 3.7, "HDI" 0) is a subject of
# its own; a household one ("DNA" 4.5, "NASA" 4.2) may be a passing mention, so the closest
# passage is still offered ("How is DNA data compressed?" on a compression article)
RARE_NAME_ZIPF = 4.0
# ... unless the passage matches the rest of the question this far above the index's bar:
# "What WWW tools are there for Python?" on a FAQ that says "web" (evidence 0.85) is then
# answered, saying it never mentions www. On the four development collections no off-topic
# question refused for a name had evidence above 0.8 (bar 0.55); two answerable ones did.
NAME_OUTWEIGHED = 0.25


class Assistant(FollowUps):
    def __init__(self, index: index_store.Index, embedder: Embedder, settings: Settings):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.retriever = Retriever(index)
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

    @cached_property
    def subject(self) -> str:
        """What an answer calls the corpus: "article" (one) or "blog" (several)."""
        return "blog" if len({p.doc_slug for p in self.index.passages}) > 1 else "article"

    def ask(self, question: str, history: Sequence | None = None) -> Answer:
        """Answer one question; `history` is the conversation so far (any common shape)."""
        return self.ask_batch([question], [history])[0]

    def ask_batch(self, questions: Sequence[str], histories: Sequence | None = None) -> list[Answer]:
        """Answer many questions with one call to the model. Raises InvalidQuestion for
        an empty or over-long question (check each with `cleaning.clean` first to skip)."""
        histories = list(histories or [None] * len(questions))
        cleaned = [self._respelt(clean(q, self.settings.max_question_chars)) for q in questions]
        smalls = [smalltalk.pleasantry(q) for q in cleaned]  # "thanks!", "hi": no question, nothing to search
        mores = [smalltalk.asks_for_more(q) for q in cleaned]
        topics = [None if k else self._topic(h, reading_on=bool(m)) for h, m, k in zip(histories, mores, smalls)]
        mores = [m if t else "" for m, t in zip(mores, topics)]  # going on needs somewhere to go on from
        # "what else?" asks the reader's last question of their own again; "tell me more" encodes nothing
        again = [self._own_question(h) if m == smalltalk.MORE_OF else "" for h, m in zip(histories, mores)]
        # with a conversation, each question is searched alone and with its topic
        in_context = [f"{q} {t.label} {t.terms}" if t else q for q, t in zip(cleaned, topics)]
        texts = list(dict.fromkeys([*(t for q, c, m, k in zip(cleaned, in_context, mores, smalls) if not (m or k)
                                      for t in (q, c)),
                                    *(a for a in again if a)]))
        vectors = dict(zip(texts, self._encode_queries(texts))) if texts else {}
        answers = []
        for original, question, topic, query, history, more, asked, small in zip(
                questions, cleaned, topics, in_context, histories, mores, again, smalls):
            if small:
                answers.append(composer.small_talk(readable(original), small, self.topics, self.subject))
                continue
            if more:
                answer = self._read_on(question, topic, history) if more == smalltalk.READ_ON else \
                    self._more_of(question, topic, history, asked, vectors.get(asked))
                answers.append(self.linker.relink(replace(answer, question=readable(original))))
                continue
            alone = self.retriever.rank(question, vectors[question])
            ranking, about = alone, ""
            if topic:
                ranking, about = self._resolve(question, alone, topic, self.retriever.rank(query, vectors[query]))
            shown = readable(original)
            judged = self._respelt(shown)  # the corpus's spelling; the reader's own words are what the answer shows
            answer = self._answer(judged, query if about else question, ranking, vectors[question], about)
            if about and answer.answerable:
                answer = self._moved_on(answer, judged, query, ranking, vectors[question], about, history, topic)
            answer = replace(answer, question=shown)
            # "About X" only when the answer comes from X: "Does sunscreen help?" after
            # elastin is searched in context but answered from Sun Protection
            in_topic = about and answer.answerable and self._from_topic(ranking, topic)
            answers.append(self.linker.relink(replace(answer, about=about) if in_topic else answer))
        return answers

    def _own_question(self, history) -> str:
        """The reader's last question of their own, cleaned ("" when none, or unreadable)."""
        try:
            return self._respelt(clean(conversation.last_own_question(history), self.settings.max_question_chars))
        except InvalidQuestion:
            return ""

    def _respelt(self, question: str) -> str:
        """The question with its misspelt words spelt as the corpus spells them (answer/spelling.py)."""
        return spelling.respelt(question, self.retriever.vocabulary, lambda stem: self._written.get(stem, stem))

    @cached_property
    def _written(self) -> dict[str, str]:
        """Each corpus stem's commonest written form: made on the first misspelt word."""
        return spelling.surface_words(f"{p.doc_title} {' '.join(p.section)} {p.text}" for p in self.index.passages)

    @property
    def linker(self) -> Linker:
        """Makes each citation's text fragment select exactly its quoted sentence on the
        article's page (the first match of a naive one can be an earlier sentence)."""
        return linker_for(self.index)

    def rank(self, question: str) -> Ranking:
        """The full ranking for one question, with no answerability decision (for eval)."""
        query = self._respelt(clean(question, self.settings.max_question_chars))
        ranking = self.retriever.rank(query, self._encode_queries([query])[0])
        return self._structure_first(ranking, kind) if (kind := documents.about_document(query)) and ranking.hits else ranking

    def _answer(self, question: str, query: str, ranking: Ranking, question_vector, about: str = "",
                said: Sequence[str] = (), checked: bool = False) -> Answer:
        """Refuse, or compose from the ranking; sentences are picked by the reader's own words.
        `checked`: the conversation already showed the article answers (no evidence bar)."""
        if composer.is_injection(question):
            return composer.refusal(question, self.topics, query, subject=self.subject)
        kind = documents.about_document(question)
        if kind and ranking.hits:
            ranking = self._structure_first(ranking, kind)
        elif not checked and not self._answerable(question, ranking, about,
                                                  allowance=POINTING_ALLOWANCE if about and conversation.points_back(question) else 0.0):
            cited = [self._paragraph(hit) for hit in ranking.hits[: self.settings.top_k]]
            return composer.refusal(question, self.topics, query, composer.not_covered(question, cited, self.retriever.vocabulary),
                                  self.subject)
        top = [self._paragraph(hit) for hit in ranking.hits[: self.settings.top_k]]
        missing = () if kind else composer.not_covered(question, top, self.retriever.vocabulary)
        if any(zipf(w) < RARE_NAME_ZIPF for w in names(question) & set(missing)) and \
                composer.evidence(question, top[0], about) < self.evidence_needed + NAME_OUTWEIGHED:
            # "When is Brasilia's rainy season?": a named subject the corpus never names
            return composer.refusal(question, self.topics, query, missing, self.subject)
        return composer.compose(question, query, top, question_vector, missing, self.subject, said)

    def _answerable(self, text: str, ranking: Ranking, topic: str = "", allowance: float = 0.0) -> bool:
        top = self._paragraph(ranking.hits[0]) if ranking.hits else None
        return composer.is_answerable(text, top, self.evidence_needed - allowance, topic)

    def _paragraph(self, hit: Hit) -> Paragraph:
        return self.retriever.paragraph(hit)

    @cached_property
    def evidence_needed(self) -> float:
        """This index's bar for answering, from the probes measured when it was built."""
        return calibrate.threshold(self.index.manifest.probe_evidence)

    def _structure_first(self, ranking: Ranking, kind: str) -> Ranking:
        """For a question about the document (answer/document_questions.py): the paragraph
        of the best-matching article that answers it leads."""
        top = ranking.hits[0]
        parts = self._parts.get(top.passage.doc_slug, {})
        rows = parts.get(kind) or parts.get(documents.FALLBACK.get(kind, documents.CLOSING))
        if not rows:
            return ranking
        leading = Hit(self.index.passages[rows[0]], top.score, top.dense, top.lexical, rows[0], rows)
        rest = tuple(h for h in ranking.hits if h.rows != rows)
        return replace(ranking, hits=(leading, *rest))

    @cached_property
    def _parts(self) -> dict[str, dict[str, tuple[int, ...]]]:
        """Each article's paragraphs (rows) by the part they stand for: the first under a
        heading of each kind; else its last paragraph closes and its first leads."""
        parts: dict[str, dict[str, tuple[int, ...]]] = {}
        paragraphs: dict[str, list[tuple[int, ...]]] = {}
        for row, passage in enumerate(self.index.passages):
            found = paragraphs.setdefault(passage.doc_slug, [])
            if found and self.index.passages[found[-1][0]].paragraph == passage.paragraph:
                found[-1] = (*found[-1], row)
            else:
                found.append((row,))
        for slug, rows in paragraphs.items():
            named: dict[str, tuple[int, ...]] = {}
            for paragraph in rows:
                section = self.index.passages[paragraph[0]].section
                for kind, heading in documents.SECTIONS.items():
                    if section and heading.search(section[-1]) and kind not in named:
                        named[kind] = paragraph
            parts[slug] = {documents.LEAD: rows[0], documents.CLOSING: rows[-1]} | named
        return parts


def ensure_built(settings: Settings, embedder: Embedder, progress: bool = False) -> BuildReport:
    """Build or update the index for `settings`; a no-op report when it is current."""
    report = index_build.build(settings.corpus_dir, settings.index_dir, embedder, progress=progress)
    index_build.log_skipped(report)
    return report
