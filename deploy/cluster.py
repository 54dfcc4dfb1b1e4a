"""The local cluster, on loopback: PostgreSQL (question log), redis-server (rate limits),
one `assistant build` (the only writer of the index), two replicas (`assistant serve
--replica`) and nginx in front (deploy/nginx.conf with both replicas upstream).

    python -m deploy.cluster start [--port 8080]    # `make cluster`
    python -m deploy.cluster stop                   # `make cluster-stop`: nothing left running
    python -m deploy.cluster stop --purge           # `make cluster-purge`: and nothing left on disk
    python -m deploy.cluster compose                # the compose file, from the same settings

Everything lives under .cluster/ in the checkout (git-ignored): data, logs, and
cluster.json, which says what runs where so `stop` can end it. tests/test_cluster.py
starts one in a temporary directory and checks it.

Closed to the machine's other users: PostgreSQL and Redis each need a generated password,
and every file holding a secret or a reader's question (cluster.json with the admin token
and passwords, redis.conf, the logs) is created with mode 0600; PostgreSQL's folder is its
own (0700). `stop` leaves the data on disk and says so; `stop --purge` removes it.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.errors import safe_url

from . import processes, proxy
from .postgres import Cluster as Postgres
from .private import open_private_log, write_private
from .redis_server import RedisServer
from .topology import DATABASE, REPLICAS, replica_settings

PROJECT = Path(__file__).resolve().parent.parent
STATE_DIR = PROJECT / ".cluster"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Replica:
    port: int
    pid: int = 0


@dataclass
class LocalCluster:
    """What runs where (saved as cluster.json under `root`)."""

    root: Path
    corpus: Path
    proxy_port: int
    postgres_port: int
    redis_port: int
    token: str
    postgres_password: str = ""
    redis_password: str = ""
    redis_pid: int = 0
    replicas: dict[str, Replica] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # extra settings for the replicas (the check's rate limit)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def postgres(self) -> Postgres:
        return Postgres(self.root / "postgres", self.postgres_port, self.postgres_password)

    @property
    def database_url(self) -> str:
        return self.postgres.url(DATABASE)

    @property
    def redis(self) -> RedisServer:
        return RedisServer(self.redis_port, self.root / "redis.log", self.redis_pid or None, self.redis_password)

    def replica_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.replicas[name].port}"

    def replica_log(self, name: str) -> Path:
        return self.root / f"replica-{name}" / "server.log"

    def save(self) -> None:
        state = asdict(self) | {"root": str(self.root), "corpus": str(self.corpus)}
        write_private(self.root / "cluster.json", json.dumps(state, indent=2) + "\n")  # the token, the passwords

    @classmethod
    def load(cls, root: Path) -> "LocalCluster":
        state = json.loads((root / "cluster.json").read_text())
        state["replicas"] = {name: Replica(**replica) for name, replica in state["replicas"].items()}
        return cls(**state | {"root": Path(state["root"]), "corpus": Path(state["corpus"])})

    # the pieces, in the order `start` runs them

    def start_postgres(self) -> None:
        postgres = self.postgres
        postgres.init()
        postgres.start()
        postgres.create_database(DATABASE)

    def start_redis(self) -> None:
        redis = self.redis
        redis.start()
        self.redis_pid = redis.pid
        self.save()

    def build(self, *args: str) -> dict:
        """`assistant build` over the cluster's corpus into its index: the one writer. Its JSON report."""
        env = os.environ | {"ASSISTANT_CORPUS_DIR": str(self.corpus), "ASSISTANT_INDEX_DIR": str(self.index_dir)}
        done = subprocess.run([sys.executable, "-m", "assistant", "build", "--json", *args], env=env, cwd=PROJECT,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"assistant build failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout)

    def start_replica(self, name: str) -> None:
        """`assistant serve --replica` on its port; returns once its pages are mounted."""
        replica = self.replicas[name]
        log = self.replica_log(name)
        offset = log.stat().st_size if log.exists() else 0
        env = os.environ | {
            "ASSISTANT_HOST": "127.0.0.1", "ASSISTANT_PORT": str(replica.port), "ASSISTANT_ADMIN_TOKEN": self.token,
            "ASSISTANT_CORPUS_DIR": str(self.root / "no-corpus"),  # a replica never reads one
            "ASSISTANT_DATA_DIR": str(log.parent / "data"), "ASSISTANT_DB": "",
        } | replica_settings(self.database_url, self.redis.url, str(self.index_dir), "127.0.0.1") | self.env
        replica.pid = processes.spawn([sys.executable, "-m", "assistant", "serve", "--replica"], log, env, PROJECT)
        self.save()
        said = processes.wait_for_line(log, ("pages ready", "pages failed"), replica.pid, offset=offset)
        if not said.startswith("pages ready"):
            raise RuntimeError(f"replica {name}: {said}")

    def start_proxy(self) -> None:
        folder = self.root / "nginx"
        folder.mkdir(exist_ok=True)
        upstream = [f"127.0.0.1:{replica.port}" for replica in self.replicas.values()]
        for log in ("access.log", "error.log"):  # nginx keeps a file's mode: only we may read them
            open_private_log(folder / log).close()
        (folder / "assistant.conf").write_text(proxy.local_site(upstream, self.proxy_port, folder))
        (folder / "nginx.conf").write_text(proxy.main_config(folder, folder / "assistant.conf"))
        # nginx binds its port before it detaches: when this returns, the proxy accepts connections
        done = subprocess.run([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"nginx: {done.stderr.strip()}")

    def proxy_pid(self) -> int:
        pid_file = self.root / "nginx" / "nginx.pid"
        return int(pid_file.read_text()) if pid_file.exists() else 0

    def kill_replica(self, name: str) -> None:
        """kill -9, as a crash would; returns once it is gone."""
        processes.stop(self.replicas[name].pid, signal.SIGKILL)

    def stop(self) -> list[str]:
        """Stop every piece that runs; what was stopped."""
        stopped = []
        for label, pid in [("nginx", self.proxy_pid())] + [(f"replica {n}", r.pid) for n, r in self.replicas.items()] + \
                [("redis-server", self.redis_pid)]:
            if pid and processes.running(pid):
                processes.stop(pid)
                stopped.append(label)
        if self.postgres.running():
            self.postgres.stop()
            stopped.append("PostgreSQL")
        return stopped

    def running(self) -> list[str]:
        """The pieces still running (empty after stop)."""
        pieces = [("nginx", self.proxy_pid())] + [(f"replica {n}", r.pid) for n, r in self.replicas.items()] + \
                 [("redis-server", self.redis_pid)]
        alive = [label for label, pid in pieces if pid and processes.running(pid)]
        return alive + (["PostgreSQL"] if self.postgres.running() else [])

    def describe(self) -> str:
        lines = [f"the assistant: {self.url}/  (chat), {self.url}/insights/ (owner: any user name, password {self.token})",
                 f"  nginx        127.0.0.1:{self.proxy_port}  pid {self.proxy_pid()}  -> replicas {', '.join(str(r.port) for r in self.replicas.values())}",
                 *(f"  replica {name}    {self.replica_url(name)}  pid {r.pid}  log {self.replica_log(name)}"
                   for name, r in self.replicas.items()),
                 f"  PostgreSQL   {safe_url(self.database_url)}  (data {self.postgres.data})",
                 f"  redis-server {safe_url(self.redis.url)}  pid {self.redis_pid}",
                 f"  passwords    in {self.root / 'cluster.json'} (mode 0600)",
                 f"  index        {self.index_dir}  (built from {self.corpus}; rebuild: ASSISTANT_CORPUS_DIR={self.corpus} "
                 f"ASSISTANT_INDEX_DIR={self.index_dir} .venv/bin/assistant build)",
                 "stop it all with `make cluster-stop` (keeps the data), `make cluster-purge` (removes it)"]
        return "\n".join(lines)


def prepare(root: Path, corpus: Path, proxy_port: int = 0, env: dict[str, str] | None = None,
            token: str = "") -> LocalCluster:
    """A new, empty `root` (which must not hold a running cluster) and the cluster's record
    in it: free ports, a new token and new passwords. Nothing is started."""
    if (root / "cluster.json").exists():
        leftover = LocalCluster.load(root)
        if leftover.running():
            raise RuntimeError(f"a cluster already runs from {root} ({', '.join(leftover.running())}): "
                               "`make cluster-stop` first")
    shutil.rmtree(root, ignore_errors=True)
    # others may pass through (PostgreSQL runs as its own user when we are root and must reach
    # root/postgres) but not list it; each file in it that matters is 0600
    root.mkdir(mode=0o711, parents=True)
    cluster = LocalCluster(root=root, corpus=corpus, proxy_port=proxy_port or processes.free_port(),
                           postgres_port=processes.free_port(), redis_port=processes.free_port(),
                           token=token or secrets.token_urlsafe(12), postgres_password=secrets.token_urlsafe(24),
                           redis_password=secrets.token_urlsafe(24),
                           replicas={name: Replica(processes.free_port()) for name in REPLICAS}, env=env or {})
    cluster.save()
    return cluster


def start(root: Path, corpus: Path, proxy_port: int = 0, env: dict[str, str] | None = None,
          token: str = "") -> LocalCluster:
    """Start the whole cluster under `root` (which must not hold a running one); on any
    failure, stop what was started and raise."""
    from .postgres import has_postgres
    from .redis_server import has_redis

    missing = [name for name, found in (("nginx", Path(NGINX).exists()), ("redis-server", has_redis()),
                                        ("postgresql", has_postgres())) if not found]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not installed: `make cluster` installs Debian's packages when run as root")
    cluster = prepare(root, corpus, proxy_port, env, token)
    try:
        cluster.start_postgres()
        cluster.start_redis()
        cluster.build()
        for name in REPLICAS:
            cluster.start_replica(name)
        cluster.start_proxy()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def stop(root: Path, purge: bool = False) -> list[str]:
    """Stop the cluster in `root`; what was stopped. With `purge`, then remove `root`: the
    question log, the secrets, the logs and the index."""
    if not (root / "cluster.json").exists():
        if purge and root.exists() and any(root.iterdir()):
            raise RuntimeError(f"{root} holds no cluster.json: not removing a folder the cluster did not make")
        return []
    cluster = LocalCluster.load(root)
    stopped = cluster.stop()
    if cluster.running():
        raise RuntimeError(f"still running: {', '.join(cluster.running())}")
    if purge:
        shutil.rmtree(root)
    return stopped


def stored_bytes(root: Path) -> int:
    """What the cluster keeps on disk under `root`, in bytes."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def kept(root: Path) -> str:
    """What a stop leaves under `root`, and how to remove it."""
    return (f"kept in {root} ({stored_bytes(root) / 1e6:.1f} MB): the question log (PostgreSQL's data, every "
            "question asked), the admin token and the passwords (cluster.json, redis.conf), each piece's log "
            "and the index; remove them with `make cluster-purge` (python -m deploy.cluster stop --purge)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("start", "stop", "compose"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CLUSTER_PORT", "8080")),
                        help="nginx's port on 127.0.0.1 (env CLUSTER_PORT; default 8080)")
    parser.add_argument("--root", type=Path, default=STATE_DIR, help="where the cluster keeps its data and logs")
    parser.add_argument("--purge", action="store_true",
                        help="with stop: also remove the root (the question log, the secrets, the logs, the index)")
    args = parser.parse_args(argv)
    try:
        if args.command == "compose":
            from .compose import render

            print(render(), end="")
        elif args.command == "start":
            print(start(args.root, PROJECT / "corpus", args.port).describe())
        else:
            stopped = stop(args.root, purge=args.purge)
            print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
            if args.purge:
                print(f"removed {args.root}")
            elif args.root.exists():
                print(kept(args.root))
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
