"""Function symbols of ELF files a profiled process has mapped, read as hostile files.

Replaces bcc's symbol cache, which opened the files (and debug links) itself with no checks.
Here every file comes through `target_files`: a mapped file through /proc/PID/map_files (the
mapped inode, whatever its path holds now), a debug file (`/usr/lib/debug/.build-id/...`,
or `.gnu_debuglink` next to the file) by its path inside the target's root, as the target.

pyelftools reads the headers; the symbol tables themselves are unpacked with `struct`
(pyelftools' per-symbol parsing is far slower), only functions (STT_FUNC, STT_GNU_IFUNC)
that are defined, into sorted arrays searched with `bisect`. Tables are cached per file
(device, inode, mtime, size) and shared by every process that maps the file.
"""

from __future__ import annotations

import bisect
import os
import posixpath
import struct
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, BinaryIO

from collectors.live.demangle import demangle
from collectors.live.target_files import Credentials, TargetFileError, open_mapped_file, open_target_file

MAX_ELF_BYTES = 1 << 30
"""The largest ELF or debug file read (only its headers and symbol tables are)."""
MAX_TABLE_BYTES = 256 << 20
"""The largest symbol or string table read."""
MAX_CACHED = 256
"""ELF files whose tables are kept (least recently used dropped first)."""
DEBUG_ROOT = "/usr/lib/debug"

STT_FUNC, STT_GNU_IFUNC = 2, 10
_FUNCTION_TYPES = frozenset((STT_FUNC, STT_GNU_IFUNC))
MAX_NAME = 4096
"""Longer names are cut (a symbol name is the target's to choose)."""
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
_BIND_RANK = {STB_GLOBAL: 0, STB_WEAK: 1, STB_LOCAL: 2}


@dataclass(frozen=True, slots=True)
class Segment:
    offset: int
    vaddr: int
    size: int


class ElfSymbols:
    """One file's functions: sorted starts and ends, and where each name lies in the string
    table (kept as bytes: names are decoded, and demangled, only when looked up)."""

    __slots__ = ("build_id", "ends", "name_at", "segments", "starts", "strtabs")

    def __init__(self, table: FunctionTable, segments: list[Segment], build_id: bytes | None) -> None:
        self.starts, self.ends, self.name_at, self.strtabs = table
        self.segments = segments
        self.build_id = build_id

    def vaddr(self, addr: int, map_start: int, map_offset: int) -> int | None:
        """The ELF virtual address of process address `addr` in a mapping of this file that
        starts at `map_start` with file offset `map_offset`."""
        file_offset = addr - map_start + map_offset
        for seg in self.segments:
            if seg.offset <= file_offset < seg.offset + max(seg.size, 1):
                return file_offset - seg.offset + seg.vaddr
        return None

    def lookup(self, vaddr: int) -> str | None:
        """The demangled name of the function containing `vaddr`."""
        i = bisect.bisect_right(self.starts, vaddr) - 1
        for j in (i, i - 1):  # a small symbol may sit inside a larger one just before it
            if j >= 0 and vaddr < self.ends[j]:
                return demangle(self.name(j))
        return None

    def name(self, i: int) -> str:
        return _name(self.strtabs, self.name_at[i]).decode("utf-8", "replace")

    def __len__(self) -> int:
        return len(self.starts)


FunctionTable = tuple[list[int], list[int], list[int], tuple[bytes, ...]]
"""(starts, ends, names, string tables) of a file's functions, sorted by start; a name is
its offset times 2 plus its table's index (two tables: .dynsym's and .symtab's)."""

Entry = tuple[int, int, int, int]
"""(start, binding rank, size, name) of one function symbol."""


def _name(strtabs: tuple[bytes, ...], at: int) -> bytes:
    table = strtabs[at & 1]
    at >>= 1
    stop = table.find(b"\0", at, at + MAX_NAME)
    return table[at : stop if stop >= 0 else at + MAX_NAME]


