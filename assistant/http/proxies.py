"""Whom to believe about a client's address. By default nobody: the client is the
peer of the TCP connection, and an X-Forwarded-For header changes nothing. The
proxies named in ASSISTANT_TRUSTED_PROXIES (addresses or CIDRs) may say who their
client is; uvicorn's ProxyHeadersMiddleware reads the header, from the right, up to
the first address that is not one of them. Rate limits then key on that address.
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
    return (scope.get("client") or ("unknown", 0))[0]
