"""A per-client question budget (the `limits` library's moving window) for handlers that
answer the refusal themselves: the chat page says "try again in N s" in its own words,
where the HTTP middleware (security.RateLimit) can only answer 429 to the request.
"""
from __future__ import annotations

import math
import time


class Budget:
    def __init__(self, rate: str):
        """`rate` as in ASSISTANT_RATE_LIMIT: "30/minute;5/second"."""
        from limits import parse_many
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.items = parse_many(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def wait(self, client: str) -> int:
        """0 if `client` may ask now (the question is counted), else whole seconds to wait."""
        for item in self.items:
            if not self.limiter.hit(item, "chat", client):
                reset = self.limiter.get_window_stats(item, "chat", client).reset_time
                return max(1, math.ceil(reset - time.time()))
        return 0


def too_many(wait: int) -> str:
    """The reader's message when the budget is spent."""
    return f"Too many questions right now; try again in {wait} s."
