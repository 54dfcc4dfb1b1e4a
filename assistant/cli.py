"""The `assistant` command: build, ask, eval, serve. Parses flags into Settings,
calls the engine, prints; domain errors become one line on stderr and exit code 2.
Heavy libraries load only inside the subcommand that needs them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from assistant.errors import AssistantError, InvalidArgument, InvalidQuestion


def _home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", type=Path, help="the folder holding assistant.toml, corpus/, index/ and data/ "
                        "(env ASSISTANT_HOME; default: the current folder)")


def _common(parser: argparse.ArgumentParser) -> None:
    _home(parser)
    parser.add_argument("--corpus", type=Path, help="the posts' folder (env ASSISTANT_CORPUS_DIR; assistant.toml "
                        "corpus_dir; default HOME/corpus)")
    parser.add_argument("--index", type=Path, help="index folder (env ASSISTANT_INDEX_DIR; assistant.toml index_dir; "
                        "default HOME/index)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="Ask a blog article questions; get its own words back, with citations.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="write a commented assistant.toml into the home folder")
    _home(init)
    init.add_argument("--corpus", help="the posts' folder, relative to the home (default corpus)")
    init.add_argument("--title", help="the chat's title (default: Ask this article / Ask this blog)")

    paths = commands.add_parser("paths", help="where the home, settings, posts, index, question log and model cache are")
    _common(paths)

    build = commands.add_parser("build", help="build or update the index from the corpus")
    _common(build)
    build.add_argument("--json", action="store_true", help="print the report as one JSON object")
    build.add_argument("--force", action="store_true", help="rebuild even if nothing changed")

    ask = commands.add_parser("ask", help="answer questions (arguments, or one per line on stdin)")
    _common(ask)
    ask.add_argument("--json", action="store_true", help="one JSON object per question per line")
    ask.add_argument("--no-build", action="store_true", help="fail instead of building a missing or stale index")
    ask.add_argument("question", nargs="*", help="the question; none or '-' reads stdin")

    evaluate = commands.add_parser("eval", help="hit@1, hit@3, MRR and refusals on a question set")
    _common(evaluate)
    evaluate.add_argument("file", type=Path, help="JSONL with q and gold or out_of_scope (asked of the corpus), "
                          "or a collection folder (articles/ + questions.jsonl, asked one article at a time and as one blog)")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--work", type=Path, help="where a collection's indexes are built (default HOME/data/eval)")
    evaluate.add_argument("--misses", action="store_true", help="list every miss, not only the figures")

    ingest = commands.add_parser("ingest", help="pull a blog's posts (feed, sitemap, home page or saved .html) into the corpus, then update the index")
    _common(ingest)
    ingest.add_argument("source", help="feed, sitemap or blog URL, or a folder or file of saved pages")
    ingest.add_argument("--max-posts", type=int, default=1000)
    ingest.add_argument("--timeout", type=float, default=20.0, help="seconds per request")
    ingest.add_argument("--allow-host", action="append", default=[], metavar="HOST",
                        help="another host posts may be fetched from (repeatable); only the source's host by default")
    ingest.add_argument("--max-pages", type=int, default=2000, help="requests in all, redirects included (default 2000)")
    ingest.add_argument("--max-bytes", type=int, default=512 * 1024 * 1024, help="bytes read in all (default 512 MiB)")
    ingest.add_argument("--max-seconds", type=float, default=1800.0, help="seconds for the whole run (default 1800)")
    ingest.add_argument("--json", action="store_true", help="one JSON object: the ingest and build reports")

    watch = commands.add_parser("watch", help="rebuild the index whenever corpus files change")
    _common(watch)
    watch.add_argument("--json", action="store_true", help="one JSON report per rebuild")

    insights = commands.add_parser("insights", help="what readers asked: top questions, unanswered ones, feedback")
    insights.add_argument("--days", type=int, default=30, help="look back this many days (default 30)")
    insights.add_argument("--top", type=int, default=20, help="how many question groups to list (default 20)")
    insights.add_argument("--db", help="the question log: a SQLite file or a sqlite:/// or postgresql:// URL "
                          "(env ASSISTANT_DATABASE_URL or ASSISTANT_DB; default HOME/data/questions.db)")
    insights.add_argument("--json", action="store_true", help="print one JSON object")
    _home(insights)

    serve = commands.add_parser("serve", help="the chat UI and API on http://HOST:PORT")
    _common(serve)
    serve.add_argument("--watch", action="store_true", default=None,
                       help="rebuild when corpus files change (env ASSISTANT_WATCH=1)")
    serve.add_argument("--replica", action="store_true", default=None,
                       help="never build: serve the index that `assistant build` or `watch` writes, and follow "
                            "its manifest (env ASSISTANT_REPLICA=1)")
    serve.add_argument("--allow-origin", action="append", metavar="URL", dest="allow_origin",
                       help="a site whose pages may embed the widget, e.g. https://blog.example (repeatable; "
                            "env ASSISTANT_ALLOWED_ORIGINS, comma-separated; default none but this server)")
    serve.add_argument("--host", help="env ASSISTANT_HOST; default 127.0.0.1")
    serve.add_argument("--port", type=int, help="env ASSISTANT_PORT; default 7860")
    return parser


def _settings(args):
    from assistant.settings import Settings, origins

    db = getattr(args, "db", None)  # a URL, or a file that stands for sqlite:///FILE
    return Settings.from_env(home=getattr(args, "home", None), corpus_dir=getattr(args, "corpus", None), index_dir=getattr(args, "index", None),
                             db_path=Path(db) if db and "://" not in db else None,
                             database_url=(db if "://" in db else "") if db else None, host=getattr(args, "host", None),
                             port=getattr(args, "port", None), watch_corpus=getattr(args, "watch", None),
                             replica=getattr(args, "replica", None),
                             allowed_origins=origins(getattr(args, "allow_origin", None) or []) or None)


def _report(report, as_json: bool) -> str:
    summary = {"passages": report.passages, "embedded": report.embedded, "reused": report.reused,
               "removed": report.removed, "seconds": round(report.seconds, 3), "drafts_skipped": report.drafts_skipped,
               "skipped": [{"file": s.source, "reason": s.reason, "detail": s.detail, **({"line": s.line} if s.line else {})}
                           for s in report.skipped]}
    if as_json:
        return json.dumps(summary, ensure_ascii=False)
    state = "updated" if report.changed else "already up to date"
    drafts = f"; drafts skipped: {report.drafts_skipped}" if report.drafts_skipped else ""
    return (f"index {state}: {report.passages} passages from {report.documents} articles "
            f"({report.embedded} embedded, {report.reused} reused, {report.removed} removed) in {report.seconds:.1f}s{drafts}")


def _say_skipped(report) -> None:
    """One line on stderr per file the build left out; a file to fix (front matter that can't
    be read, a URL that can't be linked to) is a warning."""
    for skipped in report.skipped:
        if skipped.needs_fixing:
            where = f"{skipped.source} line {skipped.line}" if skipped.line else skipped.source
            print(f"warning: {where}: {skipped.detail}", file=sys.stderr)
        else:
            print(f"skipped {skipped.source}: {skipped.detail}", file=sys.stderr)


def _build(args) -> int:
    from assistant.engine.build import build
    from assistant.model.embedder import Embedder

    settings = _settings(args)
    report = build(settings.corpus_dir, settings.index_dir, Embedder(settings.model),
                   progress=sys.stderr.isatty() and not args.json, force=args.force)
    print(_report(report, args.json))
    _say_skipped(report)
    return 0


def _questions(args) -> tuple[list[str], bool]:
    if args.question and args.question != ["-"]:
        return [" ".join(args.question)], False
    sys.stdin.reconfigure(errors="replace")
    return [line.rstrip("\r\n") for line in sys.stdin], True


def _ask(args) -> int:
    from assistant.answer.render import as_json, as_text
    from assistant.engine.assistant import Assistant
    from assistant.model.embedder import Embedder
    from assistant.search.index import encoder_file
    from assistant.text.cleaning import clean

    questions, from_stdin = _questions(args)
    settings = _settings(args)
    embedder = Embedder(settings.model)
    embedder.use_export(encoder_file(settings.index_dir))  # the index's own encoder: no torch, no re-hashing
    assistant = Assistant.load(settings, build=not args.no_build, progress=sys.stderr.isatty(), embedder=embedder)
    status = 0
    for question in questions:
        if from_stdin and not question.strip():
            continue
        try:
            clean(question, settings.max_question_chars)
        except InvalidQuestion as exc:
            if args.json:
                print(json.dumps({"question": question, "error": str(exc)}, ensure_ascii=False))
            else:
                print(str(exc), file=sys.stderr)
            status = 2
            continue
        answer = assistant.ask(question)
        print(json.dumps(as_json(answer), ensure_ascii=False) if args.json else as_text(answer) + ("\n" if from_stdin else ""))
        sys.stdout.flush()
    return status


def _eval(args) -> int:
    from assistant.engine.assistant import Assistant
    from assistant.eval.questions import evaluate, format_report, read_questions

    if args.file.is_dir():
        return _eval_collection(args)
    from assistant.eval.dialogs import (
        evaluate_dialogs,
        format_dialog_report,
        is_dialog_set,
        read_dialogs,
    )

    if is_dialog_set(args.file):
        report = evaluate_dialogs(Assistant.load(_settings(args)), read_dialogs(args.file))
        print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else format_dialog_report(report))
        return 0
    rows = read_questions(args.file)
    report = evaluate(Assistant.load(_settings(args)), rows)
    print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else format_report(report))
    return 0