class ElfCache:
    """ELF symbol tables by file identity, shared across processes."""

    def __init__(self, max_files: int = MAX_CACHED) -> None:
        self._files: OrderedDict[tuple[int, int, int, int], ElfSymbols | None] = OrderedDict()
        self._max = max_files
        self.loads = 0
        """Files parsed (cache misses), for tests and benchmarks."""

    def mapped(self, pid: int, start: int, end: int, path: str, creds: Credentials) -> ElfSymbols | None:
        """The symbols of the file `pid` maps at `start`-`end` (None: refused or not ELF)."""
        try:
            fd = open_mapped_file(pid, start, end, path, MAX_ELF_BYTES, creds)
        except TargetFileError:
            return None
        try:
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
            if key in self._files:
                self._files.move_to_end(key)
                return self._files[key]
            self.loads += 1
            symbols = _load(fd, pid, path, creds)
        finally:
            os.close(fd)
        self._files[key] = symbols
        while len(self._files) > self._max:
            self._files.popitem(last=False)
        return symbols


def _load(fd: int, pid: int, path: str, creds: Credentials) -> ElfSymbols | None:
    from elftools.common.exceptions import ELFError

    try:
        with os.fdopen(os.dup(fd), "rb") as f:
            elf = _open_elf(f)
            if elf is None:
                return None
            segments = _load_segments(elf, f)
            build_id = _build_id(elf)
            # .symtab (the file's or its debug file's) holds every .dynsym function too: read
            # .dynsym only when there is neither (a stripped file), or every symbol is an alias.
            symbols: list[Entry] = []
            dynstr = b""
            if elf.get_section_by_name(".symtab") is not None:
                strtab = _functions(elf, f, ".symtab", 1, symbols)
            else:
                strtab = _debug_functions(elf, f, pid, path, creds, build_id, symbols)
            if not symbols:
                dynstr = _functions(elf, f, ".dynsym", 0, symbols)
    except (ELFError, OSError, ValueError, struct.error, KeyError, AttributeError, TypeError, IndexError,
            AssertionError, UnicodeDecodeError, OverflowError, MemoryError):
        return None
    return ElfSymbols(_table(symbols, (dynstr, strtab)), segments, build_id)


