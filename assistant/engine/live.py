"""The index a running server answers from, kept fresh without a restart.

One immutable reference to the current Assistant: a newer index on disk (built by
this process, `assistant build`, `assistant watch` or the webhook) is loaded and
warmed beside the old one, then swapped in with a single assignment, so requests
in flight finish on the old one. A corrupt or mismatching index on disk, or a data
file of the served one damaged in place, is logged and the last good one (in
memory) keeps serving.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from assistant.engine import build as index_build
from assistant.engine.assistant import Assistant
from assistant.errors import AssistantError, IndexNotFound
from assistant.model.embedder import Embedder
from assistant.records import BuildReport
from assistant.search import index as index_store
from assistant.settings import Settings

log = logging.getLogger("assistant.live")
RETRY_MOST = 60.0  # seconds between tries of an index on disk that keeps failing


class LiveAssistant:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, build: bool = True):
        self.settings = settings
        self.embedder = embedder or Embedder(settings.model)
        self.embedder.use_export(index_store.encoder_file(settings.index_dir))  # torch-free, no re-hashing
        self._current = Assistant.load(settings, embedder=self.embedder, build=build)
        self._current.warm_up()
        self._swap_lock = threading.Lock()
        self._stop = threading.Event()
        self.last_error: str | None = None
        self.model_problem: str | None = None  # why the model can't encode (load_model), if it can't
        self._named: tuple = (None, ())  # the manifest's (mtime, size, inode), the files it names

    def load_model(self) -> None:
        """Load the model now rather than on the first question (ONNX: about half a
        second), and answer one question, so what answering imports (wordfreq,
        rapidfuzz) is loaded too: the first reader pays for neither."""
        started = time.perf_counter()
        try:
            self.embedder.encode(["warm up"])
            self._current.ask("What is this article about?")
            log.info("model loaded in %.1f s", time.perf_counter() - started)
        except AssistantError as exc:  # every question reports it; /healthz too (model_status)
            self.model_problem = str(exc)
            log.warning("model not loaded at start-up: %s", exc)

    def model_status(self) -> str | None:
        """None when the model encodes, else why not. While it can't, each call tries to
        load it again (a fixed install or index is picked up): a failed load is quick."""
        if self.model_problem is None:
            return None
        try:
            self.embedder.encode(["warm up"])
        except AssistantError as exc:
            self.model_problem = str(exc)
            return self.model_problem
        self.model_problem = None
        log.info("model loaded")
        return None

    @property
    def current(self) -> Assistant:
        """The Assistant to use for one whole request (read it once per request)."""
        return self._current

    def _disk_stamp(self) -> tuple:
        """(mtime, size, inode) of the manifest, of every file the manifest on disk names
        and of the served version's: a change to any of them makes the follower load again,
        so a version whose manifest arrived before its files (a sync may reorder them) is
        loaded once they are there, and a file damaged under the server is reported (the
        served index, read into memory, is unaffected)."""
        directory = Path(self.settings.index_dir)
        manifest = _stat(directory / index_store.MANIFEST)
        if manifest != self._named[0]:  # read again only when it changed (2 MB at 100k passages)
            self._named = (manifest, index_store.named_files(directory))
        served = self._current.index.manifest
        paths = {*self._named[1], *(directory / name for name in served.files.values())}
        return manifest, tuple((str(path), _stat(path)) for path in sorted(paths))

    def refresh(self) -> bool:
        """Serve the index on disk if it is newer than the served one; True if swapped."""
        with self._swap_lock:
            try:
                fresh = index_store.load(self.settings.index_dir, self.embedder.model_id)
            except AssistantError as exc:
                if str(exc) != self.last_error:
                    log.warning("keeping index %s: the one on disk is unusable: %s",
                                self._current.index.manifest.version, exc)
                self.last_error = str(exc)
                return False
            self.last_error = None
            if fresh.manifest.version == self._current.index.manifest.version:
                return False
            candidate = Assistant(fresh, self.embedder, self.settings)
            candidate.warm_up()
            self._current = candidate
            log.info("now serving index %s (%d passages)", fresh.manifest.version, len(fresh.passages))
            return True

    def rebuild(self) -> BuildReport:
        """Build incrementally (waiting for any other build), then swap the result in."""
        report = index_build.build(self.settings.corpus_dir, self.settings.index_dir, self.embedder)
        index_build.log_skipped(report)
        self.refresh()
        return report

    def follow_index(self, interval: float = 2.0) -> threading.Thread:
        """Poll the index folder and swap in new builds made by other processes."""
        def loop():
            stamp, wait = self._disk_stamp(), interval
            while not self._stop.wait(wait):
                now = self._disk_stamp()
                if now != stamp or self.last_error:
                    # while a problem is reported, the newest manifest is tried again (a
                    # change on NFS may show late), less often the longer it lasts: each
                    # try hashes the whole version
                    wait = interval if now != stamp else min(wait * 2, RETRY_MOST)
                    stamp = now
                    self.refresh()
                else:
                    wait = interval

        thread = threading.Thread(target=loop, name="index-follower", daemon=True)
        thread.start()
        return thread

    def follow_corpus(self, debounce_ms: int = 800) -> threading.Thread:
        """Rebuild when files under the corpus change (watchfiles, debounced)."""
        def loop():
            from watchfiles import watch

            for _ in watch(self.settings.corpus_dir, debounce=debounce_ms, stop_event=self._stop):
                try:
                    report = self.rebuild()
                    log.info("corpus changed: %d embedded, %d reused, %d removed", report.embedded, report.reused, report.removed)
                except AssistantError as exc:
                    log.warning("rebuild after a corpus change failed: %s", exc)

        thread = threading.Thread(target=loop, name="corpus-watcher", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def _stat(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def open_live(settings: Settings):
    """The LiveAssistant the server answers from: built if need be, except on a replica,
    which only loads what the builder wrote."""
    try:
        return LiveAssistant(settings, build=not settings.replica)
    except IndexNotFound as exc:
        raise IndexNotFound(f"{exc} (a replica never builds one)" if settings.replica else str(exc)) from None
