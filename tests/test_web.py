"""The real server (`python app.py`) on loopback, over HTTP, and how it starts."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import pytest
from servers import PROJECT, app_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="module")
def server(root):
    with app_server(root) as base:
        yield base


def test_one_line_names_the_url_once_the_model_is_loaded_then_one_says_the_pages_are_ready(server, root):
    """app_server returned on the "pages ready" line, which follows the "serving on" one:
    the port answers at once, the model loaded before the first line, the pages are
    mounted, and no library's INFO chatter (faiss's AVX lines, bm25s) is logged."""
    health = httpx.get(f"{server}/healthz", timeout=5)  # one try: no retry loop
    assert health.status_code == 200 and health.json()["pages"] == "ready"
    lines = (root / "server.log").read_text().splitlines()
    said = [i for i, line in enumerate(lines) if line.startswith("serving on ")]
    assert [lines[i].split(" (")[0] for i in said] == [f"serving on {server}"]
    loaded = [i for i, line in enumerate(lines) if "assistant.live INFO model loaded in" in line]
    assert loaded and loaded[0] < said[0]
    pages = [i for i, line in enumerate(lines) if line.startswith("pages ")]
    assert [lines[i] for i in pages] == [f"pages ready: the chat at {server}/, insights at {server}/insights/"]
    assert said[0] < pages[0]
    assert not [line for line in lines if " INFO " in line and " assistant." not in line]
    assert not [line for line in lines if "faiss" in line.lower() or "bm25s" in line]


def test_a_port_in_use_is_one_line_naming_the_setting(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = os.environ | {"ASSISTANT_PORT": str(port), "ASSISTANT_CORPUS_DIR": str(PROJECT / "corpus"),
                            "ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_DATA_DIR": str(tmp_path / "data")}
        done = subprocess.run([sys.executable, str(PROJECT / "app.py")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: port {port} is in use; stop what is using it, or set ASSISTANT_PORT (or --port) to a free port"]
    assert done.stdout == "" and not (tmp_path / "index").exists()  # said before building or loading anything


def test_healthz_reports_the_index(server):
    health = httpx.get(f"{server}/healthz").json()
    assert health["status"] == "ok"
    assert health["passages"] == 11
    assert health["index_version"] and health["built_at"]


def test_crows_feet_cites_the_dynamic_wrinkles_passage(server):
    body = httpx.get(f"{server}/api/ask", params={"q": "what are crows feet"}).json()
    assert body["answerable"] is True
    first = body["citations"][0]
    assert first["section"].endswith("Dynamic Wrinkles")
    assert "crow's feet" in first["text"]
    start, end = first["highlight"]
    assert "crow's feet" in first["text"][start:end]
    assert "#dynamic-wrinkles:~:text=Dynamic%20Wrinkles%3A%20These%20wrinkles" in first["url"]


def test_post_uses_the_conversation_for_a_follow_up(server):
    body = httpx.post(f"{server}/api/ask", json={
        "question": "where do they show up?",
        "history": [{"role": "user", "content": "What are static wrinkles?"}],
    }).json()
    assert body["answerable"] is True and body["about"] == "Static Wrinkles"
    assert "nasolabial folds" in body["citations"][0]["text"]


def test_citation_link_opens_the_article_at_its_section(server):
    url = httpx.get(f"{server}/api/ask", params={"q": "does sunscreen help?"}).json()["citations"][0]["url"]
    path, fragment = url.split("#")
    anchor = fragment.split(":~:")[0]
    page = httpx.get(f"{server}{path}")
    assert page.status_code == 200
    assert f'id="{anchor}"' in page.text
    assert "Ultraviolet (UV) rays" in page.text


def test_out_of_scope_is_refused_without_citations(server):
    body = httpx.get(f"{server}/api/ask", params={"q": "What's the capital of France?"}).json()
    assert body["answerable"] is False
    assert body["citations"] == []
    assert "doesn't cover" in body["answer"]


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_an_empty_question_gets_a_friendly_422(server, question):
    response = httpx.post(f"{server}/api/ask", json={"question": question})
    assert response.status_code == 422
    assert "Please type a question" in response.json()["error"]


def test_a_100k_character_question_is_refused_with_413(server):
    by_query = httpx.get(f"{server}/api/ask", params={"q": "x" * 60_000})  # httpx caps URLs at 64 kB
    assert by_query.status_code == 413
    assert "60,000 characters" in by_query.json()["error"]
    by_body = httpx.post(f"{server}/api/ask", json={"question": "x" * 100_000})
    assert by_body.status_code == 413  # the body cap refuses it before it is parsed
    assert "too large" in by_body.json()["error"]
    just_over = httpx.post(f"{server}/api/ask", json={"question": "x" * 1001})
    assert just_over.status_code == 413
    assert "1,001 characters" in just_over.json()["error"]


def test_hostile_and_odd_input_is_answered_not_crashed(server):
    for question in ["<img src=x onerror=alert(1)>", "\u200fwrinkles\u202e", "皱纹是什么？", "🙂 crow's feet 🙂", "\x00\x07wrinkles"]:
        response = httpx.get(f"{server}/api/ask", params={"q": question})
        assert response.status_code == 200, question
        assert "Traceback" not in response.text


def test_the_chat_page_is_served(server):
    page = httpx.get(f"{server}/")
    assert page.status_code == 200
    assert "gradio" in page.text.lower()


def test_files_outside_the_app_are_not_served(server):
    response = httpx.get(f"{server}/gradio_api/file=/etc/passwd")
    assert response.status_code in (403, 404)
    assert "root:" not in response.text


def test_reindexing_over_http_is_disabled_without_an_admin_token(server):
    response = httpx.post(f"{server}/api/reindex", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404
    assert "ASSISTANT_ADMIN_TOKEN" in response.json()["error"]


def test_a_lone_surrogate_in_a_json_body_is_a_400_not_a_500(server):
    # I-JSON (RFC 7493) forbids lone surrogates: the body is refused before any handler
    response = httpx.post(f"{server}/api/ask", content=b'{"question": "wrinkles \\ud800 crow\'s feet"}',
                          headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "The request body has a lone surrogate (\\ud800), which is not text.",
                               "code": "bad_request"}


def test_answers_carry_follow_ups_and_examples_come_from_the_headings(server):
    body = httpx.get(f"{server}/api/ask", params={"q": "What are crow's feet?"}).json()
    assert len(body["suggestions"]) == 3 and not any("dynamic wrinkles" in q.lower() for q in body["suggestions"])
    asked = httpx.post(f"{server}/api/ask", json={"question": "does sunscreen help?", "history": [
        {"role": "user", "content": "how do facial exercises work?"}, {"role": "assistant", "content": "…"}]}).json()
    assert "Tell me about facial exercises" not in asked["suggestions"]  # the reader asked about that already
    assert httpx.get(f"{server}/api/examples").json() == {
        "examples": ["Tell me about dynamic wrinkles", "Tell me about static wrinkles", "Tell me about sun protection"]}