def _load_segments(elf: Any, f: BinaryIO) -> list[Segment]:
    """The PT_LOAD program headers, unpacked directly (pyelftools parses every segment's
    contents on the way, which costs seconds on a large binary)."""
    h = elf.header
    count, size = h["e_phnum"], h["e_phentsize"]
    if count > 65535 or size < (56 if elf.elfclass == 64 else 32):
        return []
    f.seek(h["e_phoff"])
    table = f.read(count * size)
    end = "<" if elf.little_endian else ">"
    out = []
    for i in range(len(table) // size):
        if elf.elfclass == 64:
            p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(end + "IIQQQQ", table, i * size)
        else:
            p_type, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(end + "IIIII", table, i * size)
        if p_type == 1:  # PT_LOAD
            out.append(Segment(p_offset, p_vaddr, p_filesz))
    return out


def _open_elf(f: BinaryIO) -> Any:
    from elftools.elf.elffile import ELFFile

    if f.read(4) != b"\x7fELF":
        return None
    f.seek(0)
    return ELFFile(f)


def _section_bytes(f: BinaryIO, section: Any) -> bytes:
    if section["sh_type"] == "SHT_NOBITS":
        return b""
    size = section["sh_size"]
    if size > MAX_TABLE_BYTES:
        raise ValueError("symbol table too large")
    f.seek(section["sh_offset"])
    return f.read(size)


def _functions(elf: Any, f: BinaryIO, name: str, which: int, out: list[Entry]) -> bytes:
    """Add the defined functions of symbol table `name` to `out` (names in string table
    `which`, 0 or 1); returns that string table. One tight loop over the packed entries."""
    section = elf.get_section_by_name(name)
    if section is None:
        return b""
    data = _section_bytes(f, section)
    strtab = _section_bytes(f, elf.get_section(section["sh_link"]))
    limit = len(strtab)
    end = "<" if elf.little_endian else ">"
    add = out.append
    funcs = _FUNCTION_TYPES
    rank = _BIND_RANK
    if elf.elfclass == 64:
        for st_name, st_info, _, st_shndx, st_value, st_size in struct.iter_unpack(
                end + "IBBHQQ", data[: len(data) - len(data) % 24]):
            if (st_info & 0xF) in funcs and st_shndx and st_value and st_name < limit:
                add((st_value, rank.get(st_info >> 4, 3), st_size, st_name * 2 + which))
    else:
        for st_name, st_value, st_size, st_info, _, st_shndx in struct.iter_unpack(
                end + "IIIBBH", data[: len(data) - len(data) % 16]):
            if (st_info & 0xF) in funcs and st_shndx and st_value and st_name < limit:
                add((st_value, rank.get(st_info >> 4, 3), st_size, st_name * 2 + which))
    return strtab


def _table(symbols: list[Entry], strtabs: tuple[bytes, ...]) -> FunctionTable:
    """Sorted arrays, one name per address: of aliases, a global before a weak before a local
    symbol, then the name with fewer leading underscores (`malloc`, not `__libc_malloc`).
    A symbol of size 0 runs to the next one."""
    symbols.sort()
    starts: list[int] = []
    ends: list[int] = []
    name_at: list[int] = []
    i, n = 0, len(symbols)
    while i < n:
        best = symbols[i]
        start = best[0]
        j = i + 1
        if j < n and symbols[j][0] == start:
            while j < n and symbols[j][0] == start:
                j += 1
            best = min(symbols[i:j], key=lambda s: _alias_order(s, strtabs))
        if ends and ends[-1] == starts[-1]:
            ends[-1] = start
        starts.append(start)
        ends.append(start + best[2])
        name_at.append(best[3])
        i = j
    return starts, ends, name_at, strtabs


def _alias_order(s: Entry, strtabs: tuple[bytes, ...]) -> tuple[int, int, int]:
    name = _name(strtabs, s[3])
    return s[1], len(name) - len(name.lstrip(b"_")), len(name)


def _build_id(elf: Any) -> bytes | None:
    section = elf.get_section_by_name(".note.gnu.build-id")
    if section is None:
        return None
    data = section.data()
    if len(data) < 16:
        return None
    namesz, descsz, _ = struct.unpack_from("<III" if elf.little_endian else ">III", data)
    start = 12 + ((namesz + 3) & ~3)
    desc = data[start : start + descsz]
    return bytes(desc) if 0 < len(desc) <= 64 else None


def _debug_functions(elf: Any, f: BinaryIO, pid: int, path: str, creds: Credentials,
                     build_id: bytes | None, out: list[Entry]) -> bytes:
    """Functions from the separate debug file of a stripped ELF, in the target's root:
    `/usr/lib/debug/.build-id/xx/yyyy.debug` (its build id checked), else the
    `.gnu_debuglink` name beside the file, in `.debug/` there, or under /usr/lib/debug
    (its CRC checked). Adds to `out` as `_functions` does; returns the string table."""
    if build_id:
        hexid = build_id.hex()
        candidate = f"{DEBUG_ROOT}/.build-id/{hexid[:2]}/{hexid[2:]}.debug"
        found = _debug_file(pid, candidate, creds, lambda debug, _fd: _build_id(debug) == build_id, out)
        if found is not None:
            return found
    link = elf.get_section_by_name(".gnu_debuglink")
    if link is None or not path.startswith("/"):
        return b""
    data = link.data()
    name_end = data.find(b"\0")
    if name_end <= 0 or len(data) < ((name_end + 4) & ~3) + 4:
        return b""
    name = data[:name_end].decode("utf-8", "surrogateescape")
    if "/" in name or name in (".", ".."):
        return b""
    crc = struct.unpack_from("<I" if elf.little_endian else ">I", data, (name_end + 4) & ~3)[0]
    directory = posixpath.dirname(path.removesuffix(" (deleted)"))
    for candidate in (f"{directory}/{name}", f"{directory}/.debug/{name}", f"{DEBUG_ROOT}{directory}/{name}"):
        if candidate == path:
            continue
        found = _debug_file(pid, candidate, creds, lambda _debug, fd: _crc32(fd) == crc, out)
        if found is not None:
            return found
    return b""


def _debug_file(pid: int, candidate: str, creds: Credentials, matches: Any, out: list[Entry]) -> bytes | None:
    try:
        fd = open_target_file(pid, candidate, MAX_ELF_BYTES, creds)
    except TargetFileError:
        return None
    try:
        with os.fdopen(os.dup(fd), "rb") as f:
            debug = _open_elf(f)
            if debug is None or not matches(debug, fd):
                return None
            return _functions(debug, f, ".symtab", 1, out)
    finally:
        os.close(fd)


def _crc32(fd: int) -> int:
    crc = 0
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        crc = zlib.crc32(chunk, crc)
        offset += len(chunk)
        if offset > MAX_ELF_BYTES:
            break
    return crc

