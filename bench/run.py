"""`python -m bench.run [--quick] [--only NAME,...]`: run the bench sections in order,
print one table (metric | measured | target), and write bench/results/<date>.json
with the machine it ran on.

Each section is a module with `run(quick) -> dict` and `rows(results) -> rows`. A
section whose module is missing is skipped with a note; one that fails is reported
and the others still run. Comparisons are only ever made inside one section's run.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from importlib import metadata

from . import common

SECTIONS = {"latency": "bench.latency", "build": "bench.build", "startup": "bench.startup",
            "http": "bench.http_load", "scale": "bench.scale", "peers": "bench.peers",
            "insights": "bench.insights", "quality": "bench.quality"}
RESULTS = common.PROJECT / "bench" / "results"


def git_commit() -> str:
    """The checked-out commit, read from .git directly (no git process)."""
    git = common.PROJECT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        if (git / ref).is_file():
            return (git / ref).read_text().strip()
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return "unknown"


def machine() -> dict:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    import torch

    return {"cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
            "torch_threads": torch.get_num_threads(),
            "load_average_at_start": os.getloadavg(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": version("torch"), "faiss": version("faiss-cpu"), "onnxruntime": version("onnxruntime"),
            "sentence_transformers": version("sentence-transformers"), "git_commit": git_commit()}


def run_section(name: str, quick: bool) -> dict:
    """One section's figures and rows, or why it has none."""
    started = time.perf_counter()
    try:
        module = importlib.import_module(SECTIONS[name])
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name == SECTIONS[name]:
            return {"skipped": f"skipped: {SECTIONS[name]} is not present"}
        traceback.print_exc()
        return {"error": f"cannot import {SECTIONS[name]}: {exc}", "seconds": 0.0}
    try:
        results = module.run(quick)
        rows = [list(r) for r in module.rows(results)]
    except Exception as exc:  # one broken section must not lose the others
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - started}
    return {"seconds": time.perf_counter() - started, "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "load_average_after": os.getloadavg(), "results": results, "rows": rows}


def section_rows(name: str, outcome: dict) -> list[tuple[str, str, str]]:
    """A heading row for the section, then its own rows (or the note on why there are none)."""
    if "rows" in outcome:
        return [(f"[{name}]", f"({outcome['seconds']:.0f} s)", ""), *map(tuple, outcome["rows"])]
    if "skipped" in outcome:
        return [(f"[{name}]", outcome["skipped"], "")]
    last_line = [line for line in outcome["error"].splitlines() if line.strip()][-1]
    return [(f"[{name}]", f"FAILED: {last_line[:200]} (full error in the JSON)", "")]


def save(report: dict, quick: bool) -> str:
    """Write the day's results file; a partial (--only) run replaces just its sections."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{datetime.now().date().isoformat()}{'-quick' if quick else ''}.json"
    if path.is_file():
        try:
            previous = json.loads(path.read_text())
            report["sections"] = previous.get("sections", {}) | report["sections"]
        except ValueError:
            pass
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1, default=str) + "\n")
    os.replace(tmp, path)
    return str(path.relative_to(common.PROJECT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke test")
    parser.add_argument("--only", help=f"comma-separated sections of: {','.join(SECTIONS)}")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")

    started = time.perf_counter()
    report = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
              "machine": machine(), "sections": {}}
    table = []
    for name in [n for n in SECTIONS if n in names]:  # always in the documented order
        print(f"[{name}] running…", file=sys.stderr, flush=True)
        outcome = run_section(name, args.quick)
        report["sections"][name] = outcome
        rows = section_rows(name, outcome)
        table += rows
        print(common.format_table(rows), file=sys.stderr, flush=True)
    report["seconds"] = time.perf_counter() - started
    where = save(report, args.quick)
    print(common.format_table(table))
    load = " ".join(f"{x:.1f}" for x in report["machine"]["load_average_at_start"])
    print(f"\n{report['seconds']:.0f} s in all; load average at start {load}; results in {where}")
    return 1 if any("error" in outcome for outcome in report["sections"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
