"""The question log's stores: where its rows live, chosen by ASSISTANT_DATABASE_URL.
`sqlite:///path` (the default, a file beside the server) or `postgresql://…` (one
database shared by replicas). The writer thread, batching and loss accounting are
questionlog/writer.py's and the same for both; a store only runs SQL.
"""
from __future__ import annotations

from pathlib import Path

from assistant.errors import InvalidArgument, safe_url, scrubbed
from assistant.questionlog.store import Store

SQLITE = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")


def checked_url(url: str) -> str:
    """`url` once it names a store this server can write; a one-line error otherwise."""
    scheme = url.partition("://")[0].lower()
    if url.startswith(SQLITE) and len(url) > len(SQLITE):
        return url
    if "://" in url and scheme in POSTGRES_SCHEMES:
        from psycopg import ProgrammingError  # only when PostgreSQL is configured
        from psycopg.conninfo import conninfo_to_dict

        try:
            params = conninfo_to_dict(url)
        except ProgrammingError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "it can't be parsed"
            reason = scrubbed(reason, url)  # libpq quotes the token it can't read: a password with a bad %-escape
            raise InvalidArgument(f"ASSISTANT_DATABASE_URL: {safe_url(url)} is not a valid PostgreSQL URL ({reason})") from None
        ports = str(params.get("port") or "5432").split(",")  # libpq reads the port only when it connects
        if not all(port.strip().isdigit() for port in ports):
            raise InvalidArgument(f"ASSISTANT_DATABASE_URL: {safe_url(url)} is not a valid PostgreSQL URL "
                                  f"(the port {scrubbed(params['port'], url)!r} is not a number)")
        return url
    raise InvalidArgument(f"ASSISTANT_DATABASE_URL: {safe_url(url)!r} is neither sqlite:///path/to/file.db "
                          "nor postgresql://user@host:port/database")


def open_store(location: str | Path) -> Store:
    """The store at `location`: a file path (SQLite) or a checked URL. Connects lazily."""
    if isinstance(location, Path):
        from assistant.questionlog.sqlite import SQLiteStore

        return SQLiteStore(location)
    url = checked_url(location)
    if url.startswith(SQLITE):
        from assistant.questionlog.sqlite import SQLiteStore

        return SQLiteStore(Path(url[len(SQLITE):]))
    from assistant.questionlog.postgres import PostgresStore

    return PostgresStore(url)
