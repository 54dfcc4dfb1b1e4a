"""The owner's /insights page: a Gradio app with the `assistant insights` figures as
charts (questions per day, answered vs refused, helpful ratio) and tables. It only
reads the log and draws; the figures come from insights.summarize, and the login in
front of it is owner_login.OwnerOnly.
"""
from __future__ import annotations

import html
import numbers
from datetime import datetime, timedelta, timezone

from assistant.errors import AssistantError
from assistant.questionlog import insights
from assistant.questionlog.records import Insights
from assistant.settings import Settings

PERIODS = [7, 30, 90]
CHARTS_FROM = 20  # questions: below this, daily charts are mostly empty boxes
CELL_CHARS = 160  # a longer cell is cut, the whole text on hover

CSS = """
.insights-table { overflow-x: auto; }
.insights-table table { width: 100%; border-collapse: collapse; font-size: .9em; }
.insights-table caption { text-align: left; font-weight: 600; padding: .4em 0; }
.insights-table th, .insights-table td { text-align: left; vertical-align: top; padding: .35em .5em;
  border-bottom: 1px solid var(--border-color-primary); }
.insights-table td { overflow-wrap: anywhere; }
.insights-table th, .insights-table td.n { white-space: nowrap; }
.insights-table td.n { text-align: right; }
"""


def summary_markdown(report: Insights, log_state: str) -> str:
    rated = report.helpful + report.unhelpful
    rate, ratio = insights.percent(report.answer_rate), insights.percent(report.helpful_ratio)
    lines = [f"**{report.questions}** question{'' if report.questions == 1 else 's'} since {report.since} · **{rate}** answered "
             f"({report.refused} refused) · helpful ratio **{ratio}** ({rated} ratings)"]
    if report.median_latency_ms is not None:
        lines[0] += f" · median answer {report.median_latency_ms:.0f} ms"
    if log_state:
        lines.append(f"⚠ {log_state}")
    return "\n\n".join(lines)


def log_notes(losses, problem: str = "", waiting: int = 0) -> str:
    """What the owner must know about the log itself: a write problem now (with the
    questions held in memory meanwhile), and questions answered but never recorded
    (kept until dismissed, across restarts)."""
    notes = []
    if problem and waiting:
        notes.append(f"The question log can't be written just now ({problem}); {waiting} new question"
                     f"{'' if waiting == 1 else 's'} wait in memory and will be written when it answers again.")
    elif problem:
        notes.append(f"The question log can't be written just now ({problem}); new questions are not being recorded.")
    for loss in losses:
        plural = "" if loss.questions == 1 else "s"
        when = insights.minute(loss.first_at)
        if insights.minute(loss.last_at) != when:
            when = f"between {when} and {insights.minute(loss.last_at)}"
        else:
            when = f"at {when}"
        notes.append(f"{loss.questions} question{plural} answered but not recorded {when} UTC ({loss.problem}).")
    return "\n\n⚠ ".join(notes)


def charts_note(report: Insights) -> str:
    """Words instead of empty chart boxes while there are too few questions ("" when enough)."""
    if report.questions >= CHARTS_FROM:
        return ""
    asked = f"{report.questions} question{'' if report.questions == 1 else 's'}"
    return f"{asked} so far; charts appear after {CHARTS_FROM}."


