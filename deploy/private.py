"""Files only their owner may read: the cluster's secrets (cluster.json, redis.conf) and its
logs, created with mode 0600 from their first byte (never chmod-ed afterwards, which would
leave a moment in which another local user could open them)."""
from __future__ import annotations

import os
from pathlib import Path

MODE = 0o600


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, readable and writable by its owner alone (atomic)."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.replace(partial, path)


def open_private_log(path: Path):
    """`path` opened for appending (binary), created with mode 0600 when new."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, MODE), "ab")
