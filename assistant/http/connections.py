"""Connection limits of the served app: a deadline for each request to arrive (headers
and body), a cap on open connections, the open-files limit raised at start-up, and
connection errors logged as one summary line at most once a minute. It never reads
what a request asks for; rate limits per client are rate_limits.RateLimit's.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass

RESERVED_FILES = 128  # index files, the question log, the model, Gradio's temp files, pipes
# asyncio accepts up to `backlog` sockets per loop tick; a socket reaches the protocol
# (where the cap closes the oldest idle one) two ticks later, and the closed one's file
# is freed a tick after that. So up to IN_FLIGHT batches of files must be free as well:
# uvicorn's default backlog of 2,048 ran a 1,024-file process out of files.
ACCEPT_BATCH = 64
IN_FLIGHT = 4
SUMMARY_EVERY = 60.0  # seconds between two summaries of dropped connections

log = logging.getLogger("assistant.connections")


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int  # open at once; over it, the oldest one still waiting for a request goes
    request_seconds: float  # from the first byte (or the connection) to the whole request
    keep_alive_seconds: float = 5.0  # idle between two requests on one connection

    @classmethod
    def within(cls, open_files: int, max_connections: int, request_seconds: float) -> "ConnectionLimits":
        """The configured cap, lowered to what the open-files limit leaves for sockets."""
        return cls(max(16, min(max_connections, open_files - RESERVED_FILES - IN_FLIGHT * ACCEPT_BATCH)), request_seconds)


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit to the hard one (a soft 1,024 is a common default,
    and every connection is a file); returns the soft limit now in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # a container may forbid it: keep what we have
            pass
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


class DropReport:
    """Counts dropped connections by reason and logs them as one line, at most once per
    `every` seconds: a flood of slow clients must not become a flood of log lines."""

    REASONS = {
        "slow": "sent no complete request in time",
        "over_cap": "closed to stay under the connection cap",
        "invalid": "sent an invalid HTTP request",
        "accept_failed": "could not be accepted (out of open files)",
    }

    def __init__(self, every: float = SUMMARY_EVERY, clock=time.monotonic, logger: logging.Logger = log):
        self.every = every
        self.clock = clock
        self.logger = logger
        self.counts: Counter[str] = Counter()  # since the last summary
        self.total: Counter[str] = Counter()  # since start-up
        self.next_at = float("-inf")
        self.timer = None

    def count(self, reason: str) -> None:
        self.counts[reason] += 1
        self.total[reason] += 1
        now = self.clock()
        if now >= self.next_at:
            self.flush()
        elif self.timer is None:
            self.timer = _later(self.next_at - now, self.flush)

    def flush(self) -> None:
        self.timer = None
        if not self.counts:
            return
        total = sum(self.counts.values())
        parts = ", ".join(f"{n} {self.REASONS.get(reason, reason)}" for reason, n in self.counts.most_common())
        self.logger.warning("%d connection%s dropped in the last minute: %s", total, "" if total == 1 else "s", parts)
        self.counts.clear()
        self.next_at = self.clock() + self.every


def _later(delay: float, callback):
    """callback after `delay` on the running event loop; None outside one (the next count flushes)."""
    import asyncio

    try:
        return asyncio.get_running_loop().call_later(delay, callback)
    except RuntimeError:
        return None


class _CountInstead(logging.Filter):
    """Turns uvicorn's and asyncio's per-connection error lines into DropReport counts."""

    def __init__(self, report: DropReport, messages: dict[str, str]):
        super().__init__()
        self.report = report
        self.messages = messages

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        for start, reason in self.messages.items():
            if message.startswith(start):
                self.report.count(reason)
                return False
        return True


def summarise_connection_errors(report: DropReport) -> None:
    """Route the per-connection error lines of uvicorn and asyncio into `report`. Without
    this, 1,100 slow clients under a 1,024-file limit wrote 147 MB of accept() tracebacks."""
    logging.getLogger("uvicorn.error").addFilter(_CountInstead(report, {"Invalid HTTP request received": "invalid"}))
    logging.getLogger("asyncio").addFilter(_CountInstead(report, {"socket.accept() out of system resource": "accept_failed"}))


def _close_oldest_idle(opened: dict, idle) -> bool:
    """Close the oldest of the `opened` connections whose client is `idle` (has not begun a
    request); False when every one is busy with a request."""
    for protocol in opened:
        if protocol.conn.their_state is idle:
            del opened[protocol]
            protocol.disarm()
            protocol.transport.close()
            return True
    return False


def guarded_protocol(limits: ConnectionLimits, report: DropReport) -> type:
    """uvicorn's h11 protocol with a request deadline and a connection cap.

    A subclass, because uvicorn (0.54) has no timeout for a request to arrive: its
    keep-alive timer runs only between requests and any byte cancels it (uvicorn issue
    #157 still lists "--timeout-request-start"), and ASGI middleware first runs once the
    headers are complete, too late to see a client that never finishes them. Its
    `limit_concurrency` answers 503 to new requests while slow clients keep their
    sockets, so the cap is here too: over it, the oldest connection that has not sent
    a request yet is closed (as nginx reuses idle keep-alive connections), so a reader
    still gets in while a flood of half-sent requests waits out its deadline.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    waiting_states = (h11.IDLE, h11.SEND_BODY)  # the client's side: no complete request yet
    opened: dict = {}  # open connections, oldest first

    class GuardedH11Protocol(H11Protocol):
        deadline = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            if len(opened) >= limits.max_connections:
                report.count("over_cap")
                if not _close_oldest_idle(opened, h11.IDLE):  # every connection is busy with a request: refuse this one
                    transport.close()
                    return
            opened[self] = None
            self.watch()

        def connection_lost(self, exc) -> None:
            opened.pop(self, None)
            self.disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self.watch()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.timeout_keep_alive_task is not None:  # idle: uvicorn's keep-alive timeout governs
                self.disarm()
            else:  # a pipelined request, or the connection is closing
                self.watch()

        def handle_websocket_upgrade(self, event) -> None:
            opened.pop(self, None)  # the WebSocket protocol owns the transport from here
            self.disarm()
            super().handle_websocket_upgrade(event)

        def watch(self) -> None:
            """The deadline runs while the client owes us (the rest of) a request."""
            if self.transport.is_closing() or self.conn.their_state not in waiting_states:
                self.disarm()
            elif self.deadline is None:
                self.deadline = self.loop.call_later(limits.request_seconds, self.too_slow)

        def disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def too_slow(self) -> None:
            self.deadline = None
            if self.conn.their_state is not h11.IDLE or self.conn.trailing_data[0]:
                report.count("slow")  # a connection that never sent a byte is a browser's preconnect: not news
            opened.pop(self, None)
            self.transport.close()

    return GuardedH11Protocol


def server_config(app, host: str, port: int, limits: ConnectionLimits, report: DropReport):
    """The uvicorn Config: our protocol, no forwarding headers trusted (http/proxies.py decides
    whom to believe), uvicorn's own keep-alive timeout."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", proxy_headers=False,
                          forwarded_allow_ips="", http=guarded_protocol(limits, report), backlog=ACCEPT_BATCH,
                          timeout_keep_alive=int(limits.keep_alive_seconds))
