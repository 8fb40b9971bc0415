"""User and kernel symbols for the live collector, per process.

- user addresses through our own resolver, never bcc's symbol cache (which opened a
  target's perf map, ELF files and debug links itself: a symlink to a root-only file
  leaked into exports, a FIFO hung `record`, a sparse 64 GiB map ate memory): ELF symbol
  tables (`elf_symbols.py`) read through `target_files` from /proc/PID/map_files, cached per
  file and shared across processes; JIT code from `/tmp/perf-PID.map` (`perf_map.py`) in
  the target's root, bounded. For the target process every executable mapping is loaded as
  soon as it appears (and again after `dlopen` or `exec`), so names stay readable after the
  process exits;
- kernel addresses through bcc's kallsyms table (not something a target controls), the
  frame's file naming the module (`[nf_tables]`, as perf names it) when /proc/kallsyms
  places the address in one;
- return addresses (every frame but the leaf) looked up at `addr - 1`, so that a call
  that ends a function is charged to the caller;
- an address without a symbol becomes `module+0xoffset` when its module is known and
  `[unknown]` when not, never dropped.

The bcc module is handed in by the collector (`bcc_collector.py` is the one import site).
"""

from __future__ import annotations

import bisect
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collectors.live.base import process_alive
from collectors.live.batches import BatchAssembler
from collectors.live.elf_symbols import ElfCache, ElfSymbols
from collectors.live.perf_map import PerfMap
from collectors.live.target_files import Credentials, TargetFileError
from collectors.profile import Frame, FrameKind

KERNEL_FILE = "[kernel.kallsyms]"
REFRESH_INTERVAL = 1.0
"""Least time between two re-reads of a process's modules prompted by unknown addresses."""
EVICT_INTERVAL = 10.0


@dataclass(frozen=True, slots=True)
class Mapping:
    """An executable mapping of a process, as /proc/PID/maps lists it."""

    start: int
    end: int
    offset: int
    path: str
    """The file (without ` (deleted)`), `[vdso]`-like names, or "" for anonymous memory."""


class ProcessSymbols:
    """One process's user symbols: its mappings, their ELF tables, its perf map, and the
    frames and stacks already resolved."""

    __slots__ = ("creds", "dead", "elves", "exe", "frames", "mappings", "modules", "perf_map", "pid", "refreshed",
                 "stacks", "starts")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            self.creds: Credentials | None = Credentials.of(pid)
        except TargetFileError:
            self.creds = None  # gone already: no files are read for it
        self.frames: dict[int, int] = {}
        """Lookup address -> frame id."""
        self.stacks: dict[bytes, tuple[int, bool]] = {}
        """Raw record key (lengths and addresses) -> (stack id, stack error)."""
        self.modules: frozenset[str] | None = None
        """The executable file mappings last loaded."""
        self.refreshed = time.monotonic()
        self.mappings: list[Mapping] | None = None
        """Executable mappings (files and anonymous) when last read, sorted; None: not yet read."""
        self.starts: list[int] = []
        self.elves: dict[tuple[int, int, str], ElfSymbols | None] = {}
        self.perf_map = PerfMap(pid)
        self.dead = False
        self.exe = exe_identity(pid)
        """The program file's identity when the mappings were last read (`exe_identity`)."""

    def forget(self) -> None:
        self.frames.clear()
        self.stacks.clear()

    def set_mappings(self, mappings: list[Mapping]) -> None:
        self.mappings = mappings
        self.starts = [m.start for m in mappings]
        live = {(m.start, m.end, m.path) for m in mappings}
        for key in [k for k in self.elves if k not in live]:
            del self.elves[key]

    def mapping(self, addr: int) -> Mapping | None:
        assert self.mappings is not None
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0 and addr < self.mappings[i].end:
            return self.mappings[i]
        return None


