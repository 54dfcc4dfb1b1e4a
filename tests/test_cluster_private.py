"""The local cluster is closed to the machine's other users: PostgreSQL and Redis started
the cluster's way (deploy/cluster.py) refuse a client without the generated password, its
secrets and logs are readable by their owner alone, and `stop --purge` leaves nothing on
disk. Only those two servers run here (a few seconds), not the whole cluster."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
import redis
from servers import missing

from deploy import cluster as local
from deploy.postgres import has_postgres
from deploy.redis_server import has_redis

pytestmark = pytest.mark.skipif(not (has_postgres() and has_redis()),
                                reason=missing("PostgreSQL or redis-server", "postgresql and redis-server"))


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture(scope="module")
def started():
    # not under pytest's tmp_path, whose folders only we can enter: PostgreSQL runs as `postgres`
    parent = Path(tempfile.mkdtemp(prefix="assistant-private-"))
    parent.chmod(0o711)
    cluster = local.prepare(parent / "cluster", parent / "corpus")
    try:
        cluster.start_postgres()
        cluster.start_redis()
        yield cluster
    finally:
        local.stop(cluster.root, purge=True)
        shutil.rmtree(parent, ignore_errors=True)


def test_postgresql_refuses_a_local_user_without_the_password(started):
    port = started.postgres_port
    for url in (f"postgresql://postgres@127.0.0.1:{port}/assistant",
                f"postgresql://postgres:guess@127.0.0.1:{port}/assistant"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(url, connect_timeout=10).close()
    assert list(started.root.rglob(".s.PGSQL.*")) == []  # no unix socket to come in by either
    with psycopg.connect(started.database_url, connect_timeout=10) as conn:  # the cluster's own URL gets in
        assert conn.execute("SELECT current_database()").fetchone() == ("assistant",)


def test_redis_refuses_flushall_without_the_password(started):
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=started.redis_port, socket_timeout=10).flushall()
    assert redis.Redis.from_url(started.redis.url, socket_timeout=10).ping()
    command_line = Path(f"/proc/{started.redis_pid}/cmdline").read_bytes().decode()
    assert started.redis_password not in command_line


def test_the_secrets_and_logs_are_for_their_owner_alone(started):
    root = started.root
    assert started.token in (root / "cluster.json").read_text()
    assert started.redis_password in (root / "redis.conf").read_text()
    for private in ("cluster.json", "redis.conf", "redis.log", "postgres/server.log"):
        assert mode(root / private) == 0o600, private
    assert mode(root / "postgres") == 0o700 and mode(started.postgres.data) == 0o700
    assert mode(root) == 0o711  # PostgreSQL's user passes through to its folder; nobody lists it
    assert started.postgres_password not in started.describe() and started.redis_password not in started.describe()


def test_cluster_stop_says_what_stays_and_purge_removes_it(capsys):
    parent = Path(tempfile.mkdtemp(prefix="assistant-private-"))
    parent.chmod(0o711)
    try:
        cluster = local.prepare(parent / "cluster", parent / "corpus")
        cluster.start_postgres()
        assert local.main(["stop", "--root", str(cluster.root)]) == 0
        said = capsys.readouterr().out
        assert said.startswith("stopped: PostgreSQL\nkept in ")
        assert "the question log" in said and "cluster.json" in said and "make cluster-purge" in said
        assert (cluster.root / "cluster.json").exists()

        assert local.main(["stop", "--root", str(cluster.root), "--purge"]) == 0
        assert capsys.readouterr().out == f"nothing was running\nremoved {cluster.root}\n"
        assert not cluster.root.exists()
    finally:
        shutil.rmtree(parent, ignore_errors=True)
