"""Question sets -> retrieval and answerability figures.

A set is JSONL: {"q", "gold": [substrings, any of which a correct passage contains]}
or {"q", "out_of_scope": true}. hit@k and MRR are measured on the ranking (top 10),
refusals separately, so a false refusal shows as such rather than as a miss.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import AssistantError

RANKS_SEEN = 10


@dataclass(frozen=True)
class Miss:
    question: str
    kind: str  # "rank", "false refusal", "answered out-of-scope"
    detail: str


@dataclass(frozen=True)
class EvalReport:
    questions: int
    in_scope: int
    out_of_scope: int
    hit_at_1: float
    hit_at_3: float
    mrr: float
    refused_out_of_scope: int
    false_refusals: int
    misses: list[Miss] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "misses"} | {
            "misses": [m.__dict__ for m in self.misses]
        }


def read_questions(path: Path) -> list[dict]:
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise AssistantError(f"cannot read questions from {path}: {exc}") from None
    if not all(isinstance(r, dict) and isinstance(r.get("q"), str) for r in rows):
        raise AssistantError(f"{path}: every line must be a JSON object with a \"q\" string")
    return rows


def evaluate(assistant, rows: list[dict]) -> EvalReport:
    hits1 = hits3 = 0
    reciprocal = 0.0
    refused_oos = false_refusals = 0
    misses: list[Miss] = []
    in_scope = [r for r in rows if not r.get("out_of_scope")]
    for row in rows:
        answer = assistant.ask(row["q"])
        if row.get("out_of_scope"):
            refused_oos += not answer.answerable
            if answer.answerable:
                misses.append(Miss(row["q"], "answered out-of-scope", answer.citations[0].section))
            continue
        if not answer.answerable:
            false_refusals += 1
            misses.append(Miss(row["q"], "false refusal", answer.text[:80]))
        gold = [g.casefold() for g in row.get("gold", [])]
        ranking = assistant.rank(row["q"]).hits[:RANKS_SEEN]
        rank = next((i + 1 for i, h in enumerate(ranking) if any(g in h.passage.text.casefold() for g in gold)), None)
        hits1 += rank == 1
        hits3 += rank is not None and rank <= 3
        reciprocal += 1 / rank if rank else 0.0
        if rank != 1:
            top = ranking[0].passage.section_path if ranking else "nothing"
            misses.append(Miss(row["q"], "rank", f"gold at rank {rank or f'>{RANKS_SEEN}'}; first was {top}"))
    n = max(len(in_scope), 1)
    return EvalReport(len(rows), len(in_scope), len(rows) - len(in_scope), hits1 / n, hits3 / n,
                      reciprocal / n, refused_oos, false_refusals, misses)


def format_report(report: EvalReport) -> str:
    lines = [f"miss ({m.kind}): {m.question!r}: {m.detail}" for m in report.misses]
    lines += [
        f"questions: {report.questions} ({report.in_scope} in scope, {report.out_of_scope} out of scope)",
        f"out-of-scope refused: {report.refused_out_of_scope}/{report.out_of_scope}   false refusals: {report.false_refusals}",
        f"hit@1 {report.hit_at_1:.3f}   hit@3 {report.hit_at_3:.3f}   MRR {report.mrr:.3f}",
    ]
    return "\n".join(lines)