def exe_identity(pid: int) -> tuple[int, int, int] | None:
    """(device, inode, change time) of the program `pid` runs, or None when gone: it changes
    with `exec`, which replaces every mapping. One stat of the kernel's own link (nothing of
    the target is opened or read), cheap enough for every drain."""
    try:
        st = os.stat(f"/proc/{pid}/exe")
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_ctime_ns


def read_mappings(pid: int) -> list[Mapping]:
    """Every executable mapping of `pid`, sorted (empty when it cannot be read)."""
    out: list[Mapping] = []
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                parts = line.rstrip("\n").split(None, 5)
                if len(parts) < 5 or parts[1][2:3] != "x":
                    continue
                start, _, end = parts[0].partition("-")
                path = parts[5] if len(parts) == 6 else ""
                out.append(Mapping(int(start, 16), int(end, 16), int(parts[2], 16), path.removesuffix(" (deleted)")))
    except (OSError, ValueError):
        pass
    out.sort(key=lambda m: m.start)
    return out


class KernelModules:
    """The kernel module a kernel address is in, from /proc/kallsyms, whose lines for module
    symbols end in a tab and `[module]` (`[bpf]` for BPF programs).

    An address belongs to the nearest text symbol below it (as for its name): it is in a
    module when that is a module's symbol, unless it lies in the kernel's own text
    (`_stext` to `_etext`), wherever modules are placed around it. Only module lines are
    parsed: a few on a VM, some thousands on a server, against 100,000 kernel symbols.
    """

    def __init__(self, kallsyms: bytes) -> None:
        entries: list[tuple[int, str]] = []
        start = kallsyms.find(b"\t[")
        start = kallsyms.rfind(b"\n", 0, start) + 1 if start >= 0 else len(kallsyms)
        # The kernel lists its own symbols first: module lines all come after the first one.
        for line in kallsyms[start:].splitlines():
            addr, _, rest = line.partition(b" ")
            if rest[:1] in (b"t", b"T", b"w", b"W") and rest.endswith(b"]"):
                module = rest[rest.rfind(b"[") + 1 : -1]
                if module:
                    with contextlib.suppress(ValueError):
                        entries.append((int(addr, 16), module.decode("utf-8", "replace")))
        entries.sort()
        self._starts = [a for a, _ in entries]
        self._modules = [m for _, m in entries]
        self._text = (_symbol_address(kallsyms, b"_stext"), _symbol_address(kallsyms, b"_etext"))

    @classmethod
    def read(cls) -> KernelModules:
        """The running kernel's (no modules when /proc/kallsyms cannot be read)."""
        try:
            with open("/proc/kallsyms", "rb") as f:
                return cls(f.read())
        except OSError:
            return cls(b"")

    def module(self, addr: int) -> str | None:
        """The module `addr` is in, or None for the kernel itself."""
        stext, etext = self._text
        if stext is not None and etext is not None and stext <= addr < etext:
            return None
        i = bisect.bisect_right(self._starts, addr) - 1
        return self._modules[i] if i >= 0 else None

    def file(self, addr: int) -> str:
        """The frame file for `addr`: `[module]`, or `[kernel.kallsyms]` as perf names the kernel."""
        module = self.module(addr)
        return KERNEL_FILE if module is None else f"[{module}]"


def _symbol_address(kallsyms: bytes, name: bytes) -> int | None:
    """The address of kernel symbol `name` in kallsyms text, if listed."""
    at = kallsyms.find(b" " + name + b"\n")
    if at < 0:
        return None
    begin = kallsyms.rfind(b"\n", 0, at) + 1
    try:
        return int(kallsyms[begin:at].partition(b" ")[0], 16)
    except ValueError:
        return None


