"""Real servers on loopback for tests: the app itself, and a static "blog" on another origin."""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

# the engines and free_port live in deploy/ (the local cluster uses them too); re-exported for the tests
from deploy.processes import free_port  # noqa: F401
from deploy.redis_server import has_redis, redis_server  # noqa: F401

PROJECT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # CHROMIUM=/nowhere: as on a machine without it
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def app_server(root: Path, corpus: Path | None = None, open_files: int | None = None, **env: str):
    """`python app.py` with its own corpus copy and index under `root`; yields its base URL.
    Extra keyword arguments become environment variables (e.g. ASSISTANT_ALLOWED_ORIGINS).
    `open_files` sets the process's open-files limit, soft and hard (`ulimit -n`)."""
    with app_process(root, corpus, open_files, **env) as (_, base):
        yield base


@contextmanager
def app_process(root: Path, corpus: Path | None = None, open_files: int | None = None, **env: str):
    """app_server, yielding (the server's Popen, its base URL): for tests that read its
    memory or kill it. Both yield once the API answers and the chat page is mounted
    (the server imports gradio after it starts answering)."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "corpus").exists():
        shutil.copytree(corpus or PROJECT / "corpus", root / "corpus")
    port = free_port()
    environment = os.environ | {
        "ASSISTANT_CORPUS_DIR": str(root / "corpus"),
        "ASSISTANT_INDEX_DIR": str(root / "index"),
        "ASSISTANT_PORT": str(port),
        "ASSISTANT_RATE_LIMIT": "10000/minute",
        "ASSISTANT_LOGIN_RATE_LIMIT": "10000/minute",  # tests try wrong tokens on purpose
        "ASSISTANT_DATA_DIR": str(root / "data"),  # the question log, never the checkout's data/
        "ASSISTANT_DB": "",
        "ASSISTANT_DATABASE_URL": "",  # the SQLite file under data/ unless a test names a database
        "ASSISTANT_LOG_QUESTIONS": "1",
    } | env
    log_path = root / "server.log"
    process = subprocess.Popen([sys.executable, str(PROJECT / "app.py")], env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                               preexec_fn=(lambda: _limit_open_files(open_files)) if open_files else None)
    said, heard = [], threading.Event()
    threading.Thread(target=_copy_output, args=(process.stdout, log_path, said, heard), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        # the server's own lines: "serving on URL" once the port accepts connections and the
        # model is loaded, then "pages ready" once the chat and /insights are mounted; its
        # output ends without them if the process exits first
        if not heard.wait(180) or not said or not said[-1].startswith("pages ready"):
            raise RuntimeError(f"server not ready: {log_path.read_text()[-3000:]}")
        yield process, base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _copy_output(stream, log_path: Path, said: list, heard: threading.Event) -> None:
    """The server's output into its log file; its "serving on" and "pages …" lines are kept
    in `said`, and `heard` is set on the "pages" one (ready or failed) or when the output ends."""
    with open(log_path, "w") as log:
        for line in stream:
            log.write(line)
            log.flush()
            if line.startswith(("serving on http", "pages ")):
                said.append(line.strip())
            if line.startswith("pages "):
                heard.set()
    heard.set()


def _limit_open_files(count: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))


@contextmanager
def asgi_server(app, **config):
    """A small ASGI app under a real uvicorn server on loopback, in this process (for
    middleware tests that need no model); yields its base URL. `config` goes to uvicorn.Config."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        if not eventually(lambda: server.started or not thread.is_alive(), timeout=30) or not server.started:
            raise RuntimeError("the test server did not start")
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def static_server(directory: Path, seen: list[str] | None = None, redirects: dict[str, str] | None = None):
    """A plain static file server on its own port (another origin); yields its base URL.
    Each request's path is appended to `seen`; a path in `redirects` answers 302 to its value."""
    handler = functools.partial(_QuietHandler, directory=str(directory), seen=seen, redirects=redirects or {})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, seen: list[str] | None = None, redirects: dict[str, str], **kwargs):
        self.seen, self.redirects = seen, redirects
        super().__init__(*args, **kwargs)

    def do_GET(self):
        if self.seen is not None:
            self.seen.append(self.path)
        if self.path in self.redirects:
            self.send_response(302)
            self.send_header("Location", self.redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def eventually(check, timeout: float = 60.0):
    """check()'s first truthy result, polling until `timeout` (for writes made in the
    background, like a thumbs click recorded by the server's log writer). The timeout is
    only a failsafe, generous for a loaded machine: a passing check returns at once."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def has_chromium() -> bool:
    return Path(CHROMIUM).exists()


# The reason of every skip for an engine or a browser that is not installed starts with
# this; under CI=true such a skip fails the run instead (conftest.py), so a failed
# install can't pass green.
MISSING = "not installed: "


def missing(what: str, package: str = "") -> str:
    """The reason of a skip for lack of `what` (Debian's `package`, which `make test` installs where it can)."""
    how = f"`make test` installs Debian's {package} where it can (root and apt-get)" if package else "`make install` installs it"
    return f"{MISSING}{what}; {how}"

