"""`python -m bench.quality [FOLDER] [--json PATH]`: three off-the-shelf peers (txtai
hybrid, bm25s alone, the LangChain FAISS recipe) on a multi-article evaluation set,
one paragraph per document, in two settings: each article in its own index, and all
articles in one.

It measures where the gold paragraph ranks, and how the peer's "answer" (its top
paragraph, whole) looks. It does not run our engine and does not tune the peers: each
runs as its documentation sets it up, given the local model folder and nothing downloaded.
"""
from __future__ import annotations

import os

# Before any library that might reach for the hub is imported (here or by a peer).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from assistant.content.corpus import load_document
from assistant.eval.questions import RANKS_SEEN
from assistant.model.embedder import model_path
from assistant.settings import DEFAULT_MODEL

from . import common
from .peers import ANSWER_K, System, _langchain, _peer, _txtai, _versions

DEFAULT_FOLDER = common.PROJECT / "tests" / "eval" / "external-slice"
RESULTS = common.PROJECT / "bench" / "results"
SETTINGS = {"one_article": "one article per index, its own questions",
            "whole_blog": "all articles in one index, all questions"}
BM25_CONFIG_NOTE = ("bm25s README quickstart: tokenize(corpus, stopwords='en', stemmer=Stemmer('english')), "
                    "BM25() defaults, tokenize(query, stemmer=...), retrieve(k=10)")
LANGCHAIN_CONFIG_NOTE = ("HuggingFaceEmbeddings(model_name=<local model folder>, normalize_embeddings=True); "
                         "FAISS.from_texts (IndexFlatL2); similarity_search_with_score")
TXTAI_CONFIG_NOTE = ("Embeddings(path=<local model folder>, method='sentence-transformers', backend='faiss', "
                     "hybrid=True, content=True)")
_TABLE_ROW = re.compile(r"^\|\s*(?P<title>[^|]+?)\s*\|\s*`(?P<file>[^`]+)`\s*\|\s*(?P<paragraphs>[\d,]+)\s*\|")


@dataclass(frozen=True)
class Paragraph:
    """One peer document: a whole paragraph, and where it sits in the set."""

    article: str  # the article's title, as the questions' "article" field names it
    index: int  # 0-based within its article, as the questions' "paragraph" field counts
    text: str


def _bm25(documents: list[str]) -> System:
    import bm25s
    import Stemmer

    started = time.perf_counter()
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(documents, stopwords="en", stemmer=stemmer, show_progress=False),
                    show_progress=False)

    def retrieve(question: str, k: int) -> list[int]:
        tokens = bm25s.tokenize(question, stemmer=stemmer, show_progress=False)
        ids, _ = retriever.retrieve(tokens, k=min(k, len(documents)), show_progress=False)
        return [int(i) for i in ids[0]]

    return System("bm25_alone", lambda q: retrieve(q, RANKS_SEEN), lambda q: retrieve(q, ANSWER_K),
                  time.perf_counter() - started)


PEERS: dict[str, Callable[[list[str], str], System]] = {
    "txtai_hybrid": _txtai,
    "bm25_alone": lambda documents, model_folder: _bm25(documents),
    "langchain_faiss": _langchain,
}


def _expected_counts(folder: Path) -> dict[str, int]:
    """Paragraphs per article file, from the set's README table (or its stats.json)."""
    readme = folder / "README.md"
    counts = {}
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            if match := _TABLE_ROW.match(line):
                counts[match["file"]] = int(match["paragraphs"].replace(",", ""))
    if not counts and (folder / "stats.json").is_file():
        stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
        counts = {a["file"]: a["paragraphs"] for a in stats.get("articles", [])}
    return counts


