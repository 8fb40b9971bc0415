"""User and kernel symbols for the live collector, per process.

- user addresses through bcc's per-process symbol cache, made with eager symbol loading so
  that names stay readable after the process exits; for the target process the cache is
  filled with every executable mapping as soon as it appears (and again after `dlopen` or
  `exec`), JIT maps (`/tmp/perf-PID.map`, which bcc reads itself) included;
- kernel addresses through bcc's kallsyms table, the frame's file naming the module
  (`[nf_tables]`, as perf names it) when /proc/kallsyms places the address in one;
- return addresses (every frame but the leaf) looked up at `addr - 1`, so that a call
  that ends a function is charged to the caller;
- an address without a symbol becomes `module+0xoffset` when bcc knows the module and
  `[unknown]` when not, never dropped.

The bcc module is handed in by the collector (`bcc_collector.py` is the one import site).
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes as ct
import os
import time
from collections.abc import Callable
from typing import Any

from collectors.live.base import process_alive
from collectors.live.batches import BatchAssembler
from collectors.profile import Frame, FrameKind

KERNEL_FILE = "[kernel.kallsyms]"
REFRESH_INTERVAL = 1.0
"""Least time between two re-reads of a process's modules prompted by unknown addresses."""
EVICT_INTERVAL = 10.0


class ProcessSymbols:
    """One process's symbols: bcc's symbol cache and ours, per address and per raw stack."""

    __slots__ = ("cache", "dead", "exec_ranges", "frames", "modules", "perf_map", "pid", "refreshed", "stacks")

    def __init__(self, bcc: Any, pid: int) -> None:
        self.pid = pid
        self.cache = bcc.libbcc.lib.bcc_symcache_new(pid, ct.byref(_eager_option(bcc)))
        self.frames: dict[int, int] = {}
        """Lookup address -> frame id."""
        self.stacks: dict[bytes, tuple[int, bool]] = {}
        """Raw record key (lengths and addresses) -> (stack id, stack error)."""
        self.modules: frozenset[str] | None = None
        """The executable mappings last loaded, for the target process."""
        self.refreshed = time.monotonic()
        self.exec_ranges: list[tuple[int, int]] = []
        """Executable mappings (files and anonymous) when last read, sorted."""
        self.perf_map = _perf_map_stamp(pid)
        self.dead = False

    def forget(self) -> None:
        self.frames.clear()
        self.stacks.clear()


def _eager_option(bcc: Any) -> Any:
    # Eager names: bcc's default reads a name from the file at first use, and for a process
    # in another mount namespace (a container) it reads through /proc/PID/root, which is
    # gone with the process.
    stt_func, stt_gnu_ifunc = 2, 10
    return bcc.libbcc.bcc_symbol_option(use_debug_file=1, check_debug_file_crc=1, lazy_symbolize=0,
                                        use_symbol_type=(1 << stt_func) | (1 << stt_gnu_ifunc))


def _perf_map_stamp(pid: int) -> tuple[int, int] | None:
    try:
        st = os.stat(f"/tmp/perf-{pid}.map")
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


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


def executable_ranges(pid: int) -> list[tuple[int, int]]:
    """(start, end) of every executable mapping of `pid`, file-backed or not, sorted."""
    out: list[tuple[int, int]] = []
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                span, perms = line.split(None, 2)[:2]
                if perms[2:3] == "x":
                    start, _, end = span.partition("-")
                    out.append((int(start, 16), int(end, 16)))
    except (OSError, ValueError):
        pass
    out.sort()
    return out


