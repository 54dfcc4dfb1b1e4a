"""The Assistant: loads the index and model once and answers questions. Every
interface (Python, CLI, web) calls `ask`/`ask_batch` here; no retrieval logic lives
in the interfaces.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property

from assistant.answer import calibrate, conversation, expected, spelling
from assistant.answer import compose as composer
from assistant.answer import document_questions as documents
from assistant.answer.fragments import Linker, linker_for
from assistant.engine import build as index_build
from assistant.errors import InvalidQuestion
from assistant.model.embedder import Embedder
from assistant.records import Answer, BuildReport, Hit, Paragraph
from assistant.search import index as index_store
from assistant.search.retrieve import Ranking, Retriever, blend
from assistant.settings import Settings
from assistant.text.cleaning import clean, readable
from assistant.text.terms import content_terms, names, stemmer, zipf

TOPICS_SHOWN = 8
OWN_WORDS_COVERED = 0.5  # a question with its own subject must be about the paragraph under discussion
POINTING_ALLOWANCE = 0.05  # "do they go away…?" refers back: the conversation itself is evidence
QUOTES_READ = 3  # of the last answer's quotes, looked up to find its paragraph (a client may send anything)
# a name rarer than this in English ("Brasilia" 0, "Plymouth" 3.7, "HDI" 0) is a subject of
# its own; a household one ("DNA" 4.5, "NASA" 4.2) may be a passing mention, so the closest
# passage is still offered ("How is DNA data compressed?" on a compression article)
RARE_NAME_ZIPF = 4.0
# ... unless the passage matches the rest of the question this far above the index's bar:
# "What WWW tools are there for Python?" on a FAQ that says "web" (evidence 0.85) is then
# answered, saying it never mentions www. On the four development collections no off-topic
# question refused for a name had evidence above 0.8 (bar 0.55); two answerable ones did.
NAME_OUTWEIGHED = 0.25
# a follow-up: the ranking in context leads, the question searched alone supports. 0.35
# since 2026-12-06 (was 0.2): on the twelve-article dialogs follow-up hit@1 0.659 / 0.681
# -> 0.667 / 0.674 and repeats of the previous source with the answer elsewhere 15 / 15 -> 12 / 12
OWN_WORDS_WEIGHT = 0.35
# a follow-up whose paragraph has nothing new to quote reads on to the next paragraph when
# it ranks this close (the ranking's relative units; a follow-up's top scores ~1-1.35).
# On the dialogs of tests/eval/external-blog 0.2-0.35 give the same answers (follow-up
# hit@1 0.667 / 0.674 -> 0.674 / 0.681); 0.15 moves one turn fewer, 0.4 loses 0.007-0.014
NEXT_MARGIN = 0.25
# ... and wider when the question asks for a number or a time ("how many belong to it?")
# and the paragraph under discussion holds none: it can't be the answer
NUMBER_MARGIN = 0.35


class Assistant:
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
        topics = [self._topic(h) for h in histories]
        # with a conversation, each question is searched alone and with its topic
        in_context = [f"{q} {t.label} {t.terms}" if t else q for q, t in zip(cleaned, topics)]
        texts = list(dict.fromkeys(cleaned + in_context))
        vectors = dict(zip(texts, self._encode_queries(texts)))
        answers = []
        for original, question, topic, query, history in zip(questions, cleaned, topics, in_context, histories):
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

    def _moved_on(self, answer: Answer, question: str, query: str, ranking: Ranking, vector, about: str,
                  history, topic: conversation.Topic) -> Answer:
        """A follow-up brings something new: when its answer would open with a quote the
        conversation already holds, the paragraph's sentences not quoted yet are picked
        if one answers nearly as well (compose.REPEAT_MARGIN). The paragraph stays: on the
        dialogs of tests/eval/external-blog, stepping to the next paragraph instead lost
        0.11 of follow-ups' hit@1 (0.638 -> 0.529, one article). Only when the paragraph
        under discussion can't give what is asked (_lack) does the conversation read on, to
        a paragraph of the same article that ranks close and has what it lacks."""
        said = [s for text in conversation.answers_given(history) for s in conversation.quoted_sentences(text)]
        top = ranking.hits[0]
        repeat = _opens_with(answer, said)
        if not repeat and top.rows != topic.rows:
            return answer
        again = self._answer(question, query, ranking, vector, about, said) if repeat else answer
        lack = self._lack(question, top, again, said) if top.rows == topic.rows else None
        if lack is None:
            return again
        margin, has, checked = lack
        following = next((hit for hit in ranking.hits[1:] if hit.score >= top.score - margin
                          and hit.passage.doc_slug == top.passage.doc_slug and has(hit)), None)
        if following is None:
            return again
        moved = self._answer(question, query, replace(ranking, hits=(following, *(h for h in ranking.hits if h is not following))),
                             vector, about, said, checked=checked)
        return moved if moved.answerable and not _opens_with(moved, said, entirely=True) else again

    def _lack(self, question: str, top: Hit, again: Answer, said: Sequence[str]):
        """What the paragraph under discussion lacks for this follow-up, as (how close another
        paragraph must rank, whether a hit has it, whether the conversation stands for the
        evidence bar), or None: a number or a time asked for ("until when?", "how many
        belong to it?") and none in it (the best paragraph with one then), anything new
        (its answer would be all quotes already given: the next paragraph then), or what
        came after ("…in the end?", "what did it lead to?": a later paragraph). A fourth
        lack, the question's own less common words ("how did visitors get there back
        then?"), fixed two repeats but read "do they go away when I relax?" as not about
        Dynamic Wrinkles ("…disappear when the muscles are at rest"): a paraphrase."""
        paragraph = self._paragraph(top)
        if expected.asks_for_number(question) and not expected.holds_number(paragraph.text):
            return NUMBER_MARGIN, lambda hit: expected.holds_number(self._paragraph(hit).text), True
        if _opens_with(again, said, entirely=True):
            return NEXT_MARGIN, lambda hit: hit.rows[:1] == (top.rows[-1] + 1,), False
        if expected.asks_what_followed(question):
            return NEXT_MARGIN, lambda hit: hit.rows[0] > top.rows[-1], False
        return None

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

    def _from_topic(self, ranking: Ranking, topic: conversation.Topic) -> bool:
        """The ranking's first paragraph is under the topic's heading, in its article."""
        first = self.index.passages[ranking.hits[0].rows[0]] if ranking.hits else None
        return bool(first) and first.doc_slug == topic.doc_slug and _heading(first) == topic.label

    def _topic(self, history) -> conversation.Topic | None:
        """What the conversation is about: the paragraph the last answer quoted (or, when
        the client sent only the reader's questions, the best match of the last one)."""
        question, answer_text = conversation.last_exchange(history)
        if not question:  # the common case: no conversation yet
            return None
        try:
            question = clean(question, self.settings.max_question_chars)
        except InvalidQuestion:  # an empty or over-long earlier turn: no topic, never an error now
            return None
        if answer_text:
            rows = self.retriever.quoted_paragraph(conversation.quoted_sentences(answer_text)[:QUOTES_READ])
        else:
            ranking = self.retriever.rank(question, self._encode_queries([question])[0])
            rows = ranking.hits[0].rows if ranking.hits and self._answerable(question, ranking) else ()
        if not rows:
            return None
        first = self.index.passages[rows[0]]
        return conversation.Topic(_heading(first), question, rows, first.doc_slug)

    def _resolve(self, question: str, alone: Ranking, topic: conversation.Topic, in_context: Ranking) -> tuple[Ranking, str]:
        """The ranking to answer from, and the topic's label when the question was read as
        a follow-up. A question that leans on what came before (points back, opens as a
        continuation, or leaves out its subject) is one when it is answerable in context:
        the context leads and its own words, searched alone, support. A question with a
        subject of its own is one only when refused alone and the paragraph under
        discussion covers its words (so "how do I train my puppy?" is a new subject).
        Otherwise it is a topic switch."""
        in_context = self.retriever.prefer(in_context, () if conversation.new_aspect(question) else topic.rows, topic.doc_slug)
        if not in_context.hits or self._names_elsewhere(question, topic.doc_slug):
            return alone, ""
        top = self._paragraph(in_context.hits[0])
        needed = self.evidence_needed - (POINTING_ALLOWANCE if conversation.points_back(question) else 0.0)
        if not composer.is_answerable(question, top, needed, topic.label):
            return alone, ""
        if conversation.leans_on_context(question):
            return blend(in_context, alone, OWN_WORDS_WEIGHT), topic.label
        if composer.coverage(question, composer.mentions(top)) >= OWN_WORDS_COVERED and not self._answerable(question, alone):
            return in_context, topic.label
        return alone, ""

    def _names_elsewhere(self, question: str, doc_slug: str) -> bool:
        """The question names something its conversation's article never mentions: a new
        subject ("what about Richmond?" after Nanjing's weather), not a continuation."""
        named = names(question)
        if not named:
            return False
        terms = self._article_terms.get(doc_slug, frozenset())
        return any(stem not in terms for stem in stemmer().stemWords(sorted(named)))

    @cached_property
    def _article_terms(self) -> dict[str, frozenset[str]]:
        """Each article's stemmed words (title, headings, text): made on the first named follow-up."""
        words: dict[str, set[str]] = {}
        for p in self.index.passages:
            words.setdefault(p.doc_slug, set()).update(content_terms(f"{p.doc_title} {' '.join(p.section)} {p.text}"))
        return {slug: frozenset(found) for slug, found in words.items()}

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


def _lead(answer: Answer) -> str:
    return answer.citations[0].sentence if answer.answerable and answer.citations else ""


def _opens_with(answer: Answer, said: Sequence[str], entirely: bool = False) -> bool:
    """The answer's lead quote overlaps one the conversation already gave (`entirely`:
    it is wholly inside one, so it shows nothing new)."""
    lead = _lead(answer)
    return bool(lead) and any(lead in s or (s in lead and not entirely) for s in said)


def _heading(passage) -> str:
    """A topic's label: the passage's own heading, or its article's title."""
    return passage.section[-1] if passage.section else passage.doc_title