def html_table(frame, caption: str) -> str:
    """A DataFrame as an HTML table: long text wraps (even one long word), a cell over
    CELL_CHARS is cut with the whole text on hover; "none yet" when empty."""
    if frame.empty:
        return f'<div class="insights-table"><p><strong>{html.escape(caption)}</strong>: none yet.</p></div>'
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for value in values:
            text = "" if value is None else str(value)
            if isinstance(value, numbers.Number) and not isinstance(value, bool):
                cells.append(f'<td class="n">{html.escape(text)}</td>')
            elif len(text) > CELL_CHARS:
                cells.append(f'<td title="{html.escape(text)}">{html.escape(text[: CELL_CHARS - 1].rstrip())}…</td>')
            else:
                cells.append(f"<td>{html.escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<div class="insights-table"><table><caption>{html.escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


TABLES = ("Top questions (paraphrases grouped)", "Unanswered questions: content gaps", "Answers marked unhelpful")


def tables(report: Insights, labels: dict[str, str] | None = None):
    """The report as the page's DataFrames: three for charts, three for tables.
    `labels` names cited passages (id -> "Article › Section") where the index knows them."""
    import pandas as pd

    days = pd.DataFrame([[d.date, d.questions, d.answered, d.refused, d.helpful, d.unhelpful] for d in report.per_day],
                        columns=["date", "questions", "answered", "refused", "helpful", "unhelpful"])
    days["date"] = pd.to_datetime(days["date"])
    outcome = days.melt(id_vars="date", value_vars=["answered", "refused"], var_name="outcome", value_name="count")
    total = (days["helpful"] + days["unhelpful"]).clip(lower=1)  # a day without ratings draws no bar
    ratio = pd.DataFrame({"date": days["date"], "helpful": days["helpful"] / total, "unhelpful": days["unhelpful"] / total})
    ratio = ratio.melt(id_vars="date", value_vars=["helpful", "unhelpful"], var_name="verdict", value_name="share")
    shown = insights.visible  # readers' text: control and direction characters as escapes
    top = pd.DataFrame([[shown(g.question), g.count, g.answered, g.helpful, g.unhelpful, " · ".join(map(shown, g.variants[1:])),
                         insights.minute(g.last_asked)]
                        for g in report.top_questions],
                       columns=["question", "asked", "answered", "helpful", "unhelpful", "also asked as", "last asked"])
    gaps = pd.DataFrame([[shown(g.question), g.count, " · ".join(map(shown, g.variants[1:])), insights.minute(g.last_asked)]
                         for g in report.unanswered],
                        columns=["question", "asked", "also asked as", "last asked"])

    unhelpful = pd.DataFrame([[insights.minute(r.asked_at), shown(r.question), shown(r.comment or ""),
                               "; ".join((labels or {}).get(i, i) for i in r.passage_ids) or "(refused)"]
                              for r in report.unhelpful_answers], columns=["asked", "question", "comment", "cited passages"])
    return days[["date", "questions"]], outcome, ratio, top, gaps, unhelpful


def insights_ui(settings: Settings, encode, question_log, passages=lambda: ()):
    """The Blocks app mounted at /insights. `encode` embeds questions for grouping;
    `question_log` tells whether recording is on and working; `passages()` gives the
    current index's passages, to show cited passages by section."""
    import gradio as gr

    memo = insights.Memo(encode)

    def load(days: int):
        days = int(days or 30)
        now = datetime.now(timezone.utc)
        losses = []
        try:
            rows = question_log.read(since=now - timedelta(days=days))
            losses = question_log.losses()
        except AssistantError as exc:  # e.g. PostgreSQL down: say so, and what this process holds meanwhile
            rows, losses = [], question_log.unsaved_losses()
            problem = "\n\n⚠ ".join(filter(None, (str(exc), log_notes(losses, question_log.last_error, question_log.waiting))))
        else:
            problem = log_notes(losses, question_log.last_error, question_log.waiting)
        if not question_log.enabled:
            problem = "Question logging is off (ASSISTANT_LOG_QUESTIONS=0): nothing new is recorded."
        report = insights.summarize(rows, memo, days, now=now)
        labels = {p.id: p.section_path or p.doc_title for p in passages()}
        asked, outcome, ratio, top, gaps, unhelpful = tables(report, labels)
        note = charts_note(report)
        return (summary_markdown(report, problem), gr.update(visible=bool(losses)), note, asked, outcome, ratio,
                gr.update(visible=not note), *(html_table(frame, caption) for frame, caption in zip((top, gaps, unhelpful), TABLES)))

    def dismiss(days: int):
        question_log.dismiss_losses()
        return load(days)

    with gr.Blocks(title="Reader insights") as demo:
        gr.Markdown("# Reader insights\nWhat readers asked, what the articles could not answer, and whether answers helped.")
        with gr.Row():
            period = gr.Radio(PERIODS, value=30, label="Days", scale=3)
            refresh = gr.Button("Refresh", scale=1, size="sm")
        summary = gr.Markdown(elem_id="summary")
        dismissal = gr.Button("Dismiss the notice of lost questions", size="sm", visible=False, elem_id="dismiss-losses")
        note = gr.Markdown(elem_id="charts-note")
        with gr.Row() as charts:
            asked = gr.LinePlot(x="date", y="questions", title="Questions per day", y_title="questions", elem_id="questions-per-day")
            outcome = gr.BarPlot(x="date", y="count", color="outcome", title="Answered vs refused", x_bin="1d",
                                 color_map={"answered": "#2458d3", "refused": "#c0392b"}, elem_id="answered-vs-refused")
            # stacked shares, not a line: a rated day often stands alone among days without ratings
            ratio = gr.BarPlot(x="date", y="share", color="verdict", title="Helpful ratio", x_bin="1d",
                               y_lim=[0, 1], color_map={"helpful": "#2e8b57", "unhelpful": "#c0392b"}, elem_id="helpful-ratio")
        top = gr.HTML(elem_id="top-questions")
        gaps = gr.HTML(elem_id="unanswered")
        unhelpful = gr.HTML(elem_id="unhelpful")
        outputs = [summary, dismissal, note, asked, outcome, ratio, charts, top, gaps, unhelpful]
        for trigger in (demo.load, period.change, refresh.click):
            trigger(load, period, outputs, api_visibility="private")
        dismissal.click(dismiss, period, outputs, api_visibility="private")
    return demo
