"""Rate limits per client address (the `limits` library, counted where counters.py says:
this process or a shared Redis): the middleware that answers 429 on the question and
feedback routes, and the Budget the chat page spends itself so it can say "try again in
N s" in its own words. A reader has one budget, whatever page asks. No request content
is logged.
"""
from __future__ import annotations

from assistant.http.counters import counted
from assistant.http.error_bodies import send_error
from assistant.http.proxies import client_key, client_of

# Not Gradio's /gradio_api/queue/join: page loads, thumbs and clears go through it too. The
# chat's answer event spends a budget of its own (Budget below), and says "try again in N s".
QUESTION_PREFIXES = ("/api/ask", "/api/reindex", "/gradio_api/run/")
FEEDBACK_PREFIXES = ("/api/feedback",)  # its own budget: rating answers must not use up a reader's questions


def checked_rate(setting: str, rate: str) -> str:
    """`rate` once `limits` can read it ("30/minute;5/second"); a one-line error naming the setting otherwise."""
    from limits import parse_many

    from assistant.errors import InvalidArgument

    try:
        parse_many(rate)
    except ValueError:
        raise InvalidArgument(f"{setting}: {rate!r} is not a rate like 30/minute;5/second") from None
    return rate


class RateLimit:
    """Answers 429 with Retry-After once a client (by address) exceeds `rate`
    (e.g. "30/minute;5/second") on the paths starting with `prefixes`. `what` names
    what was limited in the message ("questions") and keeps its budget apart from the
    others' in `counters` (counters.Counters: this process's own by default)."""

    def __init__(self, app, rate: str, prefixes: tuple[str, ...] = QUESTION_PREFIXES, what: str = "questions",
                 counters=None):
        from limits import parse_many

        from assistant.http.counters import Counters

        self.app = app
        self.prefixes = prefixes
        self.items = parse_many(rate)
        self.counters = counters or Counters()
        self.what = what

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") == "OPTIONS" or not scope["path"].startswith(self.prefixes):
            return await self.app(scope, receive, send)
        keys = (self.what, client_of(scope))
        for item in self.items:
            if not await counted(self.counters, "hit", item, *keys):
                wait = await counted(self.counters, "retry_after", item, *keys)
                return await send_error(send, 429, f"Too many {self.what} at once; try again in {wait} s.",
                                        headers=[(b"retry-after", str(wait).encode())])
        return await self.app(scope, receive, send)


class Budget:
    def __init__(self, rate: str, counters=None, what: str = "questions"):
        """`rate` as in ASSISTANT_RATE_LIMIT: "30/minute;5/second"; `counters` a
        counters.Counters (this process's own by default); `what` the budget's name,
        as RateLimit names it ("questions" for /api/ask, "ratings" for
        /api/feedback)."""
        from limits import parse_many

        from assistant.http.counters import Counters

        self.items = parse_many(rate)
        self.counters = counters or Counters()
        self.what = what

    def wait(self, client: str) -> int:
        """0 if `client` (an address) may go on now (this one is counted), else whole seconds to wait."""
        keys = (self.what, client_key(client))  # RateLimit's keys
        for item in self.items:
            if not self.counters.hit(item, *keys):
                return self.counters.retry_after(item, *keys)
        return 0


def too_many(wait: int) -> str:
    """The reader's message when the budget is spent."""
    return f"Too many questions right now; try again in {wait} s."
