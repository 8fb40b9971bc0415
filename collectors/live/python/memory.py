"""Reading a live process's memory (`/proc/PID/mem`), bounded, failures counted not raised.

What is read there is hostile or stale data: a code object freed since the sample, a
pointer into nothing, a length of two gigabytes. Every read has a size cap, and a failed
or short read returns None and counts one error (`errors`)."""

from __future__ import annotations

import os
import struct

MAX_READ = 1 << 16
"""The largest single read (a line table or a name longer than this is cut)."""

_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")


class ProcessMemory:
    """The memory of process `pid`, opened once (as root) and read with `pread`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.errors = 0
        self._fd: int | None
        try:
            self._fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self._fd = None

    @property
    def readable(self) -> bool:
        return self._fd is not None

    def read(self, addr: int, size: int) -> bytes | None:
        """`size` bytes at `addr`, or None (counted) when they cannot all be read."""
        if self._fd is None or size <= 0 or size > MAX_READ or not 0 < addr < 1 << 47:
            self.errors += 1
            return None
        try:
            data = os.pread(self._fd, size, addr)
        except OSError:
            data = b""
        if len(data) != size:
            self.errors += 1
            return None
        return data

    def u64(self, addr: int) -> int | None:
        data = self.read(addr, 8)
        return None if data is None else int(_U64.unpack(data)[0])

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> ProcessMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
