"""Index arrays that a query reads a few scattered rows of, kept out of resident memory.

index.load checks the file's size and SHA-256 first; this only reads it afterwards.

Why: a memory-mapped file counts in RSS for every page a process touched, and on each
fault Linux maps the neighbouring pages already cached too (fault-around, 64 kB; no
madvise turns it off). Queries at 100k passages read a few hundred scattered sentence
rows each, so after a few hundred questions most of the 600 MB sentence file was
resident (342 MB measured). `Rows` reads the requested rows with pread instead: only
the copies a query uses live in the process, and the file stays in the kernel's page
cache, shared and reclaimable. It reads 2-D .npy files; it never writes.
"""
from __future__ import annotations

import os
import weakref
from pathlib import Path

import numpy as np


class Rows:
    """A read-only 2-D .npy file that answers `rows[i]`, `rows[a:b]` and `rows[indices]`
    like the array would, each with as few preads as there are contiguous runs."""

    def __init__(self, path: Path):
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(handle)
            self._offset = handle.tell()
        if len(shape) != 2 or fortran:
            raise ValueError(f"{path.name} is not a C-ordered 2-D array")
        self.shape, self.dtype, self.ndim = tuple(shape), np.dtype(dtype), 2
        self._row_bytes = shape[1] * self.dtype.itemsize
        if os.path.getsize(path) < self._offset + shape[0] * self._row_bytes:
            raise ValueError(f"{path.name} is truncated")
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, start: int, count: int) -> np.ndarray:
        data = os.pread(self._fd, count * self._row_bytes, self._offset + start * self._row_bytes)
        if len(data) != count * self._row_bytes:  # truncated under a running server: say so, never guess
            from assistant.errors import IndexCorrupt

            raise IndexCorrupt(f"index file {self.path} is shorter than when it was loaded; run `assistant build`")
        return np.frombuffer(data, dtype=self.dtype).reshape(count, self.shape[1])

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            if step != 1:
                raise IndexError("only contiguous slices are read")
            return self._read(start, max(stop - start, 0))
        if isinstance(key, (int, np.integer)):
            row = int(key) + (self.shape[0] if key < 0 else 0)
            if not 0 <= row < self.shape[0]:
                raise IndexError(f"row {key} is outside {self.shape[0]} rows")
            return self._read(row, 1)[0]
        rows = np.asarray(key, dtype=np.int64).reshape(-1)
        if not len(rows):
            return np.empty((0, self.shape[1]), dtype=self.dtype)
        if rows.min() < 0 or rows.max() >= self.shape[0]:
            raise IndexError(f"rows outside {self.shape[0]} rows")
        cuts = np.flatnonzero(np.diff(rows) != 1) + 1  # runs of consecutive rows: one pread each
        starts, ends = np.concatenate([[0], cuts]), np.concatenate([cuts, [len(rows)]])
        return np.concatenate([self._read(int(rows[a]), int(b - a)) for a, b in zip(starts, ends)])
