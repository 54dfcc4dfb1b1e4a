"""Conversation sets -> follow-up figures: each turn asked with the dialog so far, and
again without it, so what the conversation adds is measured, not assumed.

A set is JSONL, one dialog per line: {"turns": [{"q", "gold": [...]} | {"q",
"out_of_scope": true} | {"q", "not_covered": "term"}, "kind": "followup" | "switch"]}.
The first turn has no kind. A turn is right when the first citation holds a gold string
(an out-of-scope turn: refused; a not_covered turn: refused, or the term flagged).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.errors import AssistantError


@dataclass(frozen=True)
class DialogReport:
    dialogs: int
    followups: int
    switches: int
    followup_hit_at_1: float  # with the conversation
    followup_alone_hit_at_1: float  # the same turns asked without it
    followup_concat_hit_at_1: float  # baseline: previous question + this one, searched as one
    switch_hit_at_1: float
    switch_alone_hit_at_1: float
    # follow-ups whose answer opens with the previous answer's first source although the
    # answer is elsewhere: a repeat where something new was asked for
    needless_repeats: int = 0
    misses: tuple[dict, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict:
        return asdict(self)


def read_dialogs(path: Path) -> list[list[dict]]:
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise AssistantError(f"cannot read dialogs from {path}: {exc}") from None
    if not all(isinstance(r, dict) and isinstance(r.get("turns"), list) and r["turns"]
               and all(isinstance(t, dict) and isinstance(t.get("q"), str) for t in r["turns"]) for r in rows):
        raise AssistantError(f"{path}: every line must be a JSON object with a \"turns\" list of {{\"q\": ...}}")
    return [r["turns"] for r in rows]


def is_dialog_set(path: Path) -> bool:
    try:
        first = next(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        return "turns" in json.loads(first)
    except (OSError, ValueError, StopIteration, TypeError):
        return False


def right(answer, turn: dict) -> bool:
    if turn.get("out_of_scope"):
        return not answer.answerable
    if turn.get("not_covered"):
        return not answer.answerable or turn["not_covered"] in answer.not_covered
    if not answer.answerable or not answer.citations:
        return False
    text = answer.citations[0].text.casefold()
    return any(g.casefold() in text for g in turn.get("gold", ()))


def evaluate_dialogs(assistant, dialogs: list[list[dict]]) -> DialogReport:
    """Every turn with its history (as the chat and the widget send it: the reader's
    questions and the answers' text), alone, and as the previous question + this one."""
    return evaluate_dialog_groups([(assistant, dialogs)])


def evaluate_dialog_groups(groups: list[tuple[object, list[list[dict]]]]) -> DialogReport:
    """One report over (assistant, dialogs) groups: each article's dialogs asked of it."""
    tallies = {"followup": [0, 0, 0, 0], "switch": [0, 0, 0, 0]}  # turns, with history, alone, concatenated
    misses = []
    dialogs = [(assistant, turns) for assistant, group in groups for turns in group]
    repeats = 0
    for assistant, turns in dialogs:
        history: list[dict] = []
        previous = None
        for n, turn in enumerate(turns):
            answer = assistant.ask(turn["q"], history=list(history))
            kind = turn.get("kind")
            repeat = kind == "followup" and _repeats(answer, previous) and not right(answer, turn)
            repeats += repeat
            if n and kind in tallies:
                counts = tallies[kind]
                alone = assistant.ask(turn["q"])
                concat = assistant.ask(f"{turns[n - 1]['q']} {turn['q']}")
                counts[0] += 1
                counts[1] += right(answer, turn)
                counts[2] += right(alone, turn)
                counts[3] += right(concat, turn)
                if not right(answer, turn):
                    misses.append({"dialog": [t["q"] for t in turns[: n + 1]], "kind": kind,
                                   "answer": answer.text[:200], "query": answer.query, "repeat": repeat})
            history += [{"role": "user", "content": turn["q"]}, {"role": "assistant", "content": answer.text}]
            previous = answer
    f, s = tallies["followup"], tallies["switch"]
    return DialogReport(len(dialogs), f[0], s[0], f[1] / max(f[0], 1), f[2] / max(f[0], 1), f[3] / max(f[0], 1),
                        s[1] / max(s[0], 1), s[2] / max(s[0], 1), repeats, tuple(misses))


def _repeats(answer, previous) -> bool:
    """`answer` opens with the source `previous` opened with."""
    return bool(previous and previous.answerable and previous.citations and answer.answerable and answer.citations
                and answer.citations[0].passage_id == previous.citations[0].passage_id)


def format_dialog_report(report: DialogReport) -> str:
    lines = [f"miss ({m['kind']}{', repeat' if m.get('repeat') else ''}): {' → '.join(m['dialog'])}: {m['answer']!r}"
             for m in report.misses]
    lines += [
        f"dialogs: {report.dialogs} ({report.followups} follow-up turns, {report.switches} topic switches)",
        f"follow-ups hit@1 {report.followup_hit_at_1:.3f} with history, {report.followup_alone_hit_at_1:.3f} alone, "
        f"{report.followup_concat_hit_at_1:.3f} previous question + this one",
        f"switches   hit@1 {report.switch_hit_at_1:.3f} with history, {report.switch_alone_hit_at_1:.3f} alone",
        f"follow-ups that repeat the previous first source with the answer elsewhere: {report.needless_repeats}",
    ]
    return "\n".join(lines)
