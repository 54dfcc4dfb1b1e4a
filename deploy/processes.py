"""Background processes the cluster starts and the tests reuse: spawned in their own
session so they outlive `make cluster`, told apart by pid, and waited for on a line
they print, never on a delay."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from .private import open_private_log


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(command: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
    """Start `command` detached (own session, output appended to `log`, which only we
    may read: a replica's log can hold readers' questions); its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open_private_log(log) as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, cwd=cwd, start_new_session=True)
    return process.pid


def running(pid: int) -> bool:
    """Whether `pid` is alive; reaps it first when it is our own child that has exited."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:  # not our child (started by an earlier `make cluster`)
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return _state(pid) != "Z"


def wait_for_line(log: Path, says: tuple[str, ...], pid: int, timeout: float = 300, offset: int = 0) -> str:
    """The first line of `log` (after byte `offset`) that contains one of `says`;
    RuntimeError with the log's tail when the process exits first or the failsafe
    `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_bytes()[offset:].decode(errors="replace") if log.exists() else ""
        for line in text.splitlines():
            if any(text in line for text in says):
                return line
        if not running(pid) or time.monotonic() > deadline:
            raise RuntimeError(f"{log.name}: never said {says[0]!r}; its last lines:\n{text[-3000:]}")
        time.sleep(0.1)


def stop(pid: int, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Send `sig` and wait until the process is gone (SIGKILL after the failsafe `timeout`)."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        running(pid)  # reap it if it was ours
        return
    deadline = time.monotonic() + timeout
    while running(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""
