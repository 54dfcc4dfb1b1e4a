"""Embedding explained to the owner: a server that lets no other site call it says so at
start-up, with the flag that allows a blog, and names (once) each site whose pages were
refused; `--allow-origin` allows one."""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from servers import PROJECT, app_server, eventually

pytestmark = pytest.mark.slow
BLOG = "https://blog.example"
OTHER = "https://other.example"
FENCE = "https://fence.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("origins")
    with app_server(root, ASSISTANT_ALLOWED_ORIGINS="") as base:
        yield base, root / "server.log"


def test_a_server_no_site_may_embed_says_how_to_allow_the_blog_at_start_up(server):
    _, log = server
    assert "the widget works only on this server's own pages" in log.read_text()
    assert "--allow-origin https://your.blog" in log.read_text()


def test_a_refused_site_is_named_once_with_the_setting_that_allows_it(server):
    base, log = server
    httpx.get(f"{base}/api/examples", headers={"origin": base})  # the server's own page: nothing to say
    preflight = {"origin": OTHER, "access-control-request-method": "POST", "access-control-request-headers": "content-type"}
    for _ in range(3):
        assert "access-control-allow-origin" not in httpx.options(f"{base}/api/ask", headers=preflight).headers
        httpx.get(f"{base}/api/examples", headers={"origin": OTHER})
    httpx.get(f"{base}/api/examples", headers={"origin": FENCE})  # said last: every line before it is in the log
    eventually(lambda: FENCE in log.read_text())
    said = [line for line in log.read_text().splitlines() if "a page on" in line]
    assert len(said) == 2 and OTHER in said[0] and f"--allow-origin {OTHER}" in said[0] and FENCE in said[1]


def test_allow_origin_flags_become_the_allowed_origins_normalised():
    code = ("from assistant.cli import _parser, _settings; import sys; "
            "print(_settings(_parser().parse_args(sys.argv[1:])).allowed_origins)")
    done = subprocess.run([sys.executable, "-c", code, "serve", "--allow-origin", f"{BLOG}/", "--allow-origin", OTHER],
                          capture_output=True, text=True, cwd=PROJECT, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str((BLOG, OTHER))
