"""A per-client question budget for handlers that answer the refusal themselves: the
chat page says "try again in N s" in its own words, where the HTTP middleware
(security.RateLimit) can only answer 429 to the request. It spends the same budget
as /api/ask (same counters, same keys), so a reader has one limit, not one per page,
and replicas on Redis share it.
"""
from __future__ import annotations


class Budget:
    def __init__(self, rate: str, counters=None, what: str = "questions"):
        """`rate` as in ASSISTANT_RATE_LIMIT: "30/minute;5/second"; `counters` a
        ratelimits.Counters (this process's own by default); `what` the budget's name,
        as security.RateLimit names it ("questions" for /api/ask, "ratings" for
        /api/feedback)."""
        from limits import parse_many

        from .ratelimits import Counters

        self.items = parse_many(rate)
        self.counters = counters or Counters()
        self.what = what

    def wait(self, client: str) -> int:
        """0 if `client` may go on now (this one is counted), else whole seconds to wait."""
        keys = (self.what, client)  # security.RateLimit's keys
        for item in self.items:
            if not self.counters.hit(item, *keys):
                return self.counters.retry_after(item, *keys)
        return 0


def too_many(wait: int) -> str:
    """The reader's message when the budget is spent."""
    return f"Too many questions right now; try again in {wait} s."
