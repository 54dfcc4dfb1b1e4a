"""Domain errors. The library raises these; only the edges (CLI, web) turn them
into one-line messages. Each message says what is wrong and how to fix it, and a
setting's URL in it shows no user, password or query (`safe_url`, `scrubbed`, below)."""

from __future__ import annotations

import re
from urllib.parse import unquote


class AssistantError(Exception):
    """Base class for every error a user can cause or fix."""


class CorpusError(AssistantError):
    """The corpus folder is missing, empty, or a file in it can't be read."""


class IndexNotFound(AssistantError):
    """No built index where one was expected."""


class IndexCorrupt(AssistantError):
    """Index files are truncated, unreadable or disagree with each other."""


class IndexMismatch(AssistantError):
    """The index was built with another model or format than the one configured."""


class IndexBusy(AssistantError):
    """Another build holds the index lock."""


class ModelUnavailable(AssistantError):
    """The embedding model can't be loaded from disk."""


class InvalidQuestion(AssistantError):
    """A question that can't be answered as asked (empty, too long)."""


class InvalidArgument(AssistantError):
    """A command-line value outside what the command accepts."""


class InvalidSetting(AssistantError):
    """A setting (assistant.toml, a flag) the assistant can't use: names the key and what is allowed."""


# How a setting's URL (the question log's database, the rate-limit store) appears in a
# message, a log line, a page or JSON: scheme://host:port/path and nothing else. It does not
# check that a URL works; questionlog/stores.py and http/counters.py do.
#
# Users, passwords and query strings (`?password=…`) never appear. A password may hold
# characters a URL parser reads as the end of the authority (libpq accepts
# `user:p%40ss?word@host`), so everything up to the last '@' before the path is dropped;
# a URL that can't be read with confidence shows its scheme alone: `postgresql://…`.

HIDDEN = "…"
SHORT = 4  # secrets shorter than this are hidden only where they stand alone
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]*)(?::[0-9]*)?"
_HOSTS = re.compile(rf"{_HOST}(?:,{_HOST})*")  # libpq takes several hosts: h1:5432,h2:5433
_PATH = re.compile(r"[A-Za-z0-9._~%/+-]*")
_PLAIN = ("sqlite", "memory")  # a file path, or nothing: no credentials to hide


def safe_url(url: str) -> str:
    """`url` as a message may show it: scheme://host:port/path, or `scheme://…` when it
    can't be read with confidence (`…` alone without a scheme)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        scheme = url.partition(":")[0]
        return f"{scheme}:{HIDDEN}" if ":" in url and _SCHEME.fullmatch(scheme) else HIDDEN
    if not _SCHEME.fullmatch(scheme):
        return HIDDEN
    if scheme.lower() in _PLAIN and "@" not in rest:
        return url.strip()
    parts = _parts(rest)
    if parts is None:
        return f"{scheme}://{HIDDEN}"
    hosts, path = parts
    return f"{scheme}://{hosts}{path}"


def scrubbed(text: str, url: str) -> str:
    """`text` (a library's message about `url`) with the URL's secrets replaced by `…`:
    its user, password, query values, and whatever of it safe_url would not show."""
    for secret in sorted(_secrets(url), key=len, reverse=True):
        if len(secret) < SHORT:  # a short one only as a word of its own: user "u" must not eat every u
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", HIDDEN, text)
        else:
            text = text.replace(secret, HIDDEN)
    return text


def _parts(rest: str) -> tuple[str, str] | None:
    """(hosts, path) of what follows `scheme://`, or None when it can't be told apart."""
    authority, slash, tail = rest.partition("/")
    authority = authority.rpartition("@")[2]  # a password may hold '?', '#' or an escaped '@'
    hosts = re.split(r"[?#]", authority, maxsplit=1)[0]
    path = (slash + re.split(r"[?#]", tail, maxsplit=1)[0]) if hosts == authority else ""
    if "@" in tail or not _HOSTS.fullmatch(hosts) or not _PATH.fullmatch(path):
        return None  # a raw '/' in a password, or something else that is not a plain URL
    return hosts, path


def _secrets(url: str) -> set[str]:
    """Every piece of `url` a message must not repeat, as written and percent-decoded."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        rest = url.partition(":")[2]
    if safe_url(url).endswith(HIDDEN):  # nothing of it was shown: nothing of it may be said
        pieces = {rest, *re.split(r"[:@/?#&=;,]", rest)}
    else:
        authority = rest.partition("/")[0]
        userinfo = authority.rpartition("@")[0]
        query = rest.partition("?")[2]
        pieces = {userinfo, *userinfo.split(":", 1), query, *(v for pair in re.split(r"[&;]", query)
                                                             for v in pair.split("=", 1)[1:])}
    return {p for piece in pieces for p in (piece, unquote(piece)) if p}
