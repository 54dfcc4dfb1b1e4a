"""Serving never loads torch, transformers or sentence-transformers: not to answer, not
when the server builds or rebuilds its own index, not for a one-shot `ask --no-build`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import PROJECT_CORPUS
from servers import app_process

pytestmark = pytest.mark.slow
HEAVY = ("torch", "transformers", "sentence_transformers")
TOKEN = "serving-imports-token"


def _heavy_libraries_mapped(pid: int) -> list[str]:
    """Shared objects of torch mapped into the process (libtorch, torch/_C)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return sorted({line.split()[-1] for line in maps.splitlines() if "torch" in line.split()[-1]})


def test_a_server_that_builds_and_rebuilds_its_index_never_maps_torch(tmp_path):
    with app_process(tmp_path, ASSISTANT_ADMIN_TOKEN=TOKEN) as (process, base):  # no index yet: it builds one
        assert httpx.get(f"{base}/api/ask", params={"q": "What are crow's feet?"}, timeout=60).json()["answerable"]
        (tmp_path / "corpus" / "sleep.txt").write_text("Sleep\n\nSleeping on your back keeps creases off the cheeks.\n")
        report = httpx.post(f"{base}/api/reindex", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=300).json()
        assert report["embedded"] >= 1
        assert _heavy_libraries_mapped(process.pid) == []
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert (tmp_path / "index" / manifest["encoder"]).is_file()


PROBE = """
import sys
from pathlib import Path
from assistant.settings import Settings
from assistant.web.app import create_app
root = Path(sys.argv[1])
settings = Settings.from_env(corpus_dir=root / "corpus", index_dir=root / "index", data_dir=root / "data")
from assistant.engine.live import LiveAssistant
live = LiveAssistant(settings)  # builds the index: the export runs in a child process
create_app(settings, live)
live.current.ask("What are crow's feet?")
(root / "corpus" / "extra.txt").write_text("Sleep\\n\\nSleeping on your back keeps creases off the cheeks.\\n")
live.rebuild()  # what /api/reindex and the corpus watcher call
print(sorted(m for m in sys.modules if m.split(".")[0] in %r))
""" % (HEAVY,)


def test_serving_code_imports_no_model_library_even_when_it_must_export(tmp_path):
    import shutil

    shutil.copytree(PROJECT_CORPUS, tmp_path / "corpus")
    env = os.environ | {"ASSISTANT_CACHE_DIR": str(tmp_path / "empty-cache"), "ASSISTANT_LOG_QUESTIONS": "0"}
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert list((tmp_path / "empty-cache").glob("encoder-*.onnx"))  # it did have to export

    one_shot = ("import sys; from assistant.cli import main; code = main(sys.argv[1:]); "
                f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})); sys.exit(code)")
    asked = subprocess.run([sys.executable, "-c", one_shot, "ask", "--no-build", "--corpus", str(tmp_path / "corpus"),
                            "--index", str(tmp_path / "index"), "What are crow's feet?"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert "crow's feet" in asked.stdout and asked.stdout.strip().splitlines()[-1] == "[]"
