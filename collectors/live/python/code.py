"""Code objects of a live interpreter, read from its memory: names, file and lines.

The BPF walker records, per Python frame, the address of the code object and where the
frame was in its bytecode. Here those become `Frame(qualname, filename, line,
FrameKind.INTERPRETER)`: the code object's fields (`co_qualname` from 3.11, `co_name`
before, `co_filename`, `co_firstlineno` and the line table) are read from /proc/PID/mem
once and cached by address. A code object can be freed and its memory reused for another
one, so the cache entry keeps the raw header it was decoded from, and a drain re-reads
the header of a code object when it meets it again after `RECHECK` seconds: a changed
header is decoded again. Whatever cannot be read becomes `<python code 0x...>`, counted in `errors`.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from collectors.live.python.linetable import line_for
from collectors.live.python.memory import ProcessMemory
from collectors.live.python.offsets import PyOffsets
from collectors.profile import Frame, FrameKind

MAX_NAME = 1024
"""Characters of a name or a file name read at most."""
MAX_LINETABLE = 1 << 16
NO_OFFSET = 0xFFFF
RECHECK = 0.5
"""Seconds a code object read from memory is trusted before its header is compared again."""

_U64 = struct.Struct("<Q")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")


@dataclass(slots=True)
class CodeInfo:
    """One code object's decoded fields, with the header they came from."""

    header: bytes
    name: str
    file: str
    firstlineno: int
    linetable: bytes
    lines: dict[int, int | None] = field(default_factory=dict)


class CodeReader:
    """Turns (code address, instruction) pairs of one process into frames."""

    def __init__(self, pid: int, version: tuple[int, int], offsets: PyOffsets,
                 memory: ProcessMemory | None = None) -> None:
        self.pid = pid
        self.version = version
        self.offsets = offsets
        self.memory = memory or ProcessMemory(pid)
        self.codes: dict[int, CodeInfo | None] = {}
        self._checked: set[int] = set()
        self._header_size = offsets.code_header_size()
        self._round = time.monotonic()

    @property
    def errors(self) -> int:
        return self.memory.errors

    def frame(self, code: int, offset: int) -> tuple[Frame, bool]:
        """The frame for a code object at `code` executing at `offset` (in code units from
        3.10, in bytes before, 0xFFFF when unknown), and whether it was read (False: a
        placeholder). Code objects are checked against memory again every `RECHECK` s."""
        now = time.monotonic()
        if now - self._round > RECHECK:
            self._round = now
            self._checked.clear()
        info = self._info(code)
        if info is None:
            return Frame(f"<python code 0x{code:x}>", None, None, None, FrameKind.INTERPRETER), False
        return Frame(info.name, info.file, self._line(info, offset), None, FrameKind.INTERPRETER), True

    def _info(self, code: int) -> CodeInfo | None:
        cached = self.codes.get(code)
        if code in self._checked:
            return cached
        self._checked.add(code)
        header = self.memory.read(code, self._header_size)
        if header is None:
            # Gone (the process exited): what was read before stays true for old samples.
            return cached
        if cached is not None and cached.header == header:
            return cached
        info = self._decode(header)
        self.codes[code] = info
        return info

    def _decode(self, header: bytes) -> CodeInfo | None:
        o = self.offsets

        def ptr(at: int) -> int:
            return int(_U64.unpack_from(header, at)[0])

        name_at = o.code_qualname if o.code_qualname >= 0 else o.code_name
        name = self.string(ptr(name_at))
        if name is None and name_at != o.code_name:
            name = self.string(ptr(o.code_name))
        file = self.string(ptr(o.code_filename))
        if name is None or file is None:
            return None
        firstlineno = int(_I32.unpack_from(header, o.code_firstlineno)[0])
        table = self.bytes_object(ptr(o.code_linetable)) or b""
        return CodeInfo(header, name, file, firstlineno, table)

    def _line(self, info: CodeInfo, offset: int) -> int | None:
        if offset >= NO_OFFSET:
            return info.firstlineno
        if self.version >= (3, 10):
            offset *= 2  # code units
        line = info.lines.get(offset, -1)
        if line == -1:
            line = line_for(self.version, info.linetable, info.firstlineno, offset)
            if len(info.lines) < 4096:
                info.lines[offset] = line
        return line if line is not None else info.firstlineno

    def string(self, addr: int) -> str | None:
        """A `str` object's text (compact objects only, which code objects' strings are)."""
        return read_str(self.memory.read, self.offsets, addr, MAX_NAME)

    def bytes_object(self, addr: int) -> bytes | None:
        o = self.offsets
        head = self.memory.read(addr, o.bytes_data) if addr else None
        if head is None:
            return None
        size = int(_U64.unpack_from(head, o.bytes_size)[0])
        if size > MAX_LINETABLE:
            return None
        return self.memory.read(addr + o.bytes_data, size) if size else b""

    def close(self) -> None:
        self.memory.close()


def read_str(read: Callable[[int, int], bytes | None], offsets: PyOffsets, addr: int,
             max_chars: int) -> str | None:
    """The text of the compact `str` object at `addr` (at most `max_chars` characters),
    read through `read` (a `ProcessMemory.read`); None when it is not one (a non-compact
    str, such as a str subclass's, included)."""
    o = offsets
    # 3.13's offsets come from the target's own _Py_DebugOffsets: read whatever they name.
    head_size = max(o.unicode_compact_size, o.unicode_length + 8, o.unicode_state + 4)
    head = read(addr, head_size) if addr else None
    if head is None:
        return None
    length = int(_U64.unpack_from(head, o.unicode_length)[0])
    state = int(_U32.unpack_from(head, o.unicode_state)[0])
    kind = (state >> 2) & 7
    compact, ascii_ = state >> 5 & 1, state >> 6 & 1
    if not compact or kind not in (1, 2, 4) or length > 1 << 20:
        return None
    start = addr + (o.unicode_ascii_size if ascii_ else o.unicode_compact_size)
    count = min(length, max_chars)
    if count == 0:
        return ""
    data = read(start, count * kind)
    if data is None:
        return None
    codec = {1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}[kind]
    return data.decode(codec, "replace")
