"""A skip must not pass CI: under CI=true a test skipped because an engine or the browser
is not installed fails the run, naming what is missing (conftest.py). Checked with the
browser hidden (CHROMIUM names a path that does not exist), in a child pytest."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from servers import PROJECT

HIDDEN = "/nowhere/chromium"


def pytest_with_chromium_hidden(ci: str) -> subprocess.CompletedProcess:
    environment = os.environ | {"CI": ci, "CHROMIUM": HIDDEN, "PYTHONPATH": str(PROJECT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_limits_ui.py"],
                          cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=120)


def test_without_ci_a_missing_browser_is_a_skip():
    run = pytest_with_chromium_hidden("")
    assert run.returncode == 0 and re.search(r"\b3 skipped", run.stdout), run.stdout[-2000:]


def test_under_ci_a_missing_browser_fails_the_run_and_says_what_is_missing():
    run = pytest_with_chromium_hidden("true")
    assert run.returncode == 1, run.stdout[-2000:]
    assert f"not installed: chromium ({HIDDEN})" in run.stdout and not re.search(r"\d skipped", run.stdout)
