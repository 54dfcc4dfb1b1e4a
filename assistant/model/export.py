"""The build side of the ONNX encoder: a model folder -> `encoder-<key>.onnx`, its
transformer exported once with torch and cached by the model's files and this exporter's
version. An export is four files: the graph (`encoder-KEY.onnx`), its weights
(`encoder-KEY.onnx.data`), which ONNX Runtime maps rather than copies, and what encoding
needs from the model folder besides (`encoder-KEY.tokenizer.json`, `encoder-KEY.json`;
model/onnx_encoder.py), so an index that holds them serves without the model package.
Exporting needs the `build` extra (torch, sentence-transformers, the model package, onnx);
serving never does.

The export itself always runs in a child process (`python -m assistant.model.export FOLDER
FILE`), so torch never enters a process that serves, not even one that rebuilds its
index. It exports only the transformer (token states out); pooling stays in numpy
(model/onnx_encoder.py), where the sentence vectors of a passage come from the same forward pass.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from assistant.errors import ModelUnavailable
from assistant.model.onnx_encoder import (
    EncoderSettings,
    settings_file,
    tokenizer_file,
    tokenizer_settings,
)

EXPORTER_VERSION = 2  # bump when the exported graph changes: every cached export is made again
# 2: weights in a separate file (FILE.data), which ONNX Runtime memory-maps: 45 MB less RSS
OPSET = 17
PREFIX, SUFFIX = "encoder-", ".onnx"
_SKIPPED = {"README.md", ".gitattributes"}  # files that can't change the vectors
_keys: dict[tuple, str] = {}
# torch's CPU build: the default torch wheel on Linux pulls several GB of CUDA libraries
INSTALL_BUILD = "pip install 'article-assistant[build]' --extra-index-url https://download.pytorch.org/whl/cpu"
NEEDS_BUILD_EXTRA = f"building an index needs the build extra: {INSTALL_BUILD}"


def can_export() -> bool:
    """Whether this environment has what exporting imports (the `build` extra)."""
    for module in ("torch", "transformers", "onnx"):
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


def cache_dir() -> Path:
    """Where exports are kept between indexes: $ASSISTANT_CACHE_DIR, else the user's cache."""
    if os.environ.get("ASSISTANT_CACHE_DIR"):
        return Path(os.environ["ASSISTANT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "article-assistant"


def export_key(folder: Path) -> str:
    """A digest of every file of the model folder (content), the exporter's version and
    torch's: a changed model or exporter gets a new file, and so a new index encoder."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in _SKIPPED)
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if stamp in _keys:  # hashing the weights takes about a second
        return _keys[stamp]
    digest = hashlib.sha256(f"exporter {EXPORTER_VERSION} torch {_torch_version()} opset {OPSET}\n".encode())
    for path in files:
        digest.update(f"{path.relative_to(folder)}\n".encode())
        with open(path, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    _keys[stamp] = digest.hexdigest()[:16]
    return _keys[stamp]


def file_name(key: str) -> str:
    return f"{PREFIX}{key}{SUFFIX}"


def exported(folder: Path, directory: Path | None = None) -> Path:
    """The export of the model in `folder`, made now (in a child process) if the cache
    has none. Raises ModelUnavailable if the export fails."""
    directory = directory or cache_dir()
    target = directory / file_name(export_key(folder))
    if complete(target):
        return describe(folder, target)  # an export cached before exports carried these
    if not can_export():
        raise ModelUnavailable(NEEDS_BUILD_EXTRA)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".export.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be exporting the same model
        if not complete(target):
            done = subprocess.run([sys.executable, "-m", "assistant.model.export", str(folder), str(target)],
                                  capture_output=True, text=True)
            if done.returncode != 0 or not complete(target):
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise ModelUnavailable(f"cannot export the model in {folder} to ONNX: {last}")
    return describe(folder, target)


def describe(folder: Path, graph: Path) -> Path:
    """Write what encoding needs from the model `folder` beside the export `graph` (its
    tokenizer and settings), unless they are there; returns `graph`."""
    from assistant.model.torch_encoder import _pooling

    pooling = _pooling(folder)
    if pooling is None:
        raise ModelUnavailable(f"the model in {folder} is not a plain mean or CLS pooling pipeline")
    max_length, lower_case = tokenizer_settings(folder)
    contents = {settings_file(graph): EncoderSettings(pooling, max_length, lower_case).to_json().encode(),
                tokenizer_file(graph): (folder / "tokenizer.json").read_bytes()}
    for path, data in contents.items():
        if path.is_file() and path.read_bytes() == data:
            continue
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return graph


def place(source: Path, directory: Path) -> str:
    """Put the export `source` (its graph, weights, tokenizer and settings) into
    `directory`, as hard links where it can, else copies; returns the graph's file name
    there. An export made before exports carried a tokenizer is placed as it is."""
    for part in parts(source):  # the graph last: its presence means complete
        target = directory / part.name
        if part != source and not part.is_file():
            continue
        if target.is_file() and _same(target, part):
            continue
        tmp = target.with_name(target.name + ".tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(part, tmp)
        except OSError:  # another file system
            shutil.copyfile(part, tmp)
        os.replace(tmp, target)
    return source.name


def _same(a: Path, b: Path) -> bool:
    """Same size, and for the small files (tokenizer, settings) the same bytes: the weights
    of one key never change, but a settings file written by an older version may."""
    size = a.stat().st_size
    return size == b.stat().st_size and (size > 2**21 or a.read_bytes() == b.read_bytes())


def parts(graph: Path) -> tuple[Path, ...]:
    """Every file of the export `graph`, the graph itself last."""
    return weights(graph), tokenizer_file(graph), settings_file(graph), graph


def complete(graph: Path) -> bool:
    """Whether the export's graph and weights are both on disk."""
    return graph.is_file() and weights(graph).is_file()


def weights(graph: Path) -> Path:
    """The weights file beside an export's graph."""
    return graph.with_name(graph.name + ".data")


def export(folder: Path, target: Path) -> None:
    """Export the transformer of the sentence-transformers model in `folder` to `target`:
    inputs input_ids/attention_mask/token_type_ids, output token_states (batch, tokens, dim)."""
    import warnings

    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    model = AutoModel.from_pretrained(str(folder)).eval()

    class TokenStates(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        # the TorchScript exporter: plain torch, no onnxscript (dynamo=True needs it)
        torch.onnx.export(TokenStates(model), (ids, ids, torch.zeros_like(ids)), str(tmp), input_names=names,
                          output_names=["token_states"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*names, "token_states"]})
    # the weights apart from the graph, so ONNX Runtime maps them (the data file first:
    # the graph's presence means the export is complete)
    import onnx

    graph = onnx.load(str(tmp))
    tmp.unlink()
    data_tmp = weights(target).with_name(weights(target).name + f".{os.getpid()}.tmp")
    onnx.save_model(graph, str(tmp), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data_tmp.name, size_threshold=1024)
    os.chmod(data_tmp, 0o644)  # onnx writes it owner-only; a server may run as another user
    os.replace(data_tmp, weights(target))
    graph = onnx.load(str(tmp), load_external_data=False)  # point the graph at the final name
    for tensor in graph.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = weights(target).name
    onnx.save_model(graph, str(tmp))
    os.replace(tmp, target)


def _torch_version() -> str:
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "none"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m assistant.model.export MODEL_FOLDER TARGET.onnx", file=sys.stderr)
        return 2
    try:
        export(Path(argv[0]), Path(argv[1]))
    except Exception as exc:  # the parent reports the last line
        print(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
