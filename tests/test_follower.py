"""A replica following an index folder that a sync fills in any order: a manifest that
arrives before its data files is served once they are there, and the problem it reported
meanwhile is cleared. In-process, with the fake embedder: bookkeeping, not meaning."""
from __future__ import annotations

import json
import shutil
import threading
import time

from conftest import FakeEmbedder

from assistant.engine import build as index_build
from assistant.engine.live import LiveAssistant
from assistant.settings import Settings


class ReplicaEmbedder(FakeEmbedder):
    def use_export(self, path):  # the fake encodes without an export
        pass


def wait_for(condition, seconds: float = 20.0) -> bool:
    """Poll an observable condition, bounded: False when it never held."""
    deadline, tick = time.monotonic() + seconds, threading.Event()
    while time.monotonic() < deadline:
        if condition():
            return True
        tick.wait(0.02)
    return condition()


def test_a_manifest_synced_before_its_data_files_is_served_once_they_arrive(corpus_dir, tmp_path):
    served, builder = tmp_path / "served", tmp_path / "builder"
    index_build.build(corpus_dir, served, FakeEmbedder())
    shutil.copytree(served, builder)
    (corpus_dir / "more.md").write_text("# More\n\nA silk pillowcase creases the face less than cotton.\n")
    index_build.build(corpus_dir, builder, FakeEmbedder())
    new = json.loads((builder / "manifest.json").read_text())
    live = LiveAssistant(Settings(corpus_dir=corpus_dir, index_dir=served), embedder=ReplicaEmbedder(), build=False)
    old_version = live.current.index.manifest.version
    live.follow_index(interval=0.05)
    try:
        shutil.copy(builder / "manifest.json", served / "manifest.json.part")
        (served / "manifest.json.part").replace(served / "manifest.json")  # the manifest first, as a sync may
        assert wait_for(lambda: live.last_error and "is missing" in live.last_error)
        assert live.current.index.manifest.version == old_version  # the last good one serves meanwhile
        for name in new["files"].values():  # then its data files
            source = builder / name
            shutil.copytree(source, served / name) if source.is_dir() else shutil.copy(source, served / name)
        assert wait_for(lambda: live.current.index.manifest.version == new["version"]), live.last_error
        assert wait_for(lambda: live.last_error is None)
        assert live.current.ask("silk pillowcase").citations
    finally:
        live.stop()
