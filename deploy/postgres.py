"""A PostgreSQL cluster of our own: Debian's initdb and pg_ctl in a directory we choose,
on a loopback port, for the local cluster (`make cluster`) and the tests (throwaway,
fsync off: it saves nothing that matters).

It is closed to the machine's other users: every connection needs the generated password
(scram-sha-256, over TCP and the socket alike), and there is no unix socket at all (a
socket left in a folder others can reach let any local user in as `postgres`, and run
programs as that user with `COPY … TO PROGRAM`). initdb reads the password from a file of
mode 0600 in the cluster's own folder (mode 0700), removed as soon as it is done; it is
never on a command line.

PostgreSQL refuses to run as root, and CI runs as root: then every command runs as
the `postgres` user through runuser. (pytest-postgresql starts pg_ctl as the current
user, so as root it can't start a cluster; this is the few lines it would save.)
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .private import write_private
from .processes import free_port

USER = "postgres"


def bin_dir() -> Path | None:
    """Where Debian's postgresql package put initdb and pg_ctl (newest version), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


def has_postgres() -> bool:
    return bin_dir() is not None


class Cluster:
    """A cluster in `root`: url(database), create_database(), stop() and start() (same port).
    `password` is the `postgres` user's (a new one when not given; keep it to connect later)."""

    def __init__(self, root: Path, port: int, password: str = ""):
        self.root = root
        self.port = port
        self.password = password or secrets.token_urlsafe(24)
        self.data = root / "data"
        self.log = root / "server.log"
        self._databases = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str = "") -> str:
        """A new empty database (`name`, or log_1, log_2, …); its URL."""
        import psycopg

        if not name:
            self._databases += 1
            name = f"log_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def init(self) -> None:
        """initdb into `root`/data, password authentication only (the root, mode 0700, is
        handed to the postgres user when we are root)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        password_file = self.root / "password"  # read by initdb, removed once it is done
        write_private(password_file, self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, USER, USER)
            shutil.chown(password_file, USER, USER)
        try:
            _run([str(bin_dir() / "initdb"), "-D", str(self.data), "-U", USER, "--auth=scram-sha-256",
                  f"--pwfile={password_file}", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
        finally:
            password_file.unlink(missing_ok=True)

    def start(self) -> None:
        """Start it and wait until it accepts connections (pg_ctl -w)."""
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' "
                   "-c fsync=off -c full_page_writes=off")
        _run([str(bin_dir() / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start"])

    def stop(self) -> None:
        """Stop it and wait until it has exited (its port then refuses connections)."""
        _run([str(bin_dir() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"])

    def running(self) -> bool:
        return self.data.exists() and subprocess.run(
            _as_postgres([str(bin_dir() / "pg_ctl"), "-D", str(self.data), "status"]), capture_output=True).returncode == 0


@contextmanager
def postgres_cluster():
    """initdb in a temporary directory, start on a free loopback port; yields a Cluster,
    then stops it and removes the directory."""
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="assistant-pg-")), free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", USER, "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str]) -> None:
    done = subprocess.run(_as_postgres(command), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:1])} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
