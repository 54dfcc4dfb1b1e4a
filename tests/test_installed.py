"""The product as a blog owner meets it: the wheel installed into a fresh environment, run
from a folder of their own posts with the README's own-blog commands as written. Nothing
is written inside the environment; the index and the question log land in that folder; a
draft is never answered or served; the pages carry the owner's title and none of the
bundled article's words; HEAD /healthz answers; serve says where the widget may be used.

The fresh environment borrows the project environment's dependencies through a .pth
file, so nothing is downloaded; its `assistant` is the wheel's, not the checkout's."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import httpx
import pytest
from servers import PROJECT, free_port

pytestmark = pytest.mark.slow
SAMPLE_WORDS = ("wrinkle", "collagen", "medical", "sun protection", "elastin")
POSTS = {
    "sourdough.md": """---
title: Sourdough at home
url: https://crumb.example/sourdough
---
# Sourdough at home

## The starter
A starter is flour and water left to ferment for about a week. Feed it every day with equal weights of flour and water.

## Baking
Bake the loaf in a preheated Dutch oven at 250 degrees for twenty minutes with the lid on, then twenty more without it.
""",
    "cycling.md": """---
title: Commuting by bike
date: 2024-03-01
---
# Commuting by bike

## Tyres
Wider tyres at lower pressure make a rough road comfortable. Check the pressure once a week.
""",
    "secret-menu.md": """---
title: The secret menu
draft: true
---
# The secret menu

## Quokka pie
The quokka pie recipe is not ready: it needs a better crust and a lot more testing.
""",
}


def own_blog_commands() -> list[str]:
    """The shell lines of the README's own-blog block, comments dropped."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- own-blog: tests/test_installed.py runs these commands -->\s*```sh\n(.*?)```", readme, re.S)
    assert block, "the README's own-blog block is missing"
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, wheel) -> Path:
    """A new virtual environment holding only the wheel of this checkout."""
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")  # the project's dependencies, after the wheel
    return venv


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def run(venv: Path, line: str, blog: Path, env: dict) -> subprocess.CompletedProcess:
    words = shlex.split(line)
    assert words[0] == "assistant", f"not an assistant command: {line}"
    return subprocess.run([str(venv / "bin" / "assistant"), *words[1:]], cwd=blog, env=env, capture_output=True,
                          text=True, timeout=900)


def test_the_readme_s_own_blog_commands_serve_a_folder_of_posts_from_a_fresh_install(fresh, tmp_path):
    blog = tmp_path / "blog"
    (blog / "posts").mkdir(parents=True)
    for name, text in POSTS.items():
        (blog / "posts" / name).write_text(text, encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if (not k.startswith("ASSISTANT_") or k == "ASSISTANT_CACHE_DIR") and k != "PYTHONPATH"}
    env |= {"ASSISTANT_PORT": str(port)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = snapshot(fresh)
    commands = own_blog_commands()
    serve = next(line for line in commands if line.startswith("assistant serve"))
    for line in commands[: commands.index(serve)]:
        done = run(fresh, line, blog, env)
        assert done.returncode == 0, f"{line}: {done.stderr}"
        if line.startswith("assistant init"):  # the owner names their site
            with open(blog / "assistant.toml", "a", encoding="utf-8") as config:
                config.write('site_title = "Crumb & Chain"\n')
        if line.startswith("assistant paths"):
            assert f"index         {blog / 'index'}" in done.stdout and str(fresh) not in done.stdout
        if line.startswith("assistant build"):
            assert "drafts skipped: 1" in done.stdout
    assert (blog / "index" / "manifest.json").is_file()

    words = shlex.split(serve)
    process = subprocess.Popen([str(fresh / "bin" / "assistant"), *words[1:]], cwd=blog, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    said, ready = [], threading.Event()

    def listen():
        for line in process.stdout:
            said.append(line)
            if line.startswith("pages ready"):
                ready.set()
        ready.set()

    threading.Thread(target=listen, daemon=True).start()
    try:
        assert ready.wait(300) and process.poll() is None, "".join(said)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as client:
            assert client.head("/healthz").status_code == 200
            bread = client.get("/api/ask", params={"q": "How hot should the oven be for the loaf?"}).json()
            assert bread["answerable"] and "250 degrees" in bread["answer"]
            draft = client.get("/api/ask", params={"q": "What is in the quokka pie?"}).json()
            assert "quokka pie recipe" not in draft["answer"] and not any("quokka" in c["text"] for c in draft["citations"])
            assert draft["answer"].startswith("The blog doesn't")
            assert client.get("/articles/secret-menu").status_code == 404
            pages = {path: client.get(path).text for path in ("/", "/widget.js", "/embed")}
        maps = Path(f"/proc/{process.pid}/maps").read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)
    output = "".join(said)
    assert "the widget may be embedded on: https://blog.example" in output
    for path, text in pages.items():
        assert "Crumb &amp; Chain" in text or "Crumb & Chain" in text or "Crumb \\u0026 Chain" in text, path
        assert not [w for w in SAMPLE_WORDS if w in text.lower()], path
    assert "libtorch" not in maps
    assert (blog / "data" / "questions.db").is_file()
    assert snapshot(fresh) == before  # nothing written inside the environment
