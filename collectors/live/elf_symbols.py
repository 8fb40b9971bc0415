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
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
_BIND_RANK = {STB_GLOBAL: 0, STB_WEAK: 1, STB_LOCAL: 2}


@dataclass(frozen=True, slots=True)
class Segment:
    offset: int
    vaddr: int
    size: int


class ElfSymbols:
    """One file's functions: sorted starts, ends and (mangled) names; its loadable segments."""

    __slots__ = ("build_id", "ends", "names", "segments", "starts")

    def __init__(self, symbols: list[tuple[int, int, int, str]], segments: list[Segment],
                 build_id: bytes | None) -> None:
        """`symbols`: (start, size, binding rank, name); aliases at one address keep the best name
        (global before weak before local, then fewer leading underscores, then shorter)."""
        symbols.sort(key=lambda s: (s[0], s[2], len(s[3]) - len(s[3].lstrip("_")), len(s[3])))
        starts: list[int] = []
        ends: list[int] = []
        names: list[str] = []
        for start, size, _, name in symbols:
            if starts and starts[-1] == start:
                continue
            if ends and ends[-1] == starts[-1]:  # size 0: runs to the next symbol
                ends[-1] = start
            starts.append(start)
            ends.append(start + size)
            names.append(name)
        self.starts, self.ends, self.names = starts, ends, names
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
                return demangle(self.names[j])
        return None

    def __len__(self) -> int:
        return len(self.starts)


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
            segments = [Segment(p["p_offset"], p["p_vaddr"], p["p_filesz"]) for p in elf.iter_segments()
                        if p["p_type"] == "PT_LOAD"]
            build_id = _build_id(elf)
            symbols = _functions(elf, f, ".dynsym")
            has_symtab = elf.get_section_by_name(".symtab") is not None
            if has_symtab:
                symbols += _functions(elf, f, ".symtab")
            else:
                symbols += _debug_functions(elf, f, pid, path, creds, build_id)
    except (ELFError, OSError, ValueError, struct.error, KeyError, AttributeError, TypeError, IndexError,
            AssertionError, UnicodeDecodeError, OverflowError, MemoryError):
        return None
    return ElfSymbols(symbols, segments, build_id)


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


def _functions(elf: Any, f: BinaryIO, name: str) -> list[tuple[int, int, int, str]]:
    """(start, size, binding rank, name) of the defined functions in symbol table `name`."""
    section = elf.get_section_by_name(name)
    if section is None:
        return []
    data = _section_bytes(f, section)
    strtab = _section_bytes(f, elf.get_section(section["sh_link"]))
    end = "<" if elf.little_endian else ">"
    if elf.elfclass == 64:
        fmt, order = end + "IBBHQQ", (0, 1, 3, 4, 5)
    else:
        fmt, order = end + "IIIBBH", (0, 3, 5, 1, 2)
    width = struct.calcsize(fmt)
    out: list[tuple[int, int, int, str]] = []
    for entry in struct.iter_unpack(fmt, data[: len(data) - len(data) % width]):
        st_name, st_info, st_shndx, st_value, st_size = (entry[k] for k in order)
        kind = st_info & 0xF
        if (kind != STT_FUNC and kind != STT_GNU_IFUNC) or st_shndx == 0 or st_value == 0:
            continue
        stop = strtab.find(b"\0", st_name)
        if stop < 0:
            continue
        text = strtab[st_name:stop].decode("utf-8", "replace")
        if text:
            out.append((st_value, st_size, _BIND_RANK.get(st_info >> 4, 3), text))
    return out


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
                     build_id: bytes | None) -> list[tuple[int, int, int, str]]:
    """Functions from the separate debug file of a stripped ELF, in the target's root:
    `/usr/lib/debug/.build-id/xx/yyyy.debug` (its build id checked), else the
    `.gnu_debuglink` name beside the file, in `.debug/` there, or under /usr/lib/debug
    (its CRC checked)."""
    if build_id:
        hexid = build_id.hex()
        candidate = f"{DEBUG_ROOT}/.build-id/{hexid[:2]}/{hexid[2:]}.debug"
        found = _debug_file(pid, candidate, creds, lambda debug, _fd: _build_id(debug) == build_id)
        if found is not None:
            return found
    link = elf.get_section_by_name(".gnu_debuglink")
    if link is None or not path.startswith("/"):
        return []
    data = link.data()
    name_end = data.find(b"\0")
    if name_end <= 0 or len(data) < ((name_end + 4) & ~3) + 4:
        return []
    name = data[:name_end].decode("utf-8", "surrogateescape")
    if "/" in name or name in (".", ".."):
        return []
    crc = struct.unpack_from("<I" if elf.little_endian else ">I", data, (name_end + 4) & ~3)[0]
    directory = posixpath.dirname(path.removesuffix(" (deleted)"))
    for candidate in (f"{directory}/{name}", f"{directory}/.debug/{name}", f"{DEBUG_ROOT}{directory}/{name}"):
        if candidate == path:
            continue
        found = _debug_file(pid, candidate, creds, lambda _debug, fd: _crc32(fd) == crc)
        if found is not None:
            return found
    return []


def _debug_file(pid: int, candidate: str, creds: Credentials,
                matches: Any) -> list[tuple[int, int, int, str]] | None:
    try:
        fd = open_target_file(pid, candidate, MAX_ELF_BYTES, creds)
    except TargetFileError:
        return None
    try:
        with os.fdopen(os.dup(fd), "rb") as f:
            debug = _open_elf(f)
            if debug is None or not matches(debug, fd):
                return None
            return _functions(debug, f, ".symtab")
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

