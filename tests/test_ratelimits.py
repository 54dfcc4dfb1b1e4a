"""Rate limits counted in one place for every replica: a real redis-server on loopback,
the counters alone and harden() around a tiny app under two real uvicorn servers (no
model needed). The two-process test with the real app is in test_scale.py."""
from __future__ import annotations

import logging

import httpx
import pytest
from limits import parse
from servers import asgi_server, free_port, has_redis, missing, redis_server

from assistant.errors import InvalidArgument
from assistant.http import counters as ratelimits
from assistant.http.counters import DEGRADED, Counters
from assistant.settings import Settings

FIVE = parse("5/minute")


@pytest.fixture
def redis_url():
    if not has_redis():
        pytest.skip(missing("redis-server", "redis-server"))
    with redis_server() as redis:
        yield redis.url


def test_questions_asked_in_the_chat_and_on_the_api_spend_one_budget():
    from starlette.responses import PlainTextResponse
    from starlette.testclient import TestClient

    from assistant.http.rate_limits import Budget, RateLimit

    counters = Counters()
    chat = Budget("3/minute", counters)
    api = TestClient(RateLimit(PlainTextResponse("answered"), "3/minute", counters=counters))
    assert [chat.wait("testclient"), chat.wait("testclient")] == [0, 0]  # two questions in the chat
    assert [api.get("/api/ask").status_code for _ in range(2)] == [200, 429]  # leave one for the API
    assert chat.wait("testclient") > 0  # and none for the chat
    assert chat.wait("reader next door") == 0


def test_memory_counters_are_per_process_by_default():
    here, there = Counters(), Counters()
    assert [here.hit(FIVE, "client", "a") for _ in range(6)] == [True] * 5 + [False]
    assert there.hit(FIVE, "client", "a")
    assert not here.shared and here.status() == "ok"


def test_two_servers_on_one_redis_count_one_budget(redis_url):
    a, b = Counters(redis_url), Counters(redis_url)
    hits = [a.hit(FIVE, "client", "a"), b.hit(FIVE, "client", "a"), a.hit(FIVE, "client", "a"),
            b.hit(FIVE, "client", "a"), a.hit(FIVE, "client", "a")]
    assert hits == [True] * 5
    assert not b.hit(FIVE, "client", "a")
    assert not b.test(FIVE, "client", "a") and 1 <= b.retry_after(FIVE, "client", "a") <= 60
    assert b.hit(FIVE, "client", "another reader")
    assert a.status() == b.status() == "ok"


def test_with_redis_gone_each_process_counts_alone_and_says_so_once(caplog):
    if not has_redis():
        pytest.skip(missing("redis-server", "redis-server"))
    port = free_port()
    with redis_server(port) as redis:
        counters = Counters(redis.url)
        assert counters.hit(FIVE, "client", "a")
    # the server has exited: readers are still counted, here, and never refused for it
    with caplog.at_level(logging.WARNING, logger="assistant.ratelimits"):
        answers = [counters.hit(FIVE, "client", "a") for _ in range(6)]
        assert counters.status() == DEGRADED
    assert answers == [True] * 5 + [False]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and warnings[0].startswith(DEGRADED), warnings
    assert f"127.0.0.1:{port}" in warnings[0]


def test_redis_back_again_is_shared_again(monkeypatch, caplog):
    if not has_redis():
        pytest.skip(missing("redis-server", "redis-server"))
    monkeypatch.setattr(ratelimits, "RETRY_SECONDS", 0.0)  # try the store again at once, not after 5 s
    port = free_port()
    with redis_server(port) as redis:
        counters = Counters(redis.url)
    assert counters.status() == DEGRADED
    with redis_server(port), caplog.at_level(logging.WARNING, logger="assistant.ratelimits"):
        assert counters.status() == "ok"
        other = Counters(redis.url)
        assert [counters.hit(FIVE, "client", "a") for _ in range(5)] == [True] * 5
        assert not other.hit(FIVE, "client", "a")
    assert any("shared again" in r.getMessage() for r in caplog.records)


def test_a_storage_that_is_not_memory_or_redis_is_a_one_line_error():
    for uri in ("ftp://host", "redis", "memcached://127.0.0.1:11211", ""):
        with pytest.raises(InvalidArgument, match="ASSISTANT_RATE_LIMIT_STORAGE"):
            Counters(uri)


