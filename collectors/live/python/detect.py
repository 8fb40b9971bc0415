"""Is this process a CPython interpreter, which version, and where is its runtime state?

The interpreter is either the executable itself (Debian's /usr/bin/python3.11, statically
linked with libpython) or a `libpythonX.Y.so` it maps (pyenv's shared builds). In that
file's ELF symbols (read through `target_files`, the file being the target's), `_PyRuntime`
gives the runtime state and `Py_Version` (3.11+) the exact version; before 3.11 the
version comes from the file's name (`libpython3.9.so.1.0`, `python3.10`). The load bias
comes from /proc/PID/maps. For 3.13+ the offsets are read from `_Py_DebugOffsets` in the
process (checked against the shipped table); before, from the table.

Python 3.9/3.10 keep only the pthread_t of a thread (`PyThreadState.thread_id`), which on
glibc is the address of its `struct pthread`, whose `tid` field we read in BPF to match
the sampled thread; the field's offset (720 on x86-64 glibc for many years) is checked
against the live threads when they can be read.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

from collectors.live.python.memory import ProcessMemory
from collectors.live.python.offsets import SUPPORTED, TABLE, PyOffsets, debug_offsets
from collectors.live.target_files import TargetFileError, open_mapped_file

GLIBC_PTHREAD_TID = 720
"""offsetof(struct pthread, tid) in x86-64 glibc (2.26 to 2.40 at least)."""

_NAME = re.compile(r"(?:^|/)(?:lib)?python(\d)\.(\d+)[a-z]*(?:\.so[.\d]*|-[^/]*)?$")
_MAX_ELF = 256 << 20


@dataclass(frozen=True, slots=True)
class PythonProcess:
    """A recognised CPython process: what the BPF walker and the code reader need."""

    pid: int
    version: tuple[int, int, int]
    """(major, minor, micro); micro is 0 when only the file name told the version."""
    path: str
    """The file that holds the interpreter (executable or libpython)."""
    runtime: int
    """Address of `_PyRuntime` in the process."""
    offsets: PyOffsets
    pthread_tid: int
    """Offset of `tid` in glibc's `struct pthread` (used before 3.11)."""

    def describe(self) -> str:
        major, minor, micro = self.version
        text = f"Python {major}.{minor}.{micro}" if micro else f"Python {major}.{minor}"
        return text


@dataclass(frozen=True, slots=True)
class NotSupported:
    """A CPython process bpfscope cannot walk (the reason says which version or what failed)."""

    pid: int
    reason: str


@dataclass(frozen=True, slots=True)
class _Mapping:
    start: int
    end: int
    offset: int
    path: str
    file_id: str = ""
    """`device inode` as /proc/PID/maps gives them."""


_FACTS_CACHE: dict[tuple[str, str], tuple[int, tuple[int, int, int] | None, int | None] | None] = {}
"""ELF facts per mapped file (path and identity): processes of one interpreter parse it once."""
_FACTS_CACHE_SIZE = 64


def _mappings(pid: int) -> list[_Mapping]:
    out: list[_Mapping] = []
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) < 6 or not parts[5].startswith("/"):
                    continue
                start, _, end = parts[0].partition("-")
                out.append(_Mapping(int(start, 16), int(end, 16), int(parts[2], 16), parts[5].rstrip("\n"),
                                    f"{parts[3]} {parts[4]}"))
    except (OSError, ValueError):
        return []
    return out


def interpreter_file(maps: list[_Mapping]) -> str | None:
    """The path of the file that holds the interpreter: a mapped libpython, else a mapped
    file named like a Python executable."""
    candidates = [m.path for m in maps if _NAME.search(m.path) or m.path.rsplit("/", 1)[-1].startswith("python")]
    for path in candidates:
        if "/libpython" in path:
            return path
    return candidates[0] if candidates else None


def interpreter_key(pid: int) -> tuple[str, int] | None:
    """(the interpreter file, where it is mapped) of `pid`, None when it maps none: what
    changes when a process execs into another interpreter or out of Python."""
    maps = _mappings(pid)
    path = interpreter_file(maps)
    if path is None:
        return None
    return path, min(m.start for m in maps if m.path == path)


def version_from_name(path: str) -> tuple[int, int] | None:
    m = _NAME.search(path)
    return (int(m.group(1)), int(m.group(2))) if m else None


