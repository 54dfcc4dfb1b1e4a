"""An evaluation collection (a folder of articles + questions.jsonl, the SQuAD-style
layout of tests/eval/external-slice) -> answer-quality figures in two settings:
each article alone in its own corpus, and all of them in one corpus (a whole blog).

It builds throw-away indexes under a work folder and asks every question through the
same `Assistant.ask` readers use. It does not tune anything.
"""
from __future__ import annotations

import bisect
import json
import re
import shutil
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.content.corpus import article_files, load_document
from assistant.errors import AssistantError
from assistant.eval.questions import RANKS_SEEN

_MARKER = re.compile(r" ?\[\d+\]")


@dataclass(frozen=True)
class Question:
    q: str
    article: str = ""  # title of the article that answers it; "" when off-topic
    gold: tuple[str, ...] = ()
    paragraph: int = -1  # 0-based paragraph of `article` that answers it

    @property
    def off_topic(self) -> bool:
        return not self.article


@dataclass(frozen=True)
class Collection:
    folder: Path
    articles: dict[str, Path]  # title -> file
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class SettingReport:
    """Figures for one setting; rates are shares of the questions they concern."""

    setting: str
    answerable: int
    off_topic: int
    hit_at_1: float
    hit_at_3: float
    mrr: float
    answer_has_gold: float
    off_topic_refused: float
    false_refusals: float
    median_answer_chars: float
    not_covered: float  # answerable questions flagged as mentioning something the article doesn't
    misses: tuple[dict, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict:
        return asdict(self)


def read_collection(folder: Path) -> Collection:
    """Articles (title from each file's metadata) and the questions that refer to them."""
    folder = Path(folder)
    articles_dir = folder / "articles"
    questions_file = folder / "questions.jsonl"
    if not articles_dir.is_dir() or not questions_file.is_file():
        raise AssistantError(f"{folder} is not an evaluation collection: it needs articles/ and questions.jsonl")
    articles = {}
    for path in article_files(articles_dir):
        doc = load_document(path, articles_dir)
        if doc is not None:
            articles[doc.title] = path
    questions = []
    for n, line in enumerate(questions_file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = Question(row["q"], "" if row.get("out_of_scope") else row["article"],
                                tuple(row.get("gold", ())), int(row.get("paragraph", -1)))
        except (ValueError, KeyError, TypeError) as exc:
            raise AssistantError(f"{questions_file}:{n}: not a question row ({type(exc).__name__})") from None
        if question.article and question.article not in articles:
            raise AssistantError(f"{questions_file}:{n}: no article titled {question.article!r} in {articles_dir}")
        questions.append(question)
    return Collection(folder, articles, tuple(questions))


def _corpus(work: Path, name: str, files: list[Path]) -> Path:
    """A corpus folder holding exactly `files` (copied: the index fingerprints content)."""
    corpus = work / "corpora" / name
    wanted = {f.name for f in files}
    corpus.mkdir(parents=True, exist_ok=True)
    for stale in corpus.iterdir():
        if stale.name not in wanted:
            stale.unlink()
    for f in files:
        target = corpus / f.name
        if not target.is_file() or target.read_bytes() != f.read_bytes():
            shutil.copyfile(f, target)
    return corpus


class _Paragraphs:
    """Which paragraph of which article a passage comes from."""

    def __init__(self, corpus: Path):
        self.starts: dict[str, tuple[str, list[int]]] = {}
        for path in article_files(corpus):
            doc = load_document(path, corpus)
            if doc is not None:
                self.starts[doc.slug] = (doc.title, [b.start for b in doc.blocks])

    def of(self, passage) -> tuple[str, int]:
        title, starts = self.starts[passage.doc_slug]
        return title, bisect.bisect_right(starts, passage.start) - 1


def run_setting(setting: str, assistants: list[tuple[object, list[Question], Path]]) -> SettingReport:
    """Ask every question of every (assistant, questions, corpus) group; one report."""
    ranks, has_gold, lengths, misses = [], [], [], []
    refused_in = refused_off = off = flagged = 0
    for assistant, questions, corpus in assistants:
        paragraphs = _Paragraphs(corpus)
        for question in questions:
            answer = assistant.ask(question.q)
            if question.off_topic:
                off += 1
                refused_off += not answer.answerable
                if answer.answerable:
                    misses.append({"q": question.q, "kind": "answered off-topic", "cited": answer.citations[0].doc_title})
                continue
            flagged += bool(getattr(answer, "not_covered", ()))
            seen = []
            for hit in assistant.rank(question.q).hits:
                place = paragraphs.of(hit.passage)
                if place not in seen:
                    seen.append(place)
                if len(seen) == RANKS_SEEN:
                    break
            target = (question.article, question.paragraph)
            rank = seen.index(target) + 1 if target in seen else None
            ranks.append(rank)
            text = _MARKER.sub("", answer.text).casefold() if answer.answerable else ""
            holds = any(g.casefold() in text for g in question.gold)
            has_gold.append(holds)
            if answer.answerable:
                lengths.append(len(answer.text))
            else:
                refused_in += 1
            if rank != 1 or not holds:
                misses.append({"q": question.q, "kind": "false refusal" if not answer.answerable else
                               ("rank" if rank != 1 else "answer lacks gold"),
                               "rank": rank, "gold": list(question.gold), "answer": answer.text[:300]})
    n = max(len(ranks), 1)
    return SettingReport(
        setting=setting, answerable=len(ranks), off_topic=off,
        hit_at_1=sum(r == 1 for r in ranks) / n,
        hit_at_3=sum(r is not None and r <= 3 for r in ranks) / n,
        mrr=sum(1 / r for r in ranks if r) / n,
        answer_has_gold=sum(has_gold) / n,
        off_topic_refused=refused_off / max(off, 1),
        false_refusals=refused_in / n,
        median_answer_chars=statistics.median(lengths) if lengths else 0.0,
        not_covered=flagged / n,
        misses=tuple(misses),
    )


def evaluate_collection(collection: Collection, work: Path, load_assistant, settings=("one article", "whole blog")
                        ) -> list[SettingReport]:
    """Both settings. `load_assistant(corpus_dir, index_dir)` returns a ready Assistant
    (building the index if needed); indexes persist under `work` between runs."""
    off_topic = [q for q in collection.questions if q.off_topic]
    reports = []
    if "one article" in settings:
        groups = []
        for title, path in collection.articles.items():
            name = path.stem
            corpus = _corpus(work, name, [path])
            own = [q for q in collection.questions if q.article == title]
            groups.append((load_assistant(corpus, work / "indexes" / name), own + off_topic, corpus))
        reports.append(run_setting("one article", groups))
    if "whole blog" in settings:
        corpus = _corpus(work, "_all", list(collection.articles.values()))
        reports.append(run_setting("whole blog", [(load_assistant(corpus, work / "indexes" / "_all"),
                                                   list(collection.questions), corpus)]))
    return reports


def evaluate_collection_dialogs(collection: Collection, work: Path, load_assistant, setting: str = "whole blog"):
    """The collection's conversations.jsonl (if any). "whole blog": every article
    searched, so a follow-up must stay in the article under discussion. "one article":
    each dialog asked of the article its first answer comes from, alone; a turn whose
    answer is in another article is then off-topic and must be refused."""
    from assistant.eval.dialogs import evaluate_dialog_groups, read_dialogs

    path = collection.folder / "conversations.jsonl"
    if not path.is_file():
        return None
    dialogs = read_dialogs(path)
    if setting == "whole blog":
        corpus = _corpus(work, "_all", list(collection.articles.values()))
        return evaluate_dialog_groups([(load_assistant(corpus, work / "indexes" / "_all"), dialogs)])
    texts = {p: _folded(p.read_text(encoding="utf-8")) for p in collection.articles.values()}
    groups: dict[Path, list[list[dict]]] = {}
    for turns in dialogs:
        article = next((p for t in turns for p, text in texts.items() if t.get("gold") and _folded(t["gold"][0]) in text), None)
        if article is not None:
            groups.setdefault(article, []).append([_within(t, texts[article]) for t in turns])
    return evaluate_dialog_groups([(load_assistant(_corpus(work, p.stem, [p]), work / "indexes" / p.stem), group)
                                   for p, group in groups.items()])


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _within(turn: dict, article_text: str) -> dict:
    """The turn as asked of one article: answered elsewhere means off-topic here."""
    if turn.get("gold") and not any(_folded(g) in article_text for g in turn["gold"]):
        return {"q": turn["q"], "out_of_scope": True, **({"kind": turn["kind"]} if "kind" in turn else {})}
    return turn


def format_reports(reports: list[SettingReport], show_misses: bool = False) -> str:
    lines = []
    for r in reports:
        if show_misses:
            lines += [f"  {r.setting} miss ({m['kind']}): {m['q']!r} rank={m.get('rank')} gold={m.get('gold')} "
                      f"answer={m.get('answer', m.get('cited', ''))!r}" for m in r.misses]
    header = f"{'setting':<12} {'hit@1':>6} {'hit@3':>6} {'MRR':>6} {'gold':>6} {'off-ref':>7} {'false-ref':>9} {'med.chars':>9} {'not-cov':>7}"
    lines.append(header)
    for r in reports:
        lines.append(f"{r.setting:<12} {r.hit_at_1:6.3f} {r.hit_at_3:6.3f} {r.mrr:6.3f} {r.answer_has_gold:6.3f} "
                     f"{r.off_topic_refused:7.3f} {r.false_refusals:9.3f} {r.median_answer_chars:9.0f} {r.not_covered:7.3f}")
    lines.append(f"({reports[0].answerable} answerable, {reports[0].off_topic} off-topic asks in the first setting)" if reports else "")
    return "\n".join(lines)
