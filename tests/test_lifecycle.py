"""Content changes under a running server: the webhook, hot swap under load, builds by
other processes, kill -9 mid-build, corrupt files on disk, and builds that collide."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time

import httpx
import pytest
from conftest import FakeEmbedder
from servers import PROJECT, app_server

from assistant.engine import build as index_build
from assistant.search import index as index_store

TOKEN = "correct horse battery staple"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    with app_server(root, ASSISTANT_ADMIN_TOKEN=TOKEN, ASSISTANT_RATE_LIMIT="100000/minute") as base:
        yield base, root


def cli(root, *args, env=None, **kwargs):
    env = os.environ | {"ASSISTANT_CORPUS_DIR": str(root / "corpus"), "ASSISTANT_INDEX_DIR": str(root / "index")} | (env or {})
    return subprocess.Popen([sys.executable, "-m", "assistant", *args], env=env, cwd=PROJECT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


class Lines:
    """A child's output, read on a thread so that a test waits for a line (an event), with
    a timeout that only stops a hung test; nothing here waits for time to pass."""

    def __init__(self, stream, guard: float = 300.0):
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.guard = guard
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        with stream:
            for line in stream:
                self._queue.put(line)
        self._queue.put(None)

    def next(self) -> str:
        try:
            line = self._queue.get(timeout=self.guard)
        except queue.Empty:
            pytest.fail(f"no line in {self.guard} s; the last ones: {self.seen[-20:]}")
        if line is None:
            pytest.fail(f"the output ended; the last lines: {self.seen[-20:]}")
        self.seen.append(line)
        return line

    def until(self, wanted: str) -> None:
        while self.next().rstrip("\n") != wanted:
            pass


def version(base) -> str:
    return httpx.get(f"{base}/healthz").json()["index_version"]


def wait_for(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


@pytest.mark.slow
def test_reindex_needs_the_right_bearer_token(site):
    base, _ = site
    assert httpx.post(f"{base}/api/reindex").status_code == 401
    wrong = httpx.post(f"{base}/api/reindex", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert httpx.post(f"{base}/api/reindex", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401


@pytest.mark.slow
def test_five_rebuilds_under_continuous_load_switch_answers_and_fail_no_request(site):
    base, root = site
    statuses: list[int] = []
    stop = threading.Event()

    def reader():
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                statuses.append(client.get(f"{base}/api/ask", params={"q": "What are crow's feet?"}).status_code)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for thread in readers:
        thread.start()
    seen_versions = set()
    try:
        for n in range(5):
            (root / "corpus" / "routines.txt").write_text(
                f"Face Routines\n\nThe Quorvex{n} Routine:\n\n"
                f"The quorvex{n} routine is a gentle facial massage that relaxes the forehead muscles before sleep.\n")
            report = httpx.post(f"{base}/api/reindex", headers=AUTH, timeout=120)
            assert report.status_code == 200, report.text
            body = report.json()
            assert body["embedded"] == 1 and body["removed"] == (0 if n == 0 else 1)
            answer = httpx.get(f"{base}/api/ask", params={"q": f"What is the quorvex{n} routine?"}).json()
            assert answer["answerable"], answer
            assert f"quorvex{n} routine" in answer["citations"][0]["text"]
            assert answer["index_version"] == body["index_version"]
            seen_versions.add(body["index_version"])
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert len(seen_versions) == 5
    assert len(statuses) > 20
    assert set(statuses) == {200}


@pytest.mark.slow
def test_an_index_built_by_another_process_is_swapped_in(site):
    base, root = site
    before = version(base)
    (root / "corpus" / "extra.txt").write_text("Extra Notes\n\nThe zentrafol mask is left on for ten minutes.\n")
    build = cli(root, "build", "--json")
    out, err = build.communicate(timeout=120)
    assert build.returncode == 0, err
    assert json.loads(out)["embedded"] == 1
    assert wait_for(lambda: version(base) != before, 15)
    answer = httpx.get(f"{base}/api/ask", params={"q": "How long is the zentrafol mask left on?"}).json()
    assert "zentrafol" in answer["citations"][0]["text"]


def data_files(index_dir) -> set[str]:
    """The files a manifest names: its data, and its encoder (graph, weights, tokenizer, settings)."""
    return {p.name for p in index_dir.iterdir()
            if p.name.startswith(("passages-", "vectors-", "sentences-", "lexical-", "encoder-"))}


@pytest.mark.slow
def test_kill_9_during_a_build_leaves_the_old_index_served_and_the_next_build_completes(site):
    base, root = site
    before = version(base)
    served = httpx.get(f"{base}/healthz").json()["passages"]
    on_disk = data_files(root / "index")
    previous = index_store.load(root / "index").manifest
    paragraphs = [f"Paragraph {i} on skin care: routine number {i} keeps the cheeks supple and calm. "
                  f"It was tested {i} times. Results vary by skin type." for i in range(40)]
    (root / "corpus" / "big.txt").write_text("A Long Article\n\n" + "\n\n".join(paragraphs) + "\n")
    # engine/build.py's test-only pause points: one passage embedded; all embedded, nothing
    # written; the new data files written, the manifest not yet replaced
    for stage in ("embedding", "embedded", "written"):
        build = cli(root, "build", env={"ASSISTANT_BUILD_PAUSE_AT": stage}, stdin=subprocess.PIPE)
        try:
            Lines(build.stderr).until(f"paused at {stage}")
        finally:
            build.kill()  # SIGKILL: no handler, no clean-up runs
            build.wait()
            build.stdin.close()
            build.stdout.close()
        written = data_files(root / "index") - on_disk
        assert len(written) == (4 if stage == "written" else 0), written  # passages, vectors, sentences, lexical/
        loaded = index_store.load(root / "index")
        assert loaded.manifest.version == before and len(loaded.passages) == served
        assert version(base) == before
        assert httpx.get(f"{base}/api/ask", params={"q": "What are crow's feet?"}).json()["answerable"]
    finished = cli(root, "build", "--json")
    out, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err
    assert json.loads(out)["passages"] == served + 40
    now = index_store.load(root / "index").manifest
    # the killed build's files are gone; the previous version's stay, as after any build
    assert data_files(root / "index") == set(now.files.values()) | set(previous.files.values())
    assert wait_for(lambda: version(base) == now.version, 15)
    (root / "corpus" / "big.txt").unlink()
    restored = httpx.post(f"{base}/api/reindex", headers=AUTH, timeout=120).json()
    assert restored["removed"] == 40 and restored["embedded"] == 0


@pytest.mark.slow
def test_a_corrupt_index_on_disk_is_reported_while_the_last_good_one_serves(site):
    base, root = site
    before = version(base)
    manifest = root / "index" / "manifest.json"
    good = manifest.read_bytes()
    try:
        manifest.write_text('{"format_version": 1, "truncated')
        assert wait_for(lambda: "index_problem" in httpx.get(f"{base}/healthz").json(), 15)
        health = httpx.get(f"{base}/healthz").json()
        assert health["index_version"] == before and "assistant build" in health["index_problem"]
        assert httpx.get(f"{base}/api/ask", params={"q": "does sunscreen help?"}).json()["answerable"]

        ask = cli(root, "ask", "--no-build", "does sunscreen help?")
        out, err = ask.communicate(timeout=60)
        assert ask.returncode == 2
        assert err.count("\n") == 1 and err.startswith("error:") and "assistant build" in err
        assert "Traceback" not in err

        other_model = json.loads(good) | {"model": "someone/else"}
        manifest.write_text(json.dumps(other_model))
        assert wait_for(lambda: "someone/else" in httpx.get(f"{base}/healthz").json().get("index_problem", ""), 15)
        assert httpx.get(f"{base}/healthz").json()["index_version"] == before
    finally:
        manifest.write_bytes(good)
    assert wait_for(lambda: "index_problem" not in httpx.get(f"{base}/healthz").json(), 15)
    assert version(base) == before


@pytest.mark.slow
def test_data_files_damaged_under_the_server_are_reported_and_never_change_an_answer(site):
    base, root = site
    index_dir = root / "index"
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert wait_for(lambda: version(base) == manifest["version"], 15)  # an earlier test's build is served
    questions = ["does sunscreen help?", "What are crow's feet?", "how do muscles cause wrinkles?"]

    def answers():
        return [{k: v for k, v in httpx.get(f"{base}/api/ask", params={"q": q}).json().items() if k != "question_id"}
                for q in questions]

    def problem():
        return httpx.get(f"{base}/healthz").json().get("index_problem", "")

    before = answers()
    for kind, damage in [("sentences", "truncate"), ("sentences", "overwrite"), ("vectors", "overwrite"),
                         ("passages", "overwrite"), ("vectors", "remove")]:
        path = index_dir / manifest["files"][kind]
        good = path.read_bytes()
        try:
            if damage == "truncate":
                os.truncate(path, len(good) // 2)
            elif damage == "overwrite":  # same size, in place, still well-formed: only the hash tells
                at = good.find(b"sunscreen") if kind == "passages" else len(good) - 16
                with open(path, "r+b") as handle:
                    handle.seek(at)
                    handle.write(b"suncream!" if kind == "passages" else good[at:][::-1])
            else:
                path.unlink()
            assert wait_for(lambda: path.name in problem(), 15), (kind, damage, problem())
            assert "assistant build --force" in problem()
            assert answers() == before, (kind, damage)
        finally:
            path.write_bytes(good)
        assert wait_for(lambda: not problem(), 15)
    assert version(base) == manifest["version"] and answers() == before


def test_a_crash_between_any_two_writes_leaves_the_previous_index(corpus_dir, tmp_path, monkeypatch):
    index_dir = tmp_path / "index"
    index_build.build(corpus_dir, index_dir, FakeEmbedder())
    before = index_store.load(index_dir)
    (corpus_dir / "new.txt").write_text("New\n\nA new paragraph about eyelids.\n")
    real_write = index_build._write_atomic
    for crash_at in range(1, 5):  # passages, vectors, sentences, manifest
        calls = {"n": 0}

        def crashing_write(path, write):
            calls["n"] += 1
            if calls["n"] == crash_at:
                raise OSError("disk full")
            return real_write(path, write)

        monkeypatch.setattr(index_build, "_write_atomic", crashing_write)
        with pytest.raises(OSError):
            index_build.build(corpus_dir, index_dir, FakeEmbedder())
        after = index_store.load(index_dir)
        assert after.manifest.version == before.manifest.version
        assert [p.id for p in after.passages] == [p.id for p in before.passages]
    monkeypatch.setattr(index_build, "_write_atomic", real_write)
    report = index_build.build(corpus_dir, index_dir, FakeEmbedder())
    assert report.passages == len(before.passages) + 1
    assert not list(index_dir.glob("*.tmp"))


def test_concurrent_builds_wait_for_each_other_and_never_interleave(corpus_dir, tmp_path):
    spans: list[tuple[float, float]] = []

    class SlowEmbedder(FakeEmbedder):
        def encode(self, texts, progress=False):
            start = time.monotonic()
            time.sleep(0.3)
            vectors = super().encode(texts, progress)
            spans.append((start, time.monotonic()))
            return vectors

    index_dir = tmp_path / "index"
    reports = []
    builders = [threading.Thread(target=lambda: reports.append(index_build.build(corpus_dir, index_dir, SlowEmbedder(), force=True)))
                for _ in range(3)]
    for thread in builders:
        thread.start()
    for thread in builders:
        thread.join()
    assert len(reports) == 3
    spans.sort()
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:]))
    assert len(index_store.load(index_dir).passages) == reports[-1].passages
    with index_build.build_lock(index_dir):
        with pytest.raises(Exception, match="another build is running"):
            with index_build.build_lock(index_dir, wait=False):
                pass


@pytest.mark.slow
def test_watch_rebuilds_when_a_corpus_file_changes(tmp_path):
    root = tmp_path
    (root / "corpus").mkdir()
    (root / "corpus" / "a.txt").write_text("Article A\n\nThe first paragraph is about eyebrows.\n")
    watcher = cli(root, "watch", "--json")
    reports = Lines(watcher.stdout)
    try:
        first = json.loads(reports.next())  # printed once the watcher is watching (cli._watch)
        assert first["passages"] == 1 and first["embedded"] == 1
        (root / "corpus" / "b.md").write_text("---\ntitle: Article B\n---\n\n# Article B\n\nA paragraph about chins.\n")
        second = json.loads(reports.next())
        assert second == second | {"passages": 2, "embedded": 1, "reused": 1, "removed": 0}
        (root / "corpus" / "b.md").unlink()
        third = json.loads(reports.next())
        assert third == third | {"passages": 1, "embedded": 0, "removed": 1}
    finally:
        watcher.kill()
        watcher.wait()
