"""The home folder's assistant.toml: every setting by its environment name without the
ASSISTANT_ prefix, lower-case (corpus_dir, allowed_origins, rate_limit, database_url, …),
plus the owner's texts (site_title, placeholder, disclaimer). An unknown key or a value of
the wrong kind is one line naming the key, the file and what is allowed. Read with the
standard library's tomllib; `assistant init` writes the commented TEMPLATE.
"""
from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import InvalidSetting


@dataclass(frozen=True)
class Key:
    """One key of assistant.toml: the Settings field it sets and the kind of value it takes."""

    field: str
    kind: str  # path, text, secret, origins, list, port, count, seconds, switch
    default: str  # as written in the template
    help: str


KEYS = {
    "corpus_dir": Key("corpus_dir", "path", '"corpus"', "the posts: Markdown, HTML or text files (relative to this folder)"),
    "index_dir": Key("index_dir", "path", '"index"', "the built index"),
    "data_dir": Key("data_dir", "path", '"data"', "the question log"),
    "site_title": Key("site_title", "text", '""', 'the chat page\'s and widget\'s title; "" = "Ask this article" (or "Ask this blog")'),
    "placeholder": Key("placeholder", "text", '""', 'the question box\'s hint; "" = made from the posts\' headings'),
    "disclaimer": Key("disclaimer", "text", '""', 'one line under the title, e.g. "Not medical advice."'),
    "allowed_origins": Key("allowed_origins", "origins", "[]", 'sites whose pages may embed the widget, e.g. ["https://blog.example"]'),
    "host": Key("host", "text", '"127.0.0.1"', "the address serve listens on"),
    "port": Key("port", "port", "7860", "the port serve listens on"),
    "rate_limit": Key("rate_limit", "text", '"30/minute;5/second"', "questions per reader"),
    "feedback_rate_limit": Key("feedback_rate_limit", "text", '"60/minute;10/second"', "thumbs per reader"),
    "login_rate_limit": Key("login_rate_limit", "text", '"10/minute"', "wrong admin tokens per client"),
    "rate_limit_storage": Key("rate_limit_storage", "secret", '"memory://"', "where limits count: memory:// or redis://host:port"),
    "trusted_proxies": Key("trusted_proxies", "list", "[]", "addresses/CIDRs whose X-Forwarded-For is believed"),
    "max_connections": Key("max_connections", "count", "1000", "connections open at once"),
    "request_timeout": Key("request_timeout", "seconds", "10.0", "seconds for a request to arrive"),
    "admin_token": Key("admin_token", "secret", '""', "enables POST /api/reindex and /insights (better in the environment)"),
    "watch": Key("watch_corpus", "switch", "false", "serve rebuilds when the posts change"),
    "replica": Key("replica", "switch", "false", "never build: follow an index built elsewhere"),
    "log_questions": Key("log_questions", "switch", "true", "record readers' questions for `assistant insights`"),
    "db": Key("db_path", "path", '""', 'the question log\'s SQLite file; "" = data/questions.db'),
    "database_url": Key("database_url", "secret", '""', "postgresql://… for a shared question log (better in the environment)"),
    "log_buffer_rows": Key("log_buffer_rows", "count", "50000", "questions held while the log is unreachable"),
    "retention_days": Key("retention_days", "count", "90", "days a question stays in the log"),
    "model": Key("model", "text", '"sentence-transformers/all-MiniLM-L6-v2"', "the embedding model"),
}
ALLOWED = {
    "path": "a folder or file name in quotes",
    "text": "text in quotes",
    "secret": "text in quotes",
    "origins": 'a list of http(s) origins, e.g. ["https://blog.example"]',
    "list": 'a list of texts, e.g. ["10.0.0.0/8"]',
    "port": "a whole number from 1 to 65535",
    "count": "a whole number above 0",
    "seconds": "a number of seconds above 0",
    "switch": "true or false",
}


def read_config(path: Path, home: Path) -> dict[str, object]:
    """Settings fields -> values from the TOML file at `path` ({} when there is none);
    relative paths are taken from `home`."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSetting(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSetting(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    values = {}
    for name, value in raw.items():
        key = KEYS.get(name)
        if key is None:
            near = difflib.get_close_matches(name, KEYS, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise InvalidSetting(f"{path}: unknown setting {name!r}; {hint}known: {', '.join(KEYS)}")
        values[key.field] = _checked(name, key, value, path, home)
    return values


def _checked(name: str, key: Key, value: object, path: Path, home: Path) -> object:
    kind = key.kind
    good = {
        "path": isinstance(value, str) and (value.strip() != "" or name == "db"),
        "text": isinstance(value, str),
        "secret": isinstance(value, str),
        "origins": isinstance(value, list) and all(isinstance(v, str) and v.strip().startswith(("http://", "https://"))
                                                   for v in value),
        "list": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "port": type(value) is int and 0 < value < 65536,
        "count": type(value) is int and value > 0,
        "seconds": type(value) in (int, float) and 0 < value < 3600,
        "switch": isinstance(value, bool),
    }[kind]
    if not good:
        shown = "a secret" if kind == "secret" else repr(value)  # never echo a password
        raise InvalidSetting(f"{path}: {name} = {shown} is not allowed; {name} takes {ALLOWED[kind]}")
    if kind == "path":
        return (home / value.strip()) if value.strip() else None
    if kind in ("origins", "list"):
        return tuple(dict.fromkeys(v.strip().rstrip("/") if kind == "origins" else v.strip() for v in value if v.strip()))
    if kind == "seconds":
        return float(value)
    return value


def template(corpus_dir: str | None = None, site_title: str | None = None) -> str:
    """A commented assistant.toml: every key with its default, the given ones set."""
    chosen = {"corpus_dir": corpus_dir, "site_title": site_title}
    lines = ["# assistant.toml: this folder's settings (`assistant paths` shows what they resolve to).",
             "# A flag beats an ASSISTANT_* environment variable, which beats this file.",
             "# Uncomment a line to change it. Secrets (admin_token, database_url) are better kept in the environment.",
             ""]
    for name, key in KEYS.items():
        lines.append(f"# {key.help}")
        given = chosen.get(name)
        lines.append(f"{name} = {_quoted(given)}" if given is not None else f"# {name} = {key.default}")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