def _eval_collection(args) -> int:
    from assistant.engine.assistant import Assistant
    from assistant.eval.collection import (
        evaluate_collection,
        evaluate_collection_dialogs,
        format_reports,
        read_collection,
    )
    from assistant.eval.dialogs import format_dialog_report
    from assistant.model.embedder import Embedder

    collection = read_collection(args.file)
    settings = _settings(args)
    embedder = Embedder(settings.model)
    work = args.work or settings.data_dir / "eval" / args.file.resolve().name

    def load(corpus: Path, index: Path):
        return Assistant.load(replace(settings, corpus_dir=corpus, index_dir=index), embedder=embedder)

    reports = evaluate_collection(collection, work, load)
    dialogs = {setting: evaluate_collection_dialogs(collection, work, load, setting) for setting in ("one article", "whole blog")}
    if args.json:
        print(json.dumps({"settings": [r.as_dict() for r in reports],
                          "conversations": {k: v.as_dict() for k, v in dialogs.items() if v} or None}, ensure_ascii=False))
        return 0
    print(format_reports(reports, show_misses=args.misses))
    for setting, report in dialogs.items():
        if report:
            print(f"conversations, {setting}:\n" + format_dialog_report(report))
    return 0


def _ingest(args) -> int:
    from assistant.content.fetcher import Limits
    from assistant.content.ingest import ingest
    from assistant.engine.build import build
    from assistant.model.embedder import Embedder

    settings = _settings(args)
    report = ingest(args.source, settings.corpus_dir, timeout=args.timeout, max_posts=args.max_posts,
                    allow_hosts=args.allow_host, limits=Limits(args.max_pages, args.max_bytes, args.max_seconds))
    for line in report.failed:
        print(f"skipped {line}", file=sys.stderr)
    for line in report.stopped:
        print(f"warning: {line}", file=sys.stderr)
    built = build(settings.corpus_dir, settings.index_dir, Embedder(settings.model), progress=sys.stderr.isatty() and not args.json)
    if args.json:
        print(json.dumps({"added": report.added, "updated": report.updated, "unchanged": report.unchanged,
                          "failed": len(report.failed), "files": list(report.files), "stopped": list(report.stopped), "build": json.loads(_report(built, True))}))
    else:
        print(f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, {len(report.failed)} failed")
        print(_report(built, False))
    _say_skipped(built)
    return 0


def _watch(args) -> int:
    """Build now, then again after each (debounced) change under the corpus folder."""
    from watchfiles import watch

    from assistant.content.corpus import article_files
    from assistant.engine.build import build
    from assistant.model.embedder import Embedder

    settings = _settings(args)
    embedder = Embedder(settings.model)
    article_files(settings.corpus_dir)  # no such folder: our one-line error, not watchfiles' FileNotFoundError
    # watchfiles starts watching on the generator's first step, and changes are kept
    # between steps: step it once (its first timeout) before the first build, so an edit
    # saved during that build is not missed, and the first report means "watching now"
    changes = watch(settings.corpus_dir, debounce=800, rust_timeout=200, yield_on_timeout=True)
    next(changes)
    report = build(settings.corpus_dir, settings.index_dir, embedder)
    print(_report(report, args.json), flush=True)
    _say_skipped(report)
    if not args.json:
        print(f"watching {settings.corpus_dir} (Ctrl-C stops)", file=sys.stderr, flush=True)
    for batch in changes:
        if not batch:  # a timeout: nothing changed
            continue
        try:
            report = build(settings.corpus_dir, settings.index_dir, embedder)
            print(_report(report, args.json), flush=True)
            _say_skipped(report)
        except AssistantError as exc:  # a half-saved file: say so and keep watching
            print(f"error: {exc}", file=sys.stderr, flush=True)
    return 0


def _insights(args) -> int:
    from datetime import datetime, timedelta, timezone

    from assistant.errors import safe_url
    from assistant.model.embedder import Embedder
    from assistant.questionlog import insights
    from assistant.questionlog import logs as questionlog

    if args.days < 1 or args.top < 1:
        raise InvalidArgument("--days and --top must be at least 1")
    settings = _settings(args)
    now = datetime.now(timezone.utc)
    rows = questionlog.read(settings.question_log_url, since=now - timedelta(days=args.days))
    embedder = Embedder(settings.model)  # loads the model on first use: not at all for an empty log
    report = insights.summarize(rows, embedder.encode, args.days, now=now, top=args.top)
    print(insights.dumps(report) if args.json else insights.as_text(report))
    if not rows and not args.json:
        print(f"(nothing recorded in {safe_url(settings.question_log_url).removeprefix('sqlite:///')} yet" +
              ("; question logging is off: ASSISTANT_LOG_QUESTIONS=0)" if not settings.log_questions else ")"), file=sys.stderr)
    return 0


def _init(args) -> int:
    from assistant.settings import CONFIG_NAME, Settings, home_folder, template

    home = home_folder(args.home)
    target = home / CONFIG_NAME
    if target.exists():
        raise InvalidArgument(f"{target} already exists: edit it, or move it away to start again")
    home.mkdir(parents=True, exist_ok=True)
    with open(target, "x", encoding="utf-8") as out:  # never over a file written meanwhile
        out.write(template(corpus_dir=args.corpus, site_title=args.title))
    corpus = Settings.from_env(home=home).corpus_dir  # --corpus is relative to the home here
    corpus.mkdir(parents=True, exist_ok=True)
    print(f"wrote {target}\nnext: put your posts (Markdown, HTML or text) in {corpus}, "
          "then run `assistant build` and `assistant serve` here")
    return 0


def _paths(args) -> int:
    from assistant.errors import safe_url
    from assistant.model.export import cache_dir
    from assistant.settings import CONFIG_NAME

    settings = _settings(args)
    rows = [("home", settings.home),
            ("settings", settings.config_file or f"{settings.home / CONFIG_NAME} (none: defaults)"),
            ("corpus", settings.corpus_dir), ("index", settings.index_dir), ("data", settings.data_dir),
            ("question log", safe_url(settings.question_log_url).removeprefix("sqlite:///")),
            ("model cache", cache_dir())]
    for name, value in rows:
        print(f"{name:<13} {value}")
    return 0


def _serve(args) -> int:
    from assistant.web.launch import serve

    serve(_settings(args))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(errors="replace")
    handler = {"build": _build, "ask": _ask, "eval": _eval, "ingest": _ingest, "watch": _watch, "insights": _insights,
               "serve": _serve, "init": _init, "paths": _paths}[args.command]
    try:
        return handler(args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a folder that can't be written: name it, in one line
        if os.environ.get("ASSISTANT_DEBUG"):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the last line of defence: a user never sees a traceback
        if os.environ.get("ASSISTANT_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (set ASSISTANT_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
