"""How an Assistant reads a question in its conversation: what the conversation is
about (the paragraph the last answer quoted), whether this question is a follow-up or a
new subject, and, for a follow-up, which paragraph brings something new. A mixin of
Assistant (engine/assistant.py), which owns ranking and composing; it reads the
Assistant's index, retriever and bar, and asks it to compose (`_answer`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property

from assistant.answer import compose as composer
from assistant.answer import conversation, expected
from assistant.errors import InvalidQuestion
from assistant.records import Answer, Hit
from assistant.search.retrieve import Ranking, blend
from assistant.text.cleaning import clean
from assistant.text.smalltalk import asks_for_more
from assistant.text.terms import content_terms, content_words, names, stemmer

OWN_WORDS_COVERED = 0.5  # a question with its own subject must be about the paragraph under discussion
POINTING_ALLOWANCE = 0.05  # "do they go away…?" refers back: the conversation itself is evidence
QUOTES_READ = 3  # of the last answer's quotes, looked up to find its paragraph (a client may send anything)
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


class FollowUps:
    """Assistant's conversation methods: `_topic`, `_resolve`, `_moved_on` (ask_batch calls them)."""

    def _moved_on(self, answer: Answer, question: str, query: str, ranking: Ranking, vector, about: str,
                  history, topic: conversation.Topic) -> Answer:
        """A follow-up brings something new: when its answer would open with a quote the
        conversation already holds, the paragraph's sentences not quoted yet are picked
        if one answers nearly as well (compose.REPEAT_MARGIN). The paragraph stays: on the
        dialogs of tests/eval/external-blog, stepping to the next paragraph instead lost
        0.11 of follow-ups' hit@1 (0.638 -> 0.529, one article). Only when the paragraph
        under discussion can't give what is asked (_lack) does the conversation read on, to
        a paragraph of the same article that ranks close and has what it lacks."""
        said = conversation.said(history)
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

    def _read_on(self, question: str, topic: conversation.Topic, history) -> Answer:
        """"Tell me more", "what else?", "and then?": the article read on from the last
        quote, whatever the ranking says (the question has no words to rank by): the
        rest of the paragraph under discussion, else the next paragraph not quoted yet."""
        said = conversation.said(history)
        passages = self.index.passages
        rows = topic.rows
        while True:
            first = passages[rows[0]]
            paragraph = self._paragraph(Hit(first, 0.0, 0.0, 0.0, rows[0], rows))
            answer = composer.read_on(question, paragraph, said, self.subject)
            if answer is not None:
                return replace(answer, about=topic.label if _heading(first) == topic.label else "")
            following = rows[-1] + 1
            if following >= len(passages) or passages[following].doc_slug != topic.doc_slug:
                return composer.nothing_more(question, first.doc_title, self.subject)
            rows = self.retriever.paragraph_rows(following)

    def _more_of(self, question: str, topic: conversation.Topic, history, asked: str, vector) -> Answer:
        """"What else?", "did she do anything else?": the reader's last question of their
        own (`asked`, with its `vector`) answered again from its article's best paragraph
        the conversation hasn't quoted, when one clears the bar; else the article read
        on (_read_on)."""
        said = conversation.said(history)
        if asked and vector is not None:
            ranking = self.retriever.rank(asked, vector)
            others = tuple(h for h in ranking.hits if h.passage.doc_slug == topic.doc_slug and not self._quoted(h, said))
            if others and self._answerable(asked, replace(ranking, hits=others)):
                answer = self._answer(asked, asked, replace(ranking, hits=others), vector, "", said)
                if answer.answerable:
                    return replace(answer, question=question)
        return self._read_on(question, topic, history)

    def _quoted(self, hit: Hit, said: Sequence[str]) -> bool:
        """The conversation already quoted a sentence of the hit's paragraph."""
        text = " ".join(self.index.passages[row].text for row in hit.rows or (hit.row,))
        return any(sentence in text for sentence in said)

    def _lack(self, question: str, top: Hit, again: Answer, said: Sequence[str]):
        """What the paragraph under discussion lacks for this follow-up, as (how close another
        paragraph must rank, whether a hit has it, whether the conversation stands for the
        evidence bar), or None: a number or a time asked for ("until when?", "how many
        belong to it?") and none in it (the best paragraph with one then), anything new
        for a question with words of its own (its answer would be all quotes already
        given: the next paragraph then; a bare "why?" asks about what was just quoted), or what
        came after ("…in the end?", "what did it lead to?": a later paragraph). A fourth
        lack, the question's own less common words ("how did visitors get there back
        then?"), fixed two repeats but read "do they go away when I relax?" as not about
        Dynamic Wrinkles ("…disappear when the muscles are at rest"): a paraphrase."""
        paragraph = self._paragraph(top)
        if expected.asks_for_number(question) and not expected.holds_number(paragraph.text):
            return NUMBER_MARGIN, lambda hit: expected.holds_number(self._paragraph(hit).text), True
        if _opens_with(again, said, entirely=True) and content_words(question):
            return NEXT_MARGIN, lambda hit: hit.rows[:1] == (top.rows[-1] + 1,), False
        if expected.asks_what_followed(question):
            return NEXT_MARGIN, lambda hit: hit.rows[0] > top.rows[-1], False
        return None

    def _from_topic(self, ranking: Ranking, topic: conversation.Topic) -> bool:
        """The ranking's first paragraph is under the topic's heading, in its article."""
        first = self.index.passages[ranking.hits[0].rows[0]] if ranking.hits else None
        return bool(first) and first.doc_slug == topic.doc_slug and _heading(first) == topic.label

    def _topic(self, history, reading_on: bool = False) -> conversation.Topic | None:
        """What the conversation is about: the paragraph the last answer quoted (or, when
        the client sent only the reader's questions, the best match of the last one).
        `reading_on` (a request to go on): the paragraph the last quoting answer quoted."""
        question, answer_text = conversation.last_exchange(history, quoting=reading_on)
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
        # "what else?" says nothing of the subject: a follow-up borrows the last question that did
        terms = question if not asks_for_more(question) else conversation.last_own_question(history)
        return conversation.Topic(_heading(first), terms, rows, first.doc_slug)

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
        terms = self._article_terms(doc_slug)
        return any(stem not in terms for stem in stemmer().stemWords(sorted(named)))

    def _article_terms(self, doc_slug: str) -> frozenset[str]:
        """One article's stemmed words (title, headings, text), made the first time a
        follow-up about it names something: one article stemmed, not the whole blog."""
        known = self._terms_by_article
        if doc_slug not in known:
            known[doc_slug] = frozenset(term for p in self.index.passages if p.doc_slug == doc_slug
                                        for term in content_terms(f"{p.doc_title} {' '.join(p.section)} {p.text}"))
        return known[doc_slug]

    @cached_property
    def _terms_by_article(self) -> dict[str, frozenset[str]]:
        return {}


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