def detect(pid: int) -> PythonProcess | NotSupported | None:
    """What `pid` is, Python-wise: None when it does not run CPython at all."""
    maps = _mappings(pid)
    path = interpreter_file(maps)
    if path is None:
        return None
    own = [m for m in maps if m.path == path]
    cache_key = (path, own[0].file_id)
    if cache_key in _FACTS_CACHE:
        symbols = _FACTS_CACHE[cache_key]
    else:
        try:
            symbols = _elf_facts(pid, own[0], path)
        except (TargetFileError, OSError) as e:
            return NotSupported(pid, f"the Python interpreter file cannot be read ({e}): native frames only")
        if len(_FACTS_CACHE) >= _FACTS_CACHE_SIZE:
            _FACTS_CACHE.clear()
        _FACTS_CACHE[cache_key] = symbols
    if symbols is None:
        return None
    runtime_vaddr, version, load_vaddr = symbols
    if version is None:
        named = version_from_name(path)
        if named is None:
            return NotSupported(pid, f"the Python version of {path} is unknown: native frames only")
        version = (named[0], named[1], 0)
    if version[:2] not in TABLE:
        lo, hi = SUPPORTED[0], SUPPORTED[-1]
        return NotSupported(pid, f"Python {version[0]}.{version[1]} is not supported "
                                 f"(only {lo[0]}.{lo[1]} to {hi[0]}.{hi[1]}): native frames only")
    bias = 0 if load_vaddr is None else min(m.start - m.offset for m in own) - load_vaddr
    runtime = runtime_vaddr + bias
    offsets = TABLE[version[:2]]
    with ProcessMemory(pid) as mem:
        if version[:2] >= (3, 13):
            data = mem.read(runtime, 1024)
            described = debug_offsets(data, offsets) if data is not None else None
            if described is None:
                return NotSupported(pid, f"Python {version[0]}.{version[1]} without readable "
                                         "_Py_DebugOffsets: native frames only")
            offsets = described
        pthread_tid = _pthread_tid_offset(pid, mem, runtime, offsets)
    return PythonProcess(pid, version, path, runtime, offsets, pthread_tid)


def _elf_facts(pid: int, first: _Mapping,
               path: str) -> tuple[int, tuple[int, int, int] | None, int | None] | None:
    """(`_PyRuntime`'s address, the version from `Py_Version` if present, the lowest
    PT_LOAD address less its file offset, None for a fixed-address executable) from the
    file, or None when it has no `_PyRuntime`."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    fd = open_mapped_file(pid, first.start, first.end, path, _MAX_ELF)
    with os.fdopen(fd, "rb") as f:
        try:
            elf = ELFFile(f)
            runtime = _symbol(elf, "_PyRuntime")
            if runtime is None:
                return None
            loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            load_vaddr = min((s["p_vaddr"] - s["p_offset"] for s in loads), default=0)
            if elf["e_type"] == "ET_EXEC":
                return _facts(elf, f, loads, runtime, None)
            return _facts(elf, f, loads, runtime, load_vaddr)
        except (ELFError, struct.error, ValueError, KeyError, AttributeError, IndexError, OSError):
            return None


def _facts(elf: Any, f: BinaryIO, loads: list[Any], runtime: int,
           load_vaddr: int | None) -> tuple[int, tuple[int, int, int] | None, int | None]:
    version = None
    hexversion = _symbol(elf, "Py_Version")
    if hexversion is not None:
        raw = _read_vaddr(f, loads, hexversion, 4)
        if raw is not None:
            value = struct.unpack("<I", raw)[0]
            version = (value >> 24, (value >> 16) & 0xFF, (value >> 8) & 0xFF)
    return runtime, version, load_vaddr


def _symbol(elf: Any, name: str) -> int | None:
    for section_name in (".dynsym", ".symtab"):
        section = elf.get_section_by_name(section_name)
        if section is None or not hasattr(section, "get_symbol_by_name"):
            continue
        found = section.get_symbol_by_name(name)
        if found:
            value = int(found[0]["st_value"])
            if value:
                return value
    return None


def _read_vaddr(f: BinaryIO, loads: list[Any], vaddr: int, size: int) -> bytes | None:
    for seg in loads:
        if seg["p_vaddr"] <= vaddr and vaddr + size <= seg["p_vaddr"] + seg["p_filesz"]:
            f.seek(seg["p_offset"] + vaddr - seg["p_vaddr"])
            data = f.read(size)
            return data if len(data) == size else None
    return None


def thread_states(mem: ProcessMemory, runtime: int, offsets: PyOffsets, limit: int = 256) -> list[int]:
    """Addresses of the main interpreter's thread states, newest first (empty before the
    interpreter is initialised)."""
    interp = mem.u64(runtime + offsets.runtime_interpreters_head)
    out: list[int] = []
    if not interp:
        return out
    ts = mem.u64(interp + offsets.interp_tstate_head)
    while ts and len(out) < limit and ts not in out:
        out.append(ts)
        ts = mem.u64(ts + offsets.tstate_next)
    return out


def _pthread_tid_offset(pid: int, mem: ProcessMemory, runtime: int, offsets: PyOffsets) -> int:
    """Where `tid` is in this process's `struct pthread` (only needed before 3.11): the
    glibc offset when a thread state's pthread holds a live tid there, else the first offset
    that does so for every thread state, else the glibc offset."""
    if offsets.tstate_native_thread_id >= 0:
        return GLIBC_PTHREAD_TID
    tids: set[int] = set()
    with contextlib.suppress(OSError, ValueError):
        tids = {int(t) for t in os.listdir(f"/proc/{pid}/task")}
    blocks: list[bytes] = []
    for ts in thread_states(mem, runtime, offsets, 32):
        pthread = mem.u64(ts + offsets.tstate_thread_id)
        block = mem.read(pthread, 2048) if pthread else None
        if block is not None:
            blocks.append(block)
    if not blocks or not tids:
        return GLIBC_PTHREAD_TID

    def holds_tid(at: int) -> bool:
        return all(struct.unpack_from("<i", b, at)[0] in tids for b in blocks)

    if holds_tid(GLIBC_PTHREAD_TID):
        return GLIBC_PTHREAD_TID
    return next((at for at in range(0, 2048 - 4, 4) if holds_tid(at)), GLIBC_PTHREAD_TID)
