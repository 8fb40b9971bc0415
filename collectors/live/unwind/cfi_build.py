"""Build unwind tables in a child process: `python -m collectors.live.unwind.cfi_build FD...`.

The ELF files are a target's (hostile): pyelftools runs on them here, in a process of its
own with a memory and CPU limit, so that a file crafted to make the parser loop, recurse or
swell costs the collector a failed table, never a hang or a crash. The parent passes open
file descriptors (from `target_files.open_mapped_file`) and reads, per descriptor, in order:
a `RESULT` header, the executable segments (`SEGMENT` each) and the rows (`cfi_tables.ROW`).
"""

from __future__ import annotations

import os
import resource
import struct
import sys
from typing import IO

from collectors.live.unwind import cfi_tables

RESULT = struct.Struct("<IIIQ")
"""status (0: built, 1: failed), segments, rows, bytes of call-frame information."""
SEGMENT = struct.Struct("<QQQ")
"""file offset, file size, address of an executable PT_LOAD segment."""

MEMORY_LIMIT = 2 << 30
CPU_SECONDS = 120


def build(fd: int) -> bytes:
    """One file's result, as the parent reads it."""
    try:
        with os.fdopen(os.dup(fd), "rb") as f:
            segments = cfi_tables.load_segments(f)
            fdes = cfi_tables.elf_fdes(f)
            cfi_bytes = _cfi_bytes(f)
            rows = cfi_tables.table_rows(fdes)
    except Exception:  # hostile or broken ELF: no table, frame pointers for it
        return RESULT.pack(1, 0, 0, 0)
    head = RESULT.pack(0, len(segments), len(rows), cfi_bytes)
    return head + b"".join(SEGMENT.pack(*s) for s in segments) + cfi_tables.pack(rows)


def _cfi_bytes(f: IO[bytes]) -> int:
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(f)
    section = elf.get_section_by_name(".eh_frame") or elf.get_section_by_name(".debug_frame")
    return int(section["sh_size"]) if section is not None else 0


def main(argv: list[str]) -> int:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    sys.setrecursionlimit(200)
    out = sys.stdout.buffer
    for arg in argv:
        out.write(build(int(arg)))
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
