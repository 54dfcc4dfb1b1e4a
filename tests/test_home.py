"""The home folder, as an owner meets it on the command line: `assistant init` writes a
commented assistant.toml, `assistant paths` says where everything is (never inside the
installed package), and a bad settings file or a home that can't be written is one line."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import PROJECT_DIR

import assistant


def assistant_in(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")} | {"PYTHONPATH": str(PROJECT_DIR)}
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=home, env=env, capture_output=True,
                          text=True, timeout=120)


def test_init_writes_a_commented_settings_file_that_paths_then_reads(tmp_path):
    made = assistant_in(tmp_path, "init", "--corpus", "posts", "--title", 'Crumb "&" Chain')
    assert made.returncode == 0, made.stderr
    written = (tmp_path / "assistant.toml").read_text()
    assert tomllib.loads(written) == {"corpus_dir": "posts", "site_title": 'Crumb "&" Chain'}
    assert "# allowed_origins = []" in written and "# rate_limit = " in written  # every other key, commented
    assert (tmp_path / "posts").is_dir()
    shown = assistant_in(tmp_path, "paths").stdout
    assert f"corpus        {tmp_path / 'posts'}\n" in shown
    assert f"index         {tmp_path / 'index'}\n" in shown
    assert f"question log  {tmp_path / 'data' / 'questions.db'}\n" in shown
    assert str(Path(assistant.__file__).parent) not in shown


def test_init_never_replaces_an_owner_s_settings(tmp_path):
    (tmp_path / "assistant.toml").write_text('site_title = "Mine"\n')
    again = assistant_in(tmp_path, "init")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already exists" in again.stderr
    assert (tmp_path / "assistant.toml").read_text() == 'site_title = "Mine"\n'


def test_a_mistyped_key_is_one_line_naming_the_file_and_the_key(tmp_path):
    (tmp_path / "assistant.toml").write_text('corpus_dirr = "posts"\n')
    for command in ("paths", "build", "serve"):
        done = assistant_in(tmp_path, command)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith(f"error: {tmp_path / 'assistant.toml'}: unknown setting 'corpus_dirr'; "
                                      "did you mean 'corpus_dir'?")


def test_a_home_that_can_t_be_written_is_one_line(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    for args in (("init", "--home", str(tmp_path / "a-file" / "blog")),
                 ("build", "--corpus", str(PROJECT_DIR / "corpus"), "--index", str(tmp_path / "a-file" / "index"))):
        done = assistant_in(tmp_path, *args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert str(tmp_path / "a-file") in done.stderr and "Not a directory" in done.stderr
