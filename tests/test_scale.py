"""Past one process: one builder (`assistant build`) writes the index, two replicas
(`ASSISTANT_REPLICA=1`, real app processes on loopback) serve it and share their rate
limits through a real redis-server. Readers are told apart by X-Forwarded-For from a
trusted proxy, as behind a load balancer."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
from servers import PROJECT, app_process, eventually, has_redis, missing, redis_server

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not has_redis(), reason=missing("redis-server", "redis-server"))]
TOKEN = "correct horse battery staple"
DEGRADED = "degraded: rate limits local"


def build(builder, *args):
    """`assistant build` as the one writer of the index; its JSON report."""
    env = os.environ | {"ASSISTANT_CORPUS_DIR": str(builder / "corpus"), "ASSISTANT_INDEX_DIR": str(builder / "index")}
    done = subprocess.run([sys.executable, "-m", "assistant", "build", "--json", *args], env=env, cwd=PROJECT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    builder = root / "builder"
    builder.mkdir()
    subprocess.run(["cp", "-r", str(PROJECT / "corpus"), str(builder / "corpus")], check=True)
    build(builder)
    with redis_server() as redis:
        shared = {"ASSISTANT_REPLICA": "1", "ASSISTANT_INDEX_DIR": str(builder / "index"),
                  "ASSISTANT_CORPUS_DIR": str(root / "no-corpus-here"),  # a replica never reads one
                  "ASSISTANT_RATE_LIMIT_STORAGE": redis.url, "ASSISTANT_TRUSTED_PROXIES": "127.0.0.1",
                  "ASSISTANT_RATE_LIMIT": "6/minute", "ASSISTANT_LOGIN_RATE_LIMIT": "3/minute",
                  "ASSISTANT_ADMIN_TOKEN": TOKEN}
        with app_process(root / "a", **shared) as (_, a), app_process(root / "b", **shared) as (_, b):
            yield {"a": a, "b": b, "builder": builder, "redis": redis, "logs": [root / "a" / "server.log", root / "b" / "server.log"]}


def reader(address: str) -> dict:
    return {"X-Forwarded-For": address}


def ask(base: str, question: str, address: str) -> httpx.Response:
    return httpx.get(f"{base}/api/ask", params={"q": question}, headers=reader(address), timeout=60)


def test_a_client_that_spends_its_budget_on_replica_a_is_refused_by_replica_b(cluster):
    a, b = cluster["a"], cluster["b"]
    spent = [ask(a, "What are crow's feet?", "203.0.113.7").status_code for _ in range(6)]
    assert spent == [200] * 6
    refused = ask(b, "What are crow's feet?", "203.0.113.7")
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert ask(b, "What are crow's feet?", "203.0.113.8").status_code == 200  # another reader is not


def test_wrong_passwords_on_one_replica_lock_the_owner_out_of_the_other(cluster):
    a, b = cluster["a"], cluster["b"]
    wrong = {"Authorization": "Bearer guess"} | reader("198.51.100.9")
    assert [httpx.get(f"{a}/insights/", headers=wrong).status_code for _ in range(3)] == [401] * 3
    right = {"Authorization": f"Bearer {TOKEN}"} | reader("198.51.100.9")
    assert httpx.get(f"{b}/insights/", headers=right).status_code == 429


def test_a_replica_never_rebuilds_over_http(cluster):
    response = httpx.post(f"{cluster['a']}/api/reindex", headers={"Authorization": f"Bearer {TOKEN}"} | reader("198.51.100.20"))
    assert response.status_code == 409
    assert "replica" in response.json()["error"]


def test_a_rebuild_by_the_builder_is_served_by_both_replicas_and_fails_no_request(cluster):
    a, b, builder = cluster["a"], cluster["b"], cluster["builder"]
    addresses = (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in itertools.count(1))  # one per request: no 429
    lock = threading.Lock()
    statuses: list[int] = []
    stop = threading.Event()

    def read(base):
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                with lock:
                    address = next(addresses)
                response = client.get(f"{base}/api/ask", params={"q": "What are crow's feet?"}, headers=reader(address))
                statuses.append(response.status_code)

    readers = [threading.Thread(target=read, args=(base,)) for base in (a, b, a, b)]
    for thread in readers:
        thread.start()
    try:
        (builder / "corpus" / "extra.txt").write_text("Extra Notes\n\nThe zentrafol mask is left on for ten minutes.\n")
        assert build(builder)["embedded"] == 1
        built = time.monotonic()
        new = json.loads((builder / "index" / "manifest.json").read_text())["version"]
        for base in (a, b):
            assert eventually(lambda: httpx.get(f"{base}/healthz").json()["index_version"] == new, timeout=60), base
        swapped = time.monotonic() - built
        served_before = len(statuses)
        assert eventually(lambda: len(statuses) > served_before + 4, timeout=60)  # and readers go on after it
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    print(f"\nboth replicas served the new index {swapped:.2f} s after `assistant build` exited; "
          f"{len(statuses)} requests during the swap, statuses {sorted(set(statuses))}")
    assert len(statuses) > 8 and set(statuses) == {200}
    for base in (a, b):
        answer = ask(base, "How long is the zentrafol mask left on?", "192.0.2.77").json()
        assert "zentrafol" in answer["citations"][0]["text"] and answer["index_version"] == new


def test_a_replica_refuses_to_start_without_an_index(tmp_path):
    env = os.environ | {"ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_CORPUS_DIR": str(PROJECT / "corpus"),
                        "ASSISTANT_PORT": "1"}  # never bound: it stops before serving
    for args, extra in ((["--replica"], {}), ([], {"ASSISTANT_REPLICA": "1"})):
        done = subprocess.run([sys.executable, "-m", "assistant", "serve", *args], env=env | extra, cwd=PROJECT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
        assert "no index in" in errors[0] and "a replica never builds one" in errors[0]
    assert not (tmp_path / "index").exists()


def test_with_redis_stopped_readers_are_answered_and_healthz_says_degraded(cluster):
    # last in this module: it stops the shared store
    cluster["redis"].stop()
    for base in (cluster["a"], cluster["b"]):
        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 200 and health.json()["status"] == DEGRADED
        assert ask(base, "What are crow's feet?", "203.0.113.50").status_code == 200
    for log in cluster["logs"]:
        assert log.read_text().count(DEGRADED) == 1, log.read_text()[-2000:]
