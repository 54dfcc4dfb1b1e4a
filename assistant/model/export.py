"""The build side of the ONNX encoder: a model folder -> `encoder-<key>.onnx`, its
transformer exported once with torch and cached by the model's files and this exporter's
version. An export is two files: the graph (`encoder-KEY.onnx`) and its weights
(`encoder-KEY.onnx.data`), which ONNX Runtime maps rather than copies.

The export itself always runs in a child process (`python -m assistant.model.export FOLDER
FILE`), so torch never enters a process that serves, not even one that rebuilds its
index. It exports only the transformer (token states out); pooling stays in numpy
(model/onnx_encoder.py), where the sentence vectors of a passage come from the same forward pass.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from assistant.errors import ModelUnavailable

EXPORTER_VERSION = 2  # bump when the exported graph changes: every cached export is made again
# 2: weights in a separate file (FILE.data), which ONNX Runtime memory-maps: 45 MB less RSS
OPSET = 17
PREFIX, SUFFIX = "encoder-", ".onnx"
_SKIPPED = {"README.md", ".gitattributes"}  # files that can't change the vectors
_keys: dict[tuple, str] = {}


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
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".export.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be exporting the same model
        if not complete(target):
            done = subprocess.run([sys.executable, "-m", "assistant.model.export", str(folder), str(target)],
                                  capture_output=True, text=True)
            if done.returncode != 0 or not complete(target):
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise ModelUnavailable(f"cannot export the model in {folder} to ONNX: {last}")
    return target


def place(source: Path, directory: Path) -> str:
    """Put the export `source` (graph and weights) into `directory`, as hard links where
    it can, else copies; returns the graph's file name there."""
    for part in (weights(source), source):  # the graph last: its presence means complete
        target = directory / part.name
        if target.is_file() and target.stat().st_size == part.stat().st_size:
            continue
        tmp = target.with_name(target.name + ".tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(part, tmp)
        except OSError:  # another file system
            import shutil

            shutil.copyfile(part, tmp)
        os.replace(tmp, target)
    return source.name


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
