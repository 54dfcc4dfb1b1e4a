"""Questions that arrive together are encoded together.

The first caller to find an encoder slot free becomes a leader: it encodes everything
queued at that moment as one batch, hands each caller its vector, and steps down;
callers that arrived during the encode are the next batch. While readers come one at
a time, a question waits for nothing; once they overlap (the last batch had more than
one question), a leader first waits up to `window` seconds for more company, since one
encode of many questions costs less than as many encodes. At most `workers` encodes run
at once, so concurrent readers never oversubscribe the CPU's cores.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np


class QueryBatcher:
    def __init__(self, encode_batch: Callable[[list[str]], np.ndarray], max_batch: int = 32, workers: int = 1,
                 window: float = 0.0):
        self._encode_batch = encode_batch
        self.max_batch = max_batch
        self.workers = workers  # encodes allowed at once (one per core, each on one thread)
        self.window = window  # seconds a leader waits for more questions, once readers overlap
        self._overlapping = False  # the last batch had company
        self._pending: list[tuple[str, Future]] = []
        self._running = 0
        self._cond = threading.Condition()
        self.batches = 0  # how many encodes ran (for tests and the benchmark)

    @property
    def queued(self) -> int:
        """Questions waiting for an encode to start (for tests)."""
        with self._cond:
            return len(self._pending)

    def encode(self, text: str) -> np.ndarray:
        mine: Future = Future()
        with self._cond:
            self._pending.append((text, mine))
            self._cond.notify_all()  # a leader waiting out its window counts the newcomer
        while True:
            with self._cond:
                while self._running >= self.workers and not mine.done():
                    self._cond.wait()
                if mine.done():
                    break
                self._running += 1
                if self.window > 0 and (self._overlapping or len(self._pending) > 1):
                    deadline = time.monotonic() + self.window
                    while len(self._pending) < self.max_batch and (left := deadline - time.monotonic()) > 0:
                        self._cond.wait(left)
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                self._overlapping = len(batch) > 1
            try:
                # empty when another leader took the queue while this one waited out its window
                vectors = self._encode_batch([t for t, _ in batch]) if batch else []
                for (_, future), vector in zip(batch, vectors):
                    future.set_result(vector)
            except BaseException as exc:  # every waiting caller gets the error, not a hang
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            finally:
                with self._cond:
                    self.batches += 1
                    self._running -= 1
                    self._cond.notify_all()
        return mine.result()
