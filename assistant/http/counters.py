"""Where the rate-limit counters live: in this process (`memory://`, the default) or in
a store every replica shares (`redis://…`), chosen by URI and handed to `limits`.

While the shared store is unreachable, each process counts on its own (readers are
still answered, under a per-process limit), says so once a minute in the log and in
/healthz, and tries the shared store again a few seconds later. It does not decide
what is limited or answer refusals: http/rate_limits.py does.
"""
from __future__ import annotations

import logging
import math
import threading
import time

from assistant.errors import InvalidArgument, safe_url, scrubbed

log = logging.getLogger("assistant.ratelimits")

LOCAL = "memory://"
SHARED_SCHEMES = ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")
DEGRADED = "degraded: rate limits local"
RETRY_SECONDS = 5.0  # how long to count locally before trying the shared store again
WARN_SECONDS = 60.0  # the "still local" warning, at most this often
TIMEOUT_SECONDS = 0.5  # a hung store must not hold a reader for long


def checked_storage(uri: str) -> str:
    """`uri` once it names a storage this server can share; a one-line error otherwise."""
    scheme = uri.partition("://")[0].lower()
    if uri == LOCAL or ("://" in uri and scheme in SHARED_SCHEMES):
        return uri
    raise InvalidArgument(f"ASSISTANT_RATE_LIMIT_STORAGE: {safe_url(uri)!r} is neither {LOCAL} nor redis://host:port")


def _moving_window(storage):
    from limits.strategies import MovingWindowRateLimiter

    return MovingWindowRateLimiter(storage)


class Counters:
    """Moving-window counters by key, shared when `uri` names a shared store."""

    def __init__(self, uri: str = LOCAL):
        from limits.errors import ConfigurationError
        from limits.storage import MemoryStorage, storage_from_string

        self.uri = checked_storage(uri)
        self._local = _moving_window(MemoryStorage())
        self._shared = None
        if uri != LOCAL:
            try:  # no connection yet: redis-py connects on the first command
                storage = storage_from_string(uri, wrap_exceptions=True, socket_timeout=TIMEOUT_SECONDS,
                                              socket_connect_timeout=TIMEOUT_SECONDS)
            except (ConfigurationError, ValueError) as exc:  # limits quotes the URI; redis-py a bad port
                raise InvalidArgument(f"ASSISTANT_RATE_LIMIT_STORAGE: {safe_url(uri)} can't be used "
                                      f"({scrubbed(str(exc), uri)})") from None
            self._shared = _moving_window(storage)
        self._lock = threading.Lock()
        self._retry_at = 0.0  # monotonic time before which the shared store is not tried
        self._down = False
        self._warned_at = -math.inf

    @property
    def shared(self) -> bool:
        """True when the counters are meant to be shared (whether or not the store is up now)."""
        return self._shared is not None

    def hit(self, item, *keys: str) -> bool:
        """Count one hit; False when it goes over `item`."""
        return self._call("hit", item, *keys)

    def test(self, item, *keys: str) -> bool:
        """True when one more hit would still be within `item` (nothing is counted)."""
        return self._call("test", item, *keys)

    def retry_after(self, item, *keys: str) -> int:
        """Whole seconds until the window of `item` frees a hit (at least 1)."""
        stats = self._call("get_window_stats", item, *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def status(self) -> str:
        """"ok", or DEGRADED while a shared store can't be reached (checked now, with a ping)."""
        if self._shared is None:
            return "ok"
        if time.monotonic() < self._retry_at:
            return DEGRADED
        if self._shared.storage.check():
            self._recovered()
            return "ok"
        self._failed("it does not answer a ping")
        return DEGRADED

    def _call(self, method: str, item, *keys: str):
        from limits.errors import StorageError

        if self._shared is not None and time.monotonic() >= self._retry_at:
            try:
                result = getattr(self._shared, method)(item, *keys)
            except StorageError as exc:
                self._failed(str(exc.storage_error))
            else:
                self._recovered()
                return result
        return getattr(self._local, method)(item, *keys)

    def _failed(self, reason: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._retry_at = now + RETRY_SECONDS
            self._down = True
            if now - self._warned_at >= WARN_SECONDS:
                self._warned_at = now
                log.warning("%s: the shared store %s is unreachable (%s); each process counts on its own",
                            DEGRADED, safe_url(self.uri), scrubbed(reason, self.uri))

    def _recovered(self) -> None:
        if not self._down:
            return
        with self._lock:
            if self._down:
                self._down = False
                log.warning("rate limits shared again through %s", safe_url(self.uri))


async def counted(counters, method: str, *args):
    """counters.<method>(*args), off the event loop when the counters live in another
    process (a round trip to Redis must not stall every other request)."""
    if not counters.shared:
        return getattr(counters, method)(*args)
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(getattr(counters, method), *args)
