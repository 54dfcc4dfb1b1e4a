"""What one reader can do to the default server (`python app.py` on loopback): awkward
text never stops the question log, and a long chat session neither breaks nor grows
the server's memory."""
from __future__ import annotations

import json
import os
import time
import uuid
from types import SimpleNamespace
from urllib.parse import quote

import httpx
import pytest
from servers import app_process

from assistant.questionlog.logs import read
from assistant.text.cleaning import printable

pytestmark = pytest.mark.slow

# What a reader (or a fuzzer) can put in a question, a history or a comment.
AWKWARD = [
    "\ud800", "\udfff", "\udc00\ud800", "crow's feet\ud83d", "\ud800" * 200,
    "\x00", "\x00" * 50, "".join(map(chr, range(32))), "\x7f", "\x1b[31mred\x1b[0m\x1b]0;title\x07", "\r\n\r\n", "\x85\x9b\x9f",
    "\ufeff", "\u200b\u200c\u200d", "\u202eevil\u202c", "\u2028\u2029", "\ufffe\uffff", "\U0010ffff", "\ue000",
    "Z\u0334\u0327\u031b\u031f\u0316a\u0337l\u0338g\u0336o\u0335" * 20, "👩‍👩‍👧‍👦🏳️‍🌈", "皱纹是什么？", "مرحبا بالعالم",
    "\ufdfa" * 60,  # one character that NFKC turns into eighteen
    "'); DROP TABLE questions; --", "%s %d {0} {question} %(x)s", "\\", '"', "null", "undefined",
    "<script>alert(1)</script>", "a" * 500, "x" * 1001, " " * 999, "\t\n\x0b\x0c",
]
NEXT_QUESTIONS = ["What are crow's feet?", "Does sunscreen help?", "What happens to collagen with age?"]
# 300 turns: three times past the page's 100-message cap, 45 s less of `make test` than the
# 1,000 the closing note measures (CHAT_TURNS=1000 pytest tests/test_public_server.py -k chat)
CHAT_TURNS = int(os.environ.get("CHAT_TURNS", "300"))
WARM_UP_TURNS = 50
RSS_GROWTH_MB = 50


def json_body(payload: object) -> dict:
    """A request body as a client that escapes lone surrogates sends it (\\ud800)."""
    return {"content": json.dumps(payload).encode(), "headers": {"content-type": "application/json"}}


def query(text: str) -> str:
    """?q= as raw UTF-8, lone surrogates included (they become invalid bytes)."""
    return "q=" + quote(text.encode("utf-8", "surrogatepass"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("public")
    with app_process(root, ASSISTANT_RATE_LIMIT="100000/minute", ASSISTANT_FEEDBACK_RATE_LIMIT="100000/minute") as (process, base):
        with httpx.Client(base_url=base, timeout=120) as client:
            client.get("/api/ask", params={"q": "warm up"}).raise_for_status()  # the model is loaded
            yield SimpleNamespace(base=base, client=client, pid=process.pid, db=root / "data" / "questions.db")


def test_awkward_text_never_stops_the_question_log(server):
    client = server.client
    statuses = []
    for text in AWKWARD:
        for question in (text, f"what are crow's feet? {text}"):
            statuses.append(client.get(f"/api/ask?{query(question)}").status_code)
            posted = client.post("/api/ask", **json_body({"question": question, "history": [text, {"role": "assistant", "content": text}]}))
            statuses.append(posted.status_code)
    assert set(statuses) <= {200, 400, 413, 422}  # never a 5xx (a lone surrogate may be answered or refused)
    question_id = client.post("/api/ask", json={"question": "What are dynamic wrinkles?"}).json()["question_id"]
    for text in [*AWKWARD, "thanks\x00\x1b[2J"]:
        feedback = send_feedback(client, {"question_id": question_id, "helpful": False, "comment": text})
        expected = {422} if len(text) > 500 else {200, 400, 422} if has_surrogate(text) else {200}
        assert feedback.status_code in expected, (text[:20], feedback.text)

    answered = [client.get("/api/ask", params={"q": q}).json()["question_id"] for q in NEXT_QUESTIONS]
    rows = {row.id: row for row in read(server.db)}
    assert set(answered) <= set(rows)  # each answer was committed before it was sent
    assert all(printable(r.question) == r.question and printable(r.comment) == r.comment for r in rows.values())
    assert rows[question_id].comment == "thanks\ufffd\ufffd[2J"


def has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def send_feedback(client: httpx.Client, payload: dict) -> httpx.Response:
    """POST /api/feedback, waiting out its rate limit when the server says so (Retry-After)."""
    while True:
        response = client.post("/api/feedback", **json_body(payload))
        if response.status_code != 429:
            return response
        time.sleep(int(response.headers.get("retry-after", "1")))


class ChatSession:
    """One reader's chat page, speaking Gradio's queue protocol as the browser does:
    join the queue with the question and the chat shown, read the answer from the
    session's event stream."""

    def __init__(self, client: httpx.Client):
        config = client.get("/config").json()
        [box] = [c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "question"]
        [self.submit] = [d["id"] for d in config["dependencies"] if [box, "submit"] in d["targets"]]
        self.box, self.client, self.session, self.shown = box, client, uuid.uuid4().hex[:11], []

    def ask(self, question: str) -> list:
        joined = self.client.post("/gradio_api/queue/join", **json_body({
            "data": [question, self.shown], "event_data": None, "fn_index": self.submit,
            "trigger_id": self.box, "session_hash": self.session}))
        assert joined.status_code == 200, (len(self.shown), joined.text[:300])
        with self.client.stream("GET", "/gradio_api/queue/data", params={"session_hash": self.session}) as events:
            for line in events.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_completed":
                    assert message["success"], message
                    self.shown = message["output"]["data"][1]
                    return self.shown
        pytest.fail("the event stream ended without an answer")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))


def test_a_long_chat_session_keeps_working_in_bounded_memory(server):
    turns = NEXT_QUESTIONS + ["and how do I prevent them?", "are they permanent?", "x" * 5000,
                              "what are crow's feet? " * 45, *(text for text in AWKWARD[1::4] if not has_surrogate(text))]
    chat = ChatSession(server.client)
    samples = []
    for n in range(CHAT_TURNS):
        shown = chat.ask(turns[n % len(turns)])
        if n + 1 >= WARM_UP_TURNS and (n + 1) % 50 == 0:
            samples.append(round(rss_mb(server.pid), 1))
    print(f"server RSS after {WARM_UP_TURNS} turns and every 50 after: {samples} MB")
    assert max(samples) - samples[0] < RSS_GROWTH_MB
    assert 2 <= len(shown) <= 100 and len(json.dumps(shown)) < 64 * 1024  # the page can still send it back
