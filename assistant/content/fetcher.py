"""What ingest may fetch, and how much: one GET at a time, only from the source's host (or
hosts the owner names), never from a private, loopback or link-local address unless the
source itself is one, within caps on pages, bytes and seconds for the whole run.
It parses nothing; ingest.py reads what it returns.

The address check is made on the DNS answer the connection actually uses: each connection
resolves its host once, checks every address, and connects to a checked one, while TLS and
the Host header keep the host's name. So a name that resolves to a public address when
checked cannot reach 127.0.0.1 when connected, and no redirect escapes the check: redirects
are followed here, hop by hop, each hop checked as a new URL. Proxies from the environment
are not used (the check would then be of the proxy's address).
"""
from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from assistant.errors import CorpusError

USER_AGENT = "article-assistant-ingest/0.1"
MAX_PAGE_BYTES = 20 * 1024 * 1024  # one page, feed or sitemap
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Limits:
    """Caps on one ingest run; reaching one stops fetching and is named in the report."""

    pages: int = 2000  # requests, redirects included
    bytes: int = 512 * 1024 * 1024  # bodies read, all pages together
    seconds: float = 1800.0  # from the first request


class Refused(CorpusError):
    """A URL ingest will not fetch: another host, or an address that is not public."""


class LimitReached(CorpusError):
    """A cap of the whole run was reached: nothing more is fetched."""

    def __init__(self, flag: str, message: str):
        super().__init__(message)
        self.flag = flag


def is_public(address: str) -> bool:
    """An address anyone on the internet could reach: not private, loopback, link-local,
    reserved, shared (CGNAT), multicast or unspecified. IPv4-mapped IPv6 counts as its IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _addresses(host: str, port: int) -> list[str]:
    try:
        return list(dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))
    except (OSError, UnicodeError):
        return []


class _CheckedBackend(httpcore.SyncBackend):
    """Connects only to addresses that pass the check, resolved once per connection."""

    def __init__(self, private_ok: bool):
        self.private_ok = private_ok

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = _addresses(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"{host}: no address found")
        if not self.private_ok:
            for address in addresses:
                if not is_public(address):
                    raise Refused(f"{host} resolves to {address}, which is not a public address; "
                                  "ingest reaches private addresses only when the source itself is one")
        error: Exception | None = None
        for address in addresses:  # the checked addresses, by number: no second DNS answer
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error


class Fetcher:
    """GETs for one ingest run from `source` (a URL, or "" for saved pages: then only
    `allow_hosts` are reachable). What it fetched counts towards `limits`."""

    def __init__(self, source: str, allow_hosts: Iterable[str] = (), limits: Limits = Limits(),
                 timeout: float = 20.0, clock: Callable[[], float] = time.monotonic):
        source_host = (urlsplit(source).hostname or "") if source else ""
        self.hosts = {h for h in (source_host, *(h.strip().lower().rstrip(".") for h in allow_hosts)) if h}
        if source_host and not _is_address(source_host):  # blog.example and www.blog.example are one blog
            self.hosts.add(source_host.removeprefix("www.") if source_host.startswith("www.") else f"www.{source_host}")
        self.limits, self.timeout, self.clock = limits, timeout, clock
        self.pages = self.bytes = 0
        self.started: float | None = None
        self.reached: dict[str, str] = {}  # flag -> what stopped there, for the report
        # Private addresses are fine when the owner ingests a blog on one (their own network).
        self.private_ok = bool(source_host) and any(not is_public(a) for a in _addresses(source_host, 80))
        transport = httpx.HTTPTransport()
        # httpx takes no network backend; its pool does. Every connection goes through the check.
        transport._pool._network_backend = _CheckedBackend(self.private_ok)
        self.client = httpx.Client(transport=transport, trust_env=False, follow_redirects=False,
                                   headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self.client.close()

    def check(self, url: str) -> None:
        """Refuse a URL of another scheme or another host before any request is made."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise Refused(f"{url}: not an http(s) URL")
        host = (parts.hostname or "").rstrip(".")
        if host not in self.hosts:
            named = ", ".join(sorted(self.hosts)) or "none (name them with --allow-host)"
            raise Refused(f"{url}: {host or 'no host'} is not the source's host ({named}); "
                          "name it with --allow-host to fetch from it")

    def get(self, url: str) -> tuple[bytes, str]:
        """The body and the final URL, following up to MAX_REDIRECTS redirects, each checked."""
        for _ in range(MAX_REDIRECTS + 1):
            self.check(url)
            body, location = self._once(url)
            if location is None:
                return body, url
            url = location
        raise CorpusError(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _spend(self, flag: str, message: str) -> None:
        self.reached.setdefault(flag, message)
        raise LimitReached(flag, message)

    def _once(self, url: str) -> tuple[bytes, str | None]:
        now = self.clock()
        if self.started is None:
            self.started = now
        run_deadline = self.started + self.limits.seconds
        if self.pages >= self.limits.pages:
            self._spend("max-pages", f"max-pages: stopped after {self.pages} pages")
        if now >= run_deadline:
            self._spend("max-seconds", f"max-seconds: stopped after {self.limits.seconds:g} s")
        self.pages += 1
        deadline = min(now + self.timeout, run_deadline)
        try:
            with self.client.stream("GET", url, timeout=max(0.001, min(self.timeout, run_deadline - now))) as response:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    return b"", urljoin(url, response.headers["location"])  # its body is never read
                if response.status_code >= 400:
                    raise CorpusError(f"{url}: HTTP {response.status_code}")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    self.bytes += len(chunk)
                    if self.bytes > self.limits.bytes:
                        self._spend("max-bytes", f"max-bytes: stopped after {self.limits.bytes} bytes")
                    if self.clock() > run_deadline:
                        self._spend("max-seconds", f"max-seconds: stopped after {self.limits.seconds:g} s")
                    if size > MAX_PAGE_BYTES or self.clock() > deadline:
                        raise CorpusError(f"{url}: over {MAX_PAGE_BYTES} bytes or {self.timeout:g} s")
                    chunks.append(chunk)
                return b"".join(chunks), None
        except httpx.HTTPError as exc:
            if self.clock() >= run_deadline:
                self._spend("max-seconds", f"max-seconds: stopped after {self.limits.seconds:g} s")
            raise CorpusError(" ".join(f"{url}: {type(exc).__name__} {exc}".split())) from None
