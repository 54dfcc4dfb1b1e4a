"""What the local cluster (cluster.py) and the compose file (compose.py) share: the
replicas' names, the database's name and the settings every replica runs with."""
from __future__ import annotations

REPLICAS = ("a", "b")
DATABASE = "assistant"


def replica_settings(database_url: str, redis_url: str, index_dir: str, trusted_proxies: str) -> dict[str, str]:
    """What every replica runs with, here and in deploy/compose.yaml."""
    return {"ASSISTANT_REPLICA": "1", "ASSISTANT_INDEX_DIR": index_dir, "ASSISTANT_DATABASE_URL": database_url,
            "ASSISTANT_RATE_LIMIT_STORAGE": redis_url, "ASSISTANT_TRUSTED_PROXIES": trusted_proxies,
            "ASSISTANT_LOG_QUESTIONS": "1"}