def _in_ranges(ranges: list[tuple[int, int]], addr: int) -> bool:
    i = bisect.bisect_right(ranges, (addr, 1 << 64)) - 1
    return i >= 0 and ranges[i][0] <= addr < ranges[i][1]


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

    def __init__(self, bcc: Any, assembler: BatchAssembler, modules: KernelModules | None = None) -> None:
        self.bcc = bcc
        self.lib = bcc.libbcc.lib
        self.asm = assembler
        self.processes: dict[int, ProcessSymbols] = {}
        self.kernel: dict[int, int] = {}
        self.modules = modules if modules is not None else KernelModules.read()
        self._symbol = bcc.libbcc.bcc_symbol()
        self._unknown = assembler.frame(Frame("[unknown]", None, None, None, FrameKind.UNKNOWN), False)
        self._last_evict = time.monotonic()

    def process(self, pid: int) -> ProcessSymbols:
        proc = self.processes.get(pid)
        if proc is None:
            proc = self.processes[pid] = ProcessSymbols(self.bcc, pid)
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
        name, module, offset = self._lookup(proc, addr)
        if name is None and module is None and self._maybe_refresh(proc, addr):
            name, module, offset = self._lookup(proc, addr)
        if name is not None:
            kind = FrameKind.JIT if module and _is_perf_map(module) else FrameKind.USER
            return self.asm.frame(Frame(name, module, None, None, kind))
        if module is not None and module.startswith("["):  # [vdso] and the like: one frame each
            return self.asm.frame(Frame(module, None, None, None, FrameKind.USER), False)
        if module is not None:
            base = module.rpartition("/")[2]
            return self.asm.frame(Frame(f"{base}+0x{offset:x}", module, None, None, FrameKind.USER), False)
        return self._unknown

    def _lookup(self, proc: ProcessSymbols, addr: int) -> tuple[str | None, str | None, int]:
        sym = self._symbol
        found = self.lib.bcc_symcache_resolve(proc.cache, addr, ct.byref(sym)) == 0
        module = ct.cast(sym.module, ct.c_char_p).value if sym.module else None
        module_text = module.decode("utf-8", "surrogateescape") if module else None
        if not found:
            return None, module_text, sym.offset
        raw = sym.demangle_name or sym.name
        name = raw.decode("utf-8", "replace") if raw else None
        self.lib.bcc_symbol_free_demangle_name(ct.byref(sym))
        return name, module_text, sym.offset

    def _maybe_refresh(self, proc: ProcessSymbols, addr: int) -> bool:
        """Re-read a live process's modules when an address bcc placed nowhere may be new code:
        in a mapping bcc has not seen (`dlopen`), or in anonymous code while the JIT map
        changed. At most once a second per process; a stray address (a broken frame-pointer
        chain, common without frame pointers) costs only a re-read of /proc/PID/maps."""
        now = time.monotonic()
        if now - proc.refreshed < REFRESH_INTERVAL or not process_alive(proc.pid):
            return False
        proc.refreshed = now
        if not _in_ranges(proc.exec_ranges, addr):
            proc.exec_ranges = executable_ranges(proc.pid)
            if not _in_ranges(proc.exec_ranges, addr):
                return False
        elif _perf_map_stamp(proc.pid) == proc.perf_map:
            return False
        proc.perf_map = _perf_map_stamp(proc.pid)
        self.lib.bcc_symcache_refresh(proc.cache)
        proc.forget()
        return True

    def load_modules(self, pid: int) -> None:
        """Load the symbols of every module `pid` has mapped now, if they changed since last time."""
        maps = executable_mappings(pid)
        if not maps:
            return
        proc = self.process(pid)
        modules = frozenset(maps)
        if modules == proc.modules:
            return
        if proc.modules is not None:
            self.lib.bcc_symcache_refresh(proc.cache)
        proc.refreshed = time.monotonic()
        proc.modules = modules
        proc.forget()  # addresses seen before may belong to a module only loaded now
        sym = self._symbol
        for start in maps.values():
            if self.lib.bcc_symcache_resolve(proc.cache, start, ct.byref(sym)) == 0:
                self.lib.bcc_symbol_free_demangle_name(ct.byref(sym))

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
                self.lib.bcc_free_symcache(proc.cache, pid)
                del self.processes[pid]
                evicted.append(pid)
            else:
                proc.dead = True
        return evicted

    def close(self) -> None:
        for pid, proc in self.processes.items():
            self.lib.bcc_free_symcache(proc.cache, pid)
        self.processes.clear()


def _is_perf_map(module: str) -> bool:
    base = module.rpartition("/")[2]
    return base.startswith("perf-") and base.endswith(".map")