def load_set(folder: Path) -> tuple[dict[str, list[Paragraph]], list[dict], int]:
    """The set's articles as paragraphs (by title), its answerable questions, and the
    number of out-of-scope ones. Checks that the project's loader splits every article
    into the paragraphs the set counts, and that each gold paragraph holds its answer."""
    files = sorted((folder / "articles").glob("*.md"))
    expected = _expected_counts(folder)
    if not files or not expected:
        raise SystemExit(f"{folder}: expected articles/*.md and a README.md table (or stats.json) of paragraph counts")
    articles: dict[str, list[Paragraph]] = {}
    for path in files:
        document = load_document(path, folder)
        name = path.relative_to(folder).as_posix()
        blocks = document.blocks if document else ()
        if len(blocks) != expected.get(name):
            raise SystemExit(f"{name}: the loader gives {len(blocks)} paragraphs, the set says {expected.get(name)}")
        articles[document.title] = [Paragraph(document.title, i, b.text) for i, b in enumerate(blocks)]

    rows = [json.loads(line) for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    questions = [r for r in rows if not r.get("out_of_scope")]
    for row in questions:
        paragraphs = articles.get(row["article"], [])
        if not 0 <= row["paragraph"] < len(paragraphs) or not _holds_gold(paragraphs[row["paragraph"]].text, row):
            raise SystemExit(f"question {row['q']!r}: no gold string in paragraph {row['paragraph']} of {row['article']!r}")
    return articles, questions, len(rows) - len(questions)


def _holds_gold(text: str, row: dict) -> bool:
    folded = text.casefold()
    return any(g.casefold() in folded for g in row["gold"])


def _ask(system: System, paragraphs: list[Paragraph], questions: list[dict]) -> list[list[Paragraph]]:
    return [[paragraphs[p] for p in system.ranked_positions(row["q"])] for row in questions]


def _metrics(questions: list[dict], rankings: list[list[Paragraph]]) -> dict:
    """hit@1, hit@3 and MRR over the top RANKS_SEEN (a hit is the gold paragraph of the
    gold article), and the top paragraph taken as the answer."""
    ranks = [next((i + 1 for i, p in enumerate(ranking) if (p.article, p.index) == (row["article"], row["paragraph"])),
                  None) for row, ranking in zip(questions, rankings)]
    n = len(questions)
    return {
        "hit_at_1": round(sum(r == 1 for r in ranks) / n, 4),
        "hit_at_3": round(sum(r is not None and r <= 3 for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
        # generous: a whole paragraph is the peer's answer, so it holds the gold string whenever it is the gold paragraph
        "answer_holds_gold": round(sum(_holds_gold(r[0].text, row) for row, r in zip(questions, rankings) if r) / n, 4),
        "answer_median_chars": statistics.median(len(r[0].text) for r in rankings if r),
        "off_topic_refusal": None,  # peers always return something: not applicable
        "gold_ranks": ranks,  # per question, in the set's order; None when past the top RANKS_SEEN
    }


def _setting(name: str, articles: dict[str, list[Paragraph]], questions: list[dict], model_folder: str,
             failures: dict[str, str]) -> dict:
    """Every peer in one setting: one index per article, or one index for the whole set."""
    groups = ([(paragraphs, [q for q in questions if q["article"] == title]) for title, paragraphs in articles.items()]
              if name == "one_article" else [([p for ps in articles.values() for p in ps], questions)])
    asked = [row for _, group in groups for row in group]  # the order the rankings come back in
    results = {}
    for peer, build in PEERS.items():
        if peer in failures:  # failed in an earlier setting: it would fail the same way here
            results[peer] = {"error": failures[peer]}
            continue
        started, setup, rankings = time.perf_counter(), 0.0, []
        for paragraphs, group in groups:
            system = _peer(lambda: build([p.text for p in paragraphs], model_folder), failures, peer)
            if system is None:
                break
            setup += system.setup_seconds
            rankings += _ask(system, paragraphs, group)
        if peer in failures:
            results[peer] = {"error": failures[peer]}
            continue
        results[peer] = {**_metrics(asked, rankings), "indexes": len(groups), "setup_s": round(setup, 2),
                         "seconds": round(time.perf_counter() - started, 1)}
        print(f"[quality] {name} {peer}: hit@1 {results[peer]['hit_at_1']:.3f} "
              f"({results[peer]['seconds']:.0f} s)", file=sys.stderr, flush=True)
    return results


def measure(folder: Path) -> dict:
    """Both settings, all three peers, on the set in `folder`."""
    started = time.perf_counter()
    articles, questions, out_of_scope = load_set(folder)
    model_folder = model_path(DEFAULT_MODEL)
    failures: dict[str, str] = {}
    settings = {name: _setting(name, articles, questions, model_folder, failures) for name in SETTINGS}
    return {
        "set": str(folder),
        "articles": len(articles),
        "paragraphs": sum(len(ps) for ps in articles.values()),
        "questions": len(questions),
        "out_of_scope_questions": out_of_scope,
        "settings": settings,
        "setting_notes": SETTINGS,
        "peer_documents": "one per paragraph, the paragraph's text as assistant.corpus.load_document gives it",
        "hit": "the returned paragraph is the gold paragraph of the gold article",
        "answer": "the top-1 paragraph, whole",
        "configs": {"txtai_hybrid": TXTAI_CONFIG_NOTE, "bm25_alone": BM25_CONFIG_NOTE,
                    "langchain_faiss": LANGCHAIN_CONFIG_NOTE},
        "versions": _versions(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def run(quick: bool = False) -> dict:
    """The bench.run section: the default set, or a note when this checkout has none."""
    if not DEFAULT_FOLDER.is_dir():
        return {"skipped": f"skipped: no evaluation set at {DEFAULT_FOLDER.relative_to(common.PROJECT)}"}
    return measure(DEFAULT_FOLDER)


def rows(results: dict) -> list[tuple[str, str, str]]:
    """(metric, measured, target) rows: one per setting and peer."""
    if "skipped" in results:
        return [("peer quality on a multi-article set", results["skipped"], "")]
    table = []
    for setting, peers in results["settings"].items():
        for peer, r in peers.items():
            if "error" in r:
                table.append((f"{setting} / {peer}", f"not run: {r['error']}", ""))
                continue
            table.append((f"{setting} / {peer}",
                          f"hit@1 {r['hit_at_1']:.3f}  hit@3 {r['hit_at_3']:.3f}  MRR@{RANKS_SEEN} {r['mrr']:.3f}  "
                          f"answer holds gold {r['answer_holds_gold']:.3f}  answer median {r['answer_median_chars']:.0f} "
                          f"chars  off-topic refusal n/a", ""))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description="Peer retrieval quality on a multi-article evaluation set, in two settings.")
    parser.add_argument("folder", nargs="?", type=Path,
                        help=f"the evaluation set (default: {DEFAULT_FOLDER.relative_to(common.PROJECT)})")
    parser.add_argument("--json", type=Path, help="where to write the results (default: bench/results/quality-<date>.json)")
    args = parser.parse_args(argv)
    folder = args.folder or DEFAULT_FOLDER
    if not folder.is_dir():
        parser.error(f"no evaluation set at {folder}; pass the set's folder (articles/, questions.jsonl, README.md)")

    results = measure(folder.resolve())
    path = args.json or RESULTS / f"quality-{datetime.now().date().isoformat()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(common.format_table(rows(results)))
    print(f"\n{results['questions']} questions, {results['paragraphs']} paragraphs in {results['articles']} articles; "
          f"{results['seconds']:.0f} s; results in {path}")
    return 1 if any("error" in r for peers in results["settings"].values() for r in peers.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
