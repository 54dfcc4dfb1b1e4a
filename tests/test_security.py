"""Abuse limits and cross-origin rules of the real server, over HTTP on loopback."""
from __future__ import annotations

import concurrent.futures

import httpx
import pytest
from servers import app_server

pytestmark = pytest.mark.slow
BLOG = "http://blog.example:8080"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # the default rate limit (30/minute;5/second), one allowed origin
    with app_server(tmp_path_factory.mktemp("sec"), ASSISTANT_ALLOWED_ORIGINS=f"{BLOG}, http://other.example/",
                    ASSISTANT_RATE_LIMIT="30/minute;5/second") as base:
        yield base


def test_an_allowed_origin_gets_a_cors_grant(server):
    response = httpx.get(f"{server}/healthz", headers={"Origin": BLOG})
    assert response.headers["access-control-allow-origin"] == BLOG
    preflight = httpx.options(f"{server}/api/ask", headers={
        "Origin": BLOG, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == BLOG


def test_any_other_origin_gets_no_grant(server):
    for origin in ("http://evil.example", "http://blog.example:8081", "null"):
        response = httpx.get(f"{server}/healthz", headers={"Origin": origin})
        assert "access-control-allow-origin" not in response.headers, origin
        preflight = httpx.options(f"{server}/api/ask", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in preflight.headers, origin


def test_only_allowed_origins_may_frame_pages(server):
    policy = httpx.get(f"{server}/healthz").headers["content-security-policy"]
    assert policy.endswith(f"; frame-ancestors 'self' {BLOG} http://other.example")


def test_an_oversized_body_is_refused_with_413(server):
    response = httpx.post(f"{server}/api/ask", content=b'{"question": "' + b"a" * 200_000 + b'"}',
                          headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "too large" in response.json()["error"]


def test_a_burst_from_one_client_gets_429_with_retry_after_never_5xx(server):
    with httpx.Client(timeout=30) as client, concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: client.get(f"{server}/api/ask", params={"q": "collagen"}), range(150)))
    statuses = [r.status_code for r in responses]
    assert all(s in (200, 429) for s in statuses), sorted(set(statuses))
    limited = [r for r in responses if r.status_code == 429]
    assert len(limited) >= 150 - 30
    assert int(limited[0].headers["retry-after"]) >= 1
    assert "try again" in limited[0].json()["error"]


def test_feedback_has_its_own_budget_so_rating_never_costs_a_question(server):
    with httpx.Client(timeout=30) as client:
        for _ in range(40):  # spend this client's question budget
            client.get(f"{server}/api/ask", params={"q": "what is collagen"})
        assert client.get(f"{server}/api/ask", params={"q": "what is collagen"}).status_code == 429
        rating = {"question_id": "b" * 32, "helpful": True}
        assert client.post(f"{server}/api/feedback", json=rating).status_code == 404  # reached the handler
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: client.post(f"{server}/api/feedback", json=rating).status_code, range(80)))
    assert set(statuses) == {404, 429}  # 60/minute of its own, then refused like questions
