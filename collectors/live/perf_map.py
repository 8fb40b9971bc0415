"""A JIT's `/tmp/perf-PID.map`, read as a hostile file.

The map is written by the profiled process (Node's `--perf-basic-prof`, a JVM agent): it
may be a symlink, a FIFO, or a 64 GiB sparse file. It is opened through `target_files`
(inside the target's root, as the target, regular files only), read up to
`MAX_BYTES` in all, line by line with lines longer than `MAX_LINE` skipped, and read again
only from where it ended while it grows (JITs append).
"""

from __future__ import annotations

import bisect
import os

from collectors.live.target_files import Credentials, TargetFileError, namespace_pid, open_target_file

MAX_BYTES = 64 << 20
"""The most of a perf map read (a long-running Node app writes some MB)."""
MAX_LINE = 4096
"""Longer lines are skipped: `START SIZE name`, with the name cut to fit a screen."""
_READ_CHUNK = 1 << 20


class PerfMap:
    """The symbols of one process's perf map, as far as it has been read."""

    __slots__ = ("_ends", "_entries", "_names", "_starts", "identity", "offset", "path", "pid")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.path = f"/tmp/perf-{namespace_pid(pid)}.map"
        """The map's path as the target names it (in its root, with its own pid)."""
        self.identity: tuple[int, int] | None = None
        self.offset = 0
        self._entries: dict[int, tuple[int, str]] = {}
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._names: list[str] = []

    def update(self, creds: Credentials) -> bool:
        """Read what was appended since the last call; True when symbols were added. A map
        that was replaced is read from its start; one that is refused adds nothing."""
        try:
            fd = open_target_file(self.pid, self.path, MAX_BYTES, creds)
        except TargetFileError:
            return False
        try:
            st = os.fstat(fd)
            identity = (st.st_dev, st.st_ino)
            if identity != self.identity or st.st_size < self.offset:
                self.identity, self.offset = identity, 0
                self._entries.clear()
            added = self._read_from(fd, min(st.st_size, MAX_BYTES))
        finally:
            os.close(fd)
        if added:
            self._index()
        return added > 0

    def _read_from(self, fd: int, size: int) -> int:
        added = 0
        pending = b""
        while self.offset + len(pending) < size:
            chunk = os.pread(fd, min(_READ_CHUNK, size - self.offset - len(pending)), self.offset + len(pending))
            if not chunk:
                break
            data = pending + chunk
            end = data.rfind(b"\n")
            if end < 0:
                if len(data) > MAX_LINE:  # one line longer than any real one: skip past it
                    self.offset += len(data)
                    pending = b""
                else:
                    pending = data
                continue
            added += self._parse(data[:end])
            self.offset += end + 1
            pending = data[end + 1 :]
        return added

    def _parse(self, block: bytes) -> int:
        added = 0
        for line in block.split(b"\n"):
            if len(line) > MAX_LINE:
                continue
            parts = line.split(None, 2)
            if len(parts) != 3:
                continue
            try:
                start, size = int(parts[0], 16), int(parts[1], 16)
            except ValueError:
                continue
            if size <= 0 or start >= 1 << 64:
                continue
            self._entries[start] = (start + size, parts[2].decode("utf-8", "replace").rstrip())
            added += 1
        return added

    def _index(self) -> None:
        starts = sorted(self._entries)
        self._starts = starts
        self._ends = [self._entries[s][0] for s in starts]
        self._names = [self._entries[s][1] for s in starts]

    def lookup(self, addr: int) -> tuple[str, int] | None:
        """(name, offset into it) of the JIT symbol at `addr`."""
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self._ends[i]:
            return self._names[i], addr - self._starts[i]
        return None

    def __len__(self) -> int:
        return len(self._starts)
