"""Debian's redis-server on loopback, saving nothing to disk (rate-limit counters are
worth nothing after a restart): for the local cluster and the tests.

With a password, every client must give it (`requirepass`): it travels in a config file
of mode 0600 beside the log, never on the command line, which any local user can read
in /proc."""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path

from . import processes
from .private import write_private

REDIS = "/usr/bin/redis-server"


def has_redis() -> bool:
    return Path(REDIS).exists()


class RedisServer:
    """redis-server on `port`, its output in `log`: its redis:// URL (with the password, if
    any), start() that returns once it is ready, stop() that returns once it has exited (and
    can be started again)."""

    def __init__(self, port: int, log: Path, pid: int | None = None, password: str = ""):
        self.port = port
        self.log = log
        self.pid = pid
        self.password = password
        self.config = log.with_name("redis.conf")
        self.url = f"redis://{f':{password}@' if password else ''}127.0.0.1:{port}/0"

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.log.parent.mkdir(parents=True, exist_ok=True)
        write_private(self.config, f"requirepass {self.password}\n" if self.password else "")
        self.pid = processes.spawn([REDIS, str(self.config), "--port", str(self.port), "--bind", "127.0.0.1",
                                    "--save", "", "--appendonly", "no"], self.log)
        processes.wait_for_line(self.log, ("Ready to accept connections",), self.pid, timeout=60, offset=offset)

    def stop(self) -> None:
        if self.pid:
            processes.stop(self.pid)


@contextmanager
def redis_server(port: int | None = None):
    """A RedisServer on a free port for the duration; stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="assistant-redis-") as root:
        server = RedisServer(port or processes.free_port(), Path(root) / "redis.log")
        server.start()
        try:
            yield server
        finally:
            server.stop()