def executable_mappings(pid: int) -> dict[str, int]:
    """The files mapped executable in `pid`: path -> start of its first executable range."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[1][2:3] == "x" and parts[5].startswith("/"):
                    path = parts[5].rstrip("\n")
                    if path not in out:
                        out[path] = int(parts[0].partition("-")[0], 16)
    except OSError:
        pass
    return out


class Symbolizer:
    """Turns raw records into stack ids in a `BatchAssembler`."""

    def __init__(self, bcc: Any, assembler: BatchAssembler, modules: KernelModules | None = None,
                 elves: ElfCache | None = None) -> None:
        self.bcc = bcc
        self.asm = assembler
        self.processes: dict[int, ProcessSymbols] = {}
        self.kernel: dict[int, int] = {}
        self.modules = modules if modules is not None else KernelModules.read()
        self.elves = elves if elves is not None else ElfCache()
        self._unknown = assembler.frame(Frame("[unknown]", None, None, None, FrameKind.UNKNOWN), False)
        self._last_evict = time.monotonic()
        self.halted: Callable[[], bool] = lambda: False
        """True once the collector is stopping: no new file is loaded then (a large ELF
        takes a while), its addresses are named `module+0xoffset`, so stopping stays prompt."""

    def process(self, pid: int) -> ProcessSymbols:
        proc = self.processes.get(pid)
        if proc is None:
            proc = self.processes[pid] = ProcessSymbols(pid)
        return proc

    def stack(self, proc: ProcessSymbols, key: bytes, kernel_ips: tuple[int, ...],
              user_ips: tuple[int, ...], error: bool,
              rewrite: Callable[[list[int]], list[int]] | None = None) -> tuple[int, bool]:
        """(stack id, `error`) for a record's stacks (leaf first), cached under its key bytes;
        `rewrite` turns the root-first user frame ids into those shown (the unwinder's)."""
        ips = kernel_ips + user_ips
        nk = len(kernel_ips)
        # Every address but the leaf (the first: the kernel's when it is on top) is a return
        # address, looked up one byte back so that a call ending a function names its caller.
        lookup = [a - 1 for a in ips]
        if lookup:
            lookup[0] = ips[0]
        kernel = [self._kernel_frame(a) for a in lookup[:nk]]
        user = [self._user_frame(proc, a) for a in lookup[nk:]]
        user.reverse()
        kernel.reverse()
        if rewrite is not None:
            user = rewrite(user)
        sid = self.asm.stack(tuple(user + kernel), len(user))
        result = (sid, error)
        proc.stacks[key] = result
        return result

    def _kernel_frame(self, addr: int) -> int:
        fid = self.kernel.get(addr)
        if fid is None:
            name = self.bcc.BPF.ksym(addr).decode("utf-8", "replace")
            resolved = name != "[unknown]"
            file = self.modules.file(addr)
            fid = self.asm.frame(Frame(name, file, None, None, FrameKind.KERNEL), resolved)
            self.kernel[addr] = fid
        return fid

    def _user_frame(self, proc: ProcessSymbols, addr: int) -> int:
        fid = proc.frames.get(addr)
        if fid is None:
            fid = self._resolve_user(proc, addr)
            proc.frames[addr] = fid
        return fid

    def _resolve_user(self, proc: ProcessSymbols, addr: int) -> int:
        if proc.mappings is None:  # a process first seen now (-a, or a short-lived child)
            self._read_maps(proc)
        name, module, offset, jit = self._lookup(proc, addr)
        if name is None and self._maybe_refresh(proc, addr, module):
            name, module, offset, jit = self._lookup(proc, addr)
        if name is not None:
            return self.asm.frame(Frame(name, module, None, None, FrameKind.JIT if jit else FrameKind.USER))
        if module is not None and module.startswith("["):  # [vdso] and the like: one frame each
            return self.asm.frame(Frame(module, None, None, None, FrameKind.USER), False)
        if module is not None:
            base = module.rpartition("/")[2]
            return self.asm.frame(Frame(f"{base}+0x{offset:x}", module, None, None, FrameKind.USER), False)
        return self._unknown

    def _lookup(self, proc: ProcessSymbols, addr: int) -> tuple[str | None, str | None, int, bool]:
        """(name, module, offset, is JIT) of `addr` in `proc`."""
        m = proc.mapping(addr)
        if m is not None and m.path.startswith("/"):
            elf = self._elf(proc, m)
            if elf is None:
                return None, m.path, addr - m.start + m.offset, False
            vaddr = elf.vaddr(addr, m.start, m.offset)
            if vaddr is None:
                return None, m.path, addr - m.start + m.offset, False
            return elf.lookup(vaddr), m.path, vaddr, False
        if m is not None and m.path:
            return None, m.path, 0, False
        found = proc.perf_map.lookup(addr)
        if found is not None:
            return found[0], proc.perf_map.path, found[1], True
        return None, None, 0, False

    def _elf(self, proc: ProcessSymbols, m: Mapping) -> ElfSymbols | None:
        key = (m.start, m.end, m.path)
        if key in proc.elves:
            return proc.elves[key]
        if self.halted():
            return None
        elf = None
        if proc.creds is not None:
            elf = self.elves.mapped(proc.pid, m.start, m.end, m.path, proc.creds)
        proc.elves[key] = elf
        return elf

    def _read_maps(self, proc: ProcessSymbols) -> None:
        proc.set_mappings(read_mappings(proc.pid))
        if proc.creds is not None and any(not m.path for m in proc.mappings or ()):
            proc.perf_map.update(proc.creds)  # anonymous code: a JIT's

    def _maybe_refresh(self, proc: ProcessSymbols, addr: int, module: str | None) -> bool:
        """Re-read a live process's mappings when an address has no symbol and may be new
        code: outside every mapping known (`dlopen`), or in anonymous code (a JIT's perf map
        grows). At most once a second per process; a stray address (a broken frame-pointer
        chain, common without frame pointers) costs only a re-read of /proc/PID/maps."""
        if module is not None and module.startswith("/"):
            return False
        now = time.monotonic()
        if now - proc.refreshed < REFRESH_INTERVAL and exe_identity(proc.pid) == proc.exe:
            return False  # (an exec since the last read is worth a re-read at once)
        if not process_alive(proc.pid):
            return False
        proc.refreshed = now
        if proc.mapping(addr) is None:
            self._read_maps(proc)
            if proc.mapping(addr) is None:
                return False
            proc.forget()
            return True
        if proc.creds is not None and proc.perf_map.update(proc.creds):
            proc.forget()
            return True
        return False

    def execed(self, pid: int) -> bool:
        """True when `pid` has run `exec` since its mappings were last read."""
        proc = self.processes.get(pid)
        return proc is not None and proc.modules is not None and exe_identity(pid) not in (proc.exe, None)

    def load_modules(self, pid: int) -> None:
        """Load the symbols of every module `pid` has mapped now, if they changed since last time."""
        exe = exe_identity(pid)
        mappings = read_mappings(pid)
        if not mappings:
            return
        proc = self.process(pid)
        proc.exe = exe
        modules = frozenset(m.path for m in mappings if m.path.startswith("/"))
        if modules == proc.modules:
            return
        proc.refreshed = time.monotonic()
        proc.modules = modules
        proc.set_mappings(mappings)
        proc.forget()  # addresses seen before may belong to a module only loaded now
        for m in mappings:
            if m.path.startswith("/"):
                self._elf(proc, m)
        if proc.creds is not None and any(not m.path for m in mappings):
            proc.perf_map.update(proc.creds)

    def evict_dead(self) -> list[int]:
        """Free the symbols of processes found gone twice in a row (their last samples are
        in); returns their ids."""
        now = time.monotonic()
        if now - self._last_evict < EVICT_INTERVAL:
            return []
        self._last_evict = now
        evicted = []
        for pid, proc in list(self.processes.items()):
            if process_alive(pid):
                proc.dead = False
            elif proc.dead:
                del self.processes[pid]
                evicted.append(pid)
            else:
                proc.dead = True
        return evicted

    def close(self) -> None:
        self.processes.clear()