def test_the_password_in_a_redis_url_stays_out_of_the_log(caplog):
    counters = Counters(f"redis://:hunter2@127.0.0.1:{free_port()}/0")  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="assistant.ratelimits"):
        assert counters.hit(FIVE, "client", "a")
    assert caplog.records and all("hunter2" not in r.getMessage() for r in caplog.records)


def tiny_app(settings: Settings):
    from fastapi import FastAPI

    from assistant.web.hardening import harden

    app = FastAPI()
    app.get("/api/ask")(lambda: {"answer": "yes"})
    app.post("/api/feedback")(lambda: {"recorded": True})
    return harden(app, settings)


def test_two_servers_on_one_redis_refuse_together_questions_and_ratings_apart(redis_url):
    settings = Settings(rate_limit="4/minute", feedback_rate_limit="2/minute", rate_limit_storage=redis_url)
    with asgi_server(tiny_app(settings)) as a, asgi_server(tiny_app(settings)) as b:
        asked = [httpx.get(f"{base}/api/ask").status_code for base in (a, b, a, b)]
        assert asked == [200] * 4
        refused = httpx.get(f"{b}/api/ask")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert httpx.get(f"{a}/api/ask").status_code == 429
        # ratings have a budget of their own, shared too
        rated = [httpx.post(f"{base}/api/feedback").status_code for base in (a, b, a)]
        assert rated == [200, 200, 429]


def behind_a_proxy(rate: str):
    """A TestClient for tiny_app whose requests come from the trusted proxy 127.0.0.1."""
    from starlette.testclient import TestClient

    settings = Settings(rate_limit=rate, trusted_proxies=("127.0.0.1",))
    return TestClient(tiny_app(settings), client=("127.0.0.1", 50000))


def test_twelve_addresses_of_one_ipv6_64_behind_the_proxy_share_one_budget():
    proxy = behind_a_proxy("3/minute")
    rotated = [proxy.get("/api/ask", headers={"X-Forwarded-For": f"2001:db8:0:1::{n:x}"}).status_code
               for n in range(1, 13)]
    assert rotated == [200] * 3 + [429] * 9
    assert proxy.get("/api/ask", headers={"X-Forwarded-For": "2001:db8:0:2::1"}).status_code == 200  # the next /64


def test_other_spellings_of_a_limited_address_share_its_budget():
    from assistant.http.rate_limits import Budget

    proxy = behind_a_proxy("3/minute")
    spellings = {"198.51.100.7": ["::ffff:198.51.100.7", "[::ffff:198.51.100.7]:443", "198.51.100.7:8080",
                                  "198.051.100.007", "::FFFF:C633:6407"],
                 "2001:db8::1": ["2001:0DB8:0000:0000:0000:0000:0000:0001", "[2001:db8::1]:443", "2001:db8::1%eth0",
                                 "[2001:DB8::1%25eth0]:8443"]}
    for address, others in spellings.items():
        assert [proxy.get("/api/ask", headers={"X-Forwarded-For": address}).status_code for _ in range(3)] == [200] * 3
        assert {other: proxy.get("/api/ask", headers={"X-Forwarded-For": other}).status_code for other in others} \
            == {other: 429 for other in others}
    chat = Budget("1/minute")  # the chat page's budget keys the same way
    assert [chat.wait("2001:db8::1"), chat.wait("[2001:DB8:0:0::99]:443") > 0] == [0, True]


def test_the_chats_thumbs_spend_the_ratings_budget():
    """ASSISTANT_FEEDBACK_RATE_LIMIT holds for thumbs in the chat as for /api/feedback:
    past 2/minute a reader's thumbs are dropped; another reader's still count."""
    from types import SimpleNamespace

    from assistant.web.chat import Turn, _handlers

    class Ratings:
        enabled = True

        def __init__(self):
            self.kept = []

        def feedback(self, rating):
            self.kept.append(rating.question_id)

    def thumb_up(question_id: str, reader: str) -> None:
        answer = f"Common examples include crow's feet [1]\n\n{Turn('What are crow’s feet?', 'Common examples', question_id).comment()}"
        on_like(SimpleNamespace(value=answer, liked=True), SimpleNamespace(client=SimpleNamespace(host=reader)))

    ratings = Ratings()
    *_, on_like = _handlers(None, Settings(feedback_rate_limit="2/minute"), ratings, Counters())
    for n in range(4):
        thumb_up(f"{n:032x}", "203.0.113.7")
    thumb_up("f" * 32, "198.51.100.2")
    assert ratings.kept == [f"{0:032x}", f"{1:032x}", "f" * 32]
