"""Starting the server: the port is bound first (a port in use is one line naming
ASSISTANT_PORT, said before anything loads), then the index and the model are loaded
and the app is served on that socket. Two lines tell the owner where it stands:
"serving on URL (…)" once the port accepts connections and the API answers with the
model loaded, then "pages ready: …" once the chat and /insights pages, imported in a
worker thread meanwhile (web/late_pages.py), are mounted. Only warnings, and our own INFO
lines, reach the log.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys

from assistant.errors import AssistantError
from assistant.settings import Settings


class PortUnavailable(AssistantError):
    """The configured host/port can't be listened on."""


def listen(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket on host:port, or PortUnavailable saying which setting to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it a keep-alive client waits ~40 ms (Nagle + delayed ACK) for every response
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a port in TIME_WAIT is free
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortUnavailable(f"port {port} is in use; stop what is using it, or set ASSISTANT_PORT (or --port) "
                                  "to a free port") from None
        raise PortUnavailable(f"can't listen on {host}:{port} ({exc.strerror}); check ASSISTANT_HOST and ASSISTANT_PORT") from None
    sock.set_inheritable(True)
    return sock


class _OursAndWarnings(logging.Filter):
    """Third-party libraries log INFO and DEBUG (faiss's "Loading faiss with AVX512
    support", bm25s's index builds); a reader's server log keeps only its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.split(".")[0] == "assistant"


def quiet_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_OursAndWarnings())


def serve(settings: Settings | None = None) -> None:
    """Bind, build the app, serve under uvicorn with the connection limits of
    http/connections.py; print "serving on URL (…)" once the API answers, then whether the
    pages came up."""
    import uvicorn

    from assistant.engine.live import open_live
    from assistant.http.connections import (
        ACCEPT_BATCH,
        ConnectionLimits,
        DropReport,
        raise_open_files_limit,
        server_config,
        summarise_connection_errors,
    )
    from assistant.web.app import create_app
    from assistant.web.hardening import check_limits

    quiet_logging()
    settings = settings or Settings.from_env()
    check_limits(settings)  # a mistyped limit is one line before anything loads
    open_files = raise_open_files_limit()
    limits = ConnectionLimits.within(open_files, settings.max_connections, settings.request_timeout)
    report = DropReport()
    summarise_connection_errors(report)
    sock = listen(settings.host, settings.port, ACCEPT_BATCH)
    live = open_live(settings)
    app = create_app(settings, live, pages_later=True)  # the model is loaded when this returns
    late = app.state.late_pages
    if not settings.allowed_origins:  # the widget's most common surprise, said before it happens
        print("the widget works only on this server's own pages: to embed it in your blog, start with "
              "--allow-origin https://your.blog (or allowed_origins in assistant.toml, or ASSISTANT_ALLOWED_ORIGINS)",
              flush=True)
    else:
        print(f"the widget may be embedded on: {', '.join(settings.allowed_origins)}", flush=True)
    shown_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{shown_host}:{settings.port}"
    line = f"serving on {url} (open-files limit {open_files}, up to {limits.max_connections} connections)"

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if not self.should_exit:
                self.announcing = asyncio.get_running_loop().create_task(announce(self))  # kept: the loop holds tasks weakly

    async def announce(server) -> None:
        print(line, flush=True)
        pages = await late.settled()
        if server.should_exit:  # stopped while loading them: nothing to say
            return
        if pages == "ready":
            print(f"pages ready: the chat at {url}/, insights at {url}/insights/", flush=True)
        else:
            print("pages failed to load (see the log above); the JSON API keeps serving", flush=True)

    config = server_config(app, settings.host, settings.port, limits, report)
    try:
        Server(config).run(sockets=[sock])
    finally:
        sock.close()
        sys.stdout.flush()
