"""Whom to believe about a client's address. By default nobody: the client is the
peer of the TCP connection, and an X-Forwarded-For header changes nothing. The
proxies named in ASSISTANT_TRUSTED_PROXIES (addresses or CIDRs) may say who their
client is; uvicorn's ProxyHeadersMiddleware reads the header, from the right, up to
the first address that is not one of them. Rate limits then key on client_key(): an
IPv4 address as itself, an IPv6 one by its /64 (a home or a server gets a whole /64 and
can rotate through it), however either is spelt.
"""
from __future__ import annotations

import ipaddress

from assistant.errors import InvalidArgument


def checked(proxies: tuple[str, ...]) -> tuple[str, ...]:
    """The entries as given, once each is known to be an address or a network."""
    for entry in proxies:
        if entry == "*":
            continue  # every peer is a proxy: only right where the port is unreachable but through one
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise InvalidArgument(f"ASSISTANT_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR "
                                  "(for example 127.0.0.1 or 10.0.0.0/8)") from None
    return proxies


def trust(app, proxies: tuple[str, ...]) -> None:
    """Add the middleware that reads clients' addresses from the trusted proxies'
    X-Forwarded-For (outside every other middleware, so all of them see the client);
    nothing when none are trusted."""
    if proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(checked(proxies)))


def client_of(scope) -> str:
    """The rate-limit key of the request's client (the proxies' word for it when they are trusted)."""
    return client_key((scope.get("client") or ("unknown", 0))[0])


def client_key(address: str) -> str:
    """One key for one client however its address is spelt: IPv4 as the address
    ("1.2.3.4", also from "::ffff:1.2.3.4", "1.2.3.4:80" or "001.002.003.004"), IPv6 as
    its /64 in canonical form ("2001:db8:0:1::/64", also from "[2001:DB8:0:1::5]:443" or
    "fe80::1%eth0"). Anything that is not an address is its own key."""
    host = address.strip()
    if host.startswith("["):  # [v6] or [v6]:port
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:  # v4:port
        host = host.partition(":")[0]
    host = host.partition("%")[0]  # a zone id names the interface, not the client
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = _dotted_with_zeros(host)
        if ip is None:
            return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def _dotted_with_zeros(host: str) -> ipaddress.IPv4Address | None:
    """"010.000.000.001" as 10.0.0.1 (decimal, as Python before 3.9.5 read it), or None."""
    parts = host.split(".")
    if len(parts) != 4 or not all(part.isascii() and part.isdigit() and len(part) <= 3 for part in parts):
        return None
    try:
        return ipaddress.IPv4Address(".".join(str(int(part)) for part in parts))
    except ValueError:
        return None
