"""The local cluster (deploy/cluster.py, `make cluster-check`): PostgreSQL, redis-server,
one `assistant build`, two replicas and nginx in front, all real, on loopback. Readers
come through nginx from their own loopback addresses (127.100+.x.y), as readers on the
internet would, so each has a rate-limit budget of its own.

Figures (duration, rate, swap seconds, memory) are printed, never asserted: run with -s,
and CLUSTER_QUESTIONS=5000 for a longer load than the default.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from servers import PROJECT, eventually, missing

from assistant.questionlog.logs import read
from assistant.questionlog.writer import UNREACHABLE
from deploy import cluster as local
from deploy.postgres import has_postgres
from deploy.redis_server import has_redis

ABSENT = [name for name, found in (("postgresql", has_postgres()), ("redis-server", has_redis()),
                                    ("nginx", Path(local.NGINX).exists())) if not found]
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(ABSENT), reason=missing(" and ".join(ABSENT), " and ".join(ABSENT)))]

READERS = 16
QUESTIONS = int(os.environ.get("CLUSTER_QUESTIONS", "480"))
# answers that must come while PostgreSQL is down: a count, not a duration (about 6 s by
# default here; CLUSTER_OUTAGE_ANSWERS=2500 held it down 35 s for the README's longer run)
OUTAGE_ANSWERS = int(os.environ.get("CLUSTER_OUTAGE_ANSWERS", "64"))
BUDGET = 12  # questions per reader per minute, counted in Redis for both replicas
VISIT = 4  # questions a reader asks from one address: under the budget, so the load sees no 429
TOKEN = "cluster-check-owner"
ASKED = ("What are crow's feet?", "what causes forehead lines", "How do frown lines form?", "Which muscle raises the eyebrows?")
RATE_LIMITS_DOWN = "degraded: rate limits local"
VISITS = itertools.count()


def figure(line: str) -> None:
    print(f"\ncluster: {line}", flush=True)


@pytest.fixture(scope="module")
def cluster():
    # not under pytest's tmp_path: its folders are private to us, and PostgreSQL runs as `postgres`
    root = Path(tempfile.mkdtemp(prefix="assistant-cluster-"))
    root.chmod(0o755)
    corpus = root / "corpus-copy"
    subprocess.run(["cp", "-r", str(PROJECT / "corpus"), str(corpus)], check=True)
    started = time.monotonic()
    running = local.start(root / "cluster", corpus, token=TOKEN,
                          env={"ASSISTANT_RATE_LIMIT": f"{BUDGET}/minute", "ASSISTANT_LOGIN_RATE_LIMIT": "100/minute"})
    figure(f"started in {time.monotonic() - started:.1f} s\n{running.describe()}")
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Result:
    number: int  # the order in which requests were sent
    status: int  # 0: no HTTP answer at all
    served_by: str
    question_id: str
    error: str = ""

    @property
    def replica(self) -> str:
        """The replica that answered: the last one nginx tried (X-Served-By lists each it tried)."""
        return self.served_by.split(", ")[-1]


class Readers:
    """READERS threads asking through the proxy until `count` questions are sent or stop()."""

    def __init__(self, base: str, count: int):
        self.base, self.count = base, count
        self.results: list[Result] = []
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._read) for _ in range(READERS)]

    def __enter__(self) -> "Readers":
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def sent(self) -> int:
        """How many requests have been handed out so far: every later one starts after this call."""
        with self._lock:
            return next(self._numbers)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(300)
        self.seconds = time.monotonic() - self.started

    def wait(self) -> None:
        for thread in self._threads:
            thread.join(600)
        self.seconds = time.monotonic() - self.started

    def answered(self) -> list[Result]:
        return [r for r in self.results if r.status == 200]

    def _read(self) -> None:
        while True:
            with self._lock:
                visit = next(VISITS)
            # a new reader's address every VISIT questions, never one used before in this module
            address = f"127.{100 + visit // 62_500}.{visit // 250 % 250}.{visit % 250 + 1}"
            with httpx.Client(transport=httpx.HTTPTransport(local_address=address), base_url=self.base, timeout=120) as client:
                for _ in range(VISIT):
                    with self._lock:
                        number = next(self._numbers)
                    if number >= self.count or self._stop.is_set():
                        return
                    self.results.append(self._ask(client, number, ASKED[number % len(ASKED)]))

    @staticmethod
    def _ask(client: httpx.Client, number: int, question: str) -> Result:
        try:
            response = client.get("/api/ask", params={"q": question})
        except httpx.HTTPError as exc:
            return Result(number, 0, "", "", f"{type(exc).__name__}: {exc}")
        question_id = response.json().get("question_id", "") if response.status_code == 200 else ""
        return Result(number, response.status_code, response.headers.get("x-served-by", ""), question_id,
                      "" if response.status_code == 200 else response.text[:200])


def health(base: str) -> dict:
    return httpx.get(f"{base}/healthz", timeout=30).json()


def logged_ids(cluster) -> set[str]:
    return {row.id for row in read(cluster.database_url)}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_sixteen_readers_through_the_proxy_get_answers_from_both_replicas_and_one_insights_view(cluster, browser):
    from playwright.sync_api import expect

    with Readers(cluster.url, QUESTIONS) as readers:
        readers.wait()
    figure(f"{READERS} readers, {QUESTIONS} questions through nginx in {readers.seconds:.1f} s "
           f"({QUESTIONS / readers.seconds:.0f} questions/s); statuses {sorted({r.status for r in readers.results})}")
    assert len(readers.results) == QUESTIONS
    assert [r for r in readers.results if r.status != 200] == []
    by_replica = {name: sum(r.replica == f"127.0.0.1:{replica.port}" for r in readers.results)
                  for name, replica in cluster.replicas.items()}
    figure(f"served by replica: {by_replica}; RSS after the load: "
           + ", ".join(f"{name} {rss_mb(r.pid):.0f} MB" for name, r in cluster.replicas.items()))
    assert all(count > 0 for count in by_replica.values()) and sum(by_replica.values()) == QUESTIONS

    asked = {r.question_id for r in readers.results}
    assert eventually(lambda: asked <= logged_ids(cluster), 60)  # one log for both replicas

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")} | {"ASSISTANT_CACHE_DIR": os.environ.get("ASSISTANT_CACHE_DIR", "")}
    done = subprocess.run([sys.executable, "-m", "assistant", "insights", "--json", "--db", cluster.database_url],
                          capture_output=True, text=True, env=env, cwd=PROJECT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["questions"] == QUESTIONS

    context = browser.new_context(http_credentials={"username": "owner", "password": TOKEN})
    page = context.new_page()
    page.goto(f"{cluster.url}/insights/")  # through nginx: its Gradio calls stick to one replica
    expect(page.locator("#summary")).to_contain_text(f"{QUESTIONS} questions", timeout=120_000)
    context.close()


def test_a_reader_who_spends_the_budget_on_replica_a_is_refused_by_replica_b(cluster):
    reader = {"X-Forwarded-For": "203.0.113.7"}  # as nginx, the trusted proxy, would say it

    def ask(name: str) -> httpx.Response:
        return httpx.get(f"{cluster.replica_url(name)}/api/ask", params={"q": ASKED[0]}, headers=reader, timeout=60)

    assert [ask("a").status_code for _ in range(BUDGET)] == [200] * BUDGET
    refused = ask("b")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_a_rebuild_by_the_builder_is_served_by_both_replicas_without_a_failed_request(cluster):
    with Readers(cluster.url, 100_000) as readers:  # bounded; stopped once the swap is seen
        assert eventually(lambda: len(readers.results) >= READERS, 120)
        (cluster.corpus / "extra.txt").write_text("Extra Notes\n\nThe zentrafol mask is left on for ten minutes.\n")
        assert cluster.build()["embedded"] == 1
        built = time.monotonic()
        new = json.loads((cluster.index_dir / "manifest.json").read_text())["version"]
        for name in cluster.replicas:
            assert eventually(lambda: health(cluster.replica_url(name))["index_version"] == new, 120), name
        swapped = time.monotonic() - built
        after = len(readers.results)
        assert eventually(lambda: len(readers.results) >= after + READERS, 120)  # and readers go on after it
    figure(f"rebuild served by both replicas {swapped:.2f} s after `assistant build` exited; "
           f"{len(readers.results)} requests during the swap, statuses {sorted({r.status for r in readers.results})}")
    assert [r for r in readers.results if r.status != 200] == []
    for name in cluster.replicas:
        answer = httpx.get(f"{cluster.replica_url(name)}/api/ask", params={"q": "How long is the zentrafol mask left on?"},
                           headers={"X-Forwarded-For": "192.0.2.77"}, timeout=60).json()
        assert "zentrafol" in answer["citations"][0]["text"] and answer["index_version"] == new


def test_kill_9_of_a_replica_under_load_fails_over_and_loses_no_answered_question(cluster):
    with Readers(cluster.url, 100_000) as readers:
        assert eventually(lambda: len(readers.results) >= 4 * READERS, 120)
        cluster.kill_replica("a")
        killed_at = readers.sent()  # requests numbered from here on started after the kill
        assert eventually(lambda: sum(r.number > killed_at for r in readers.results) >= 4 * READERS, 120)
    failed = [r for r in readers.results if r.status != 200]
    figure(f"kill -9 of replica a under load: {len(readers.results)} requests, {len(failed)} failed "
           f"({sum(r.number < killed_at for r in failed)} of them in flight at the kill)")
    assert all(r.number < killed_at for r in failed) and len(failed) <= READERS  # only those in flight on it
    after = [r for r in readers.results if r.number > killed_at]
    assert {r.replica for r in after} == {f"127.0.0.1:{cluster.replicas['b'].port}"}  # nginx failed over
    answered = {r.question_id for r in readers.answered()}
    assert eventually(lambda: answered <= logged_ids(cluster), 60)  # every 200 is in PostgreSQL

    cluster.start_replica("a")  # and the proxy takes it back once it is up again
    back = f"127.0.0.1:{cluster.replicas['a'].port}"
    assert eventually(lambda: httpx.get(f"{cluster.url}/api/ask", params={"q": ASKED[1]}, timeout=60,
                                        headers={"X-Forwarded-For": "192.0.2.1"}).headers.get("x-served-by") == back, 120)


def test_with_redis_stopped_readers_are_answered_and_healthz_says_degraded(cluster):
    cluster.redis.stop()
    try:
        for name in cluster.replicas:
            assert eventually(lambda: health(cluster.replica_url(name))["status"] == RATE_LIMITS_DOWN, 60), name
        with Readers(cluster.url, 2 * READERS) as readers:
            readers.wait()
        assert {r.status for r in readers.results} == {200}
    finally:
        cluster.start_redis()
    for name in cluster.replicas:  # the shared store is tried again and counts once more
        assert eventually(lambda: health(cluster.replica_url(name))["status"] == "ok", 120), name


def test_with_postgresql_stopped_readers_are_answered_and_their_rows_arrive_when_it_returns(cluster):
    with Readers(cluster.url, 100_000) as readers:
        assert eventually(lambda: len(readers.results) >= READERS, 120)
        cluster.postgres.stop()
        stopped = time.monotonic()
        try:
            for name in cluster.replicas:
                assert eventually(lambda: health(cluster.replica_url(name))["status"] == UNREACHABLE, 120), name
            during = len(readers.results)
            assert eventually(lambda: len(readers.results) >= during + OUTAGE_ANSWERS, max(120, OUTAGE_ANSWERS))
            waiting = sum(health(cluster.replica_url(name))["question_log"]["waiting"] for name in cluster.replicas)
            assert waiting > 0
        finally:
            cluster.postgres.start()
        down = time.monotonic() - stopped
        for name in cluster.replicas:
            assert eventually(lambda: health(cluster.replica_url(name))["status"] == "ok", 120), name
    answered = {r.question_id for r in readers.answered()}
    assert [r for r in readers.results if r.status != 200] == []
    assert eventually(lambda: answered <= logged_ids(cluster), 120)
    figure(f"PostgreSQL stopped {down:.1f} s under load: {len(readers.results)} questions answered, "
           f"{waiting} waiting in the replicas' memory at one point, all {len(answered)} in PostgreSQL after it returned")
    assert all(health(cluster.replica_url(name)).get("question_log", {}).get("lost", 0) == 0 for name in cluster.replicas)


def test_cluster_stop_leaves_nothing_running(cluster):
    assert local.stop(cluster.root) and cluster.running() == []
    for port in [cluster.proxy_port, cluster.redis_port, cluster.postgres_port] + [r.port for r in cluster.replicas.values()]:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
