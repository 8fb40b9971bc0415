"""The eBPF collector: bcc, the software cpu-clock event on every CPU, stacks in a ring buffer.

The BPF program runs at F Hz on every CPU, keeps the target process (by tgid, so threads
that existed before are sampled too) and the processes it forks once sampling runs (a
`sched_process_fork` tracepoint adds them, as perf's inherited events do), drops idle, and
copies the user and kernel stacks (`bpf_get_stack`, up to 127 frames each) into one
ring-buffer record per sample, submitted without a wake-up. A worker thread wakes on a
timer only: it drains the ring, checks that the target lives and (every 2 s) looks for new
modules in one wake-up, every quarter of the time the ring takes to fill with full-size
records, at most 0.5 s (2 wake-ups a second at 99 Hz, 4 at 999 Hz on 2 CPUs; every 20 ms
in a launched command's first second, so that a command that exits at once is still seen
alive, and every 0.1 s for 2 s after a new child shows up, as more usually follow). It
resolves symbols as records arrive, because a process's symbols are gone with it:

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

This is the only module that imports bcc, and only when a collector starts.
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes as ct
import importlib.util
import os
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from collectors.live import offcpu
from collectors.live.base import (
    DEFAULT_FREQUENCY,
    MAX_DRAIN_INTERVAL,
    Collector,
    CollectorError,
    CommandIO,
    Target,
    check_pid,
    drain_interval,
    process_alive,
)
from collectors.live.batches import BatchAssembler
from collectors.live.command import HeldCommand
from collectors.profile import Frame, FrameKind

MAX_FRAMES = 127
PROGRAM_NAME = "bpfscope_sample"
"""The BPF program's name as `bpftool prog show` lists it."""
KERNEL_FILE = "[kernel.kallsyms]"

EARLY_DRAIN_INTERVAL = 0.02
EARLY_SECONDS = 1.0
MAPS_CHECK_INTERVAL = 2.0
"""How often the target's mappings are compared for new modules, after the first seconds."""
CHILD_DRAIN_INTERVAL = 0.1
CHILD_SECONDS = 2.0
"""After a new child of the target shows up, the ring is drained every 0.1 s for 2 s: a
program that starts one short child (`make`, a shell script) usually starts more, and a
child's modules can only be read while it lives."""
REFRESH_INTERVAL = 1.0
"""Least time between two re-reads of a process's modules prompted by unknown addresses."""
EVICT_INTERVAL = 10.0

# struct sample_t below: ts, pid, tid, cpu, pad, comm[16], klen, ulen, then the addresses;
# `pad` is the kind of record (0; off-CPU records, see offcpu.py, have 1).
_HEAD = struct.Struct("<QII4xI16s")
_LENS = struct.Struct("<ii")
_KEY_START = _HEAD.size
_IPS_START = _KEY_START + _LENS.size

BPF_TEXT = r"""
#include <uapi/linux/bpf_perf_event.h>

#define MAX_FRAMES __MAX_FRAMES__

struct sample_t {
    u64 ts;
    u32 pid;
    u32 tid;
    u32 cpu;
    u32 pad;
    char comm[16];
    s32 klen;
    s32 ulen;
    u64 ips[2 * MAX_FRAMES];
};

BPF_RINGBUF_OUTPUT(samples, __PAGES__);
/* config[0]: 0 = every process, 1 = the processes in `targets`;
   config[1]: 1 = processes forked by a target become targets (its children, as perf's inherit). */
BPF_ARRAY(config, u32, 2);
BPF_HASH(targets, u32, u8, 65536);
BPF_ARRAY(counters, u64, 1);
BPF_PERCPU_ARRAY(scratch, struct sample_t, 1);

TRACEPOINT_PROBE(sched, sched_process_fork) {
    u32 one = 1;
    u32 *follow = config.lookup(&one);
    if (!follow || !*follow)
        return 0;
    u32 parent = bpf_get_current_pid_tgid() >> 32;
    if (!targets.lookup(&parent))
        return 0;
    /* A new thread's id is added too (its process is already a target): harmless, and
       removed when the thread exits. */
    u32 child = args->child_pid;
    u8 yes = 1;
    targets.update(&child, &yes);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit) {
    u32 tid = (u32)bpf_get_current_pid_tgid();
    targets.delete(&tid);
    return 0;
}

int __NAME__(struct bpf_perf_event_data *ctx) {
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
    u32 tid = (u32)id;
    if (tid == 0)
        return 0;  /* idle */
    u32 zero = 0;
    u32 *mode = config.lookup(&zero);
    if (!mode || (*mode && !targets.lookup(&tgid)))
        return 0;
    struct sample_t *s = scratch.lookup(&zero);
    if (!s)
        return 0;
    s->ts = bpf_ktime_get_ns();
    s->pid = tgid;
    s->tid = tid;
    s->cpu = bpf_get_smp_processor_id();
    s->pad = 0;
    bpf_get_current_comm(&s->comm, sizeof(s->comm));
    long k = bpf_get_stack(ctx, s->ips, MAX_FRAMES * 8, 0);
    s->klen = k;
    u32 nk = k > 0 ? ((u32)k / 8) & 127 : 0;
    long u = bpf_get_stack(ctx, &s->ips[nk], MAX_FRAMES * 8, BPF_F_USER_STACK);
    s->ulen = u;
    u32 nu = u > 0 ? ((u32)u / 8) & 127 : 0;
    u32 size = offsetof(struct sample_t, ips) + (nk + nu) * 8;
    if (size > sizeof(struct sample_t))
        size = sizeof(struct sample_t);
    if (samples.ringbuf_output(s, size, BPF_RB_NO_WAKEUP) != 0)
        counters.increment(0);
    return 0;
}
"""


_FULL_RECORD = 8 + _IPS_START + 2 * MAX_FRAMES * 8
"""Ring bytes of a sample with two full stacks (the ring adds an 8-byte header)."""


def ring_pages(frequency: int, cpus: int) -> int:
    """Ring buffer pages for a second of full-size records on every CPU (a power of two)."""
    wanted = max(256, frequency * cpus * _FULL_RECORD // 4096)
    pages = 1 << (wanted - 1).bit_length()
    return min(pages, 16384)


def ring_seconds(frequency: int, cpus: int) -> float:
    """How long the ring takes to fill when every sample on every CPU is full-size (real
    stacks are mostly far shorter)."""
    return ring_pages(frequency, cpus) * 4096 / (frequency * cpus * _FULL_RECORD)


def program_text(frequency: int, cpus: int, off_cpu: bool = False) -> str:
    """The BPF program; with `off_cpu`, the off-CPU tracepoint too, and a larger ring."""
    pages = ring_pages(frequency, cpus)
    text = BPF_TEXT + offcpu.program_text(frequency) if off_cpu else BPF_TEXT
    return (text.replace("__MAX_FRAMES__", str(MAX_FRAMES))
            .replace("__PAGES__", str(offcpu.ring_pages(pages) if off_cpu else pages))
            .replace("__NAME__", PROGRAM_NAME))


def bcc_unavailable_reason() -> str | None:
    """Why the bcc collector cannot run here, with the fix; None when it should."""
    if os.geteuid() != 0:
        return "eBPF sampling with bcc needs root: run bpfscope with sudo"
    if importlib.util.find_spec("bcc") is None:
        return ("the bcc Python module is missing: install python3-bpfcc "
                "(and run `make setup` so bpfscope's venv can import it)")
    release = os.uname().release
    modules = Path("/lib/modules") / release
    if not ((modules / "build").exists() or (modules / "source").exists()
            or Path("/sys/kernel/kheaders.tar.xz").exists()):
        return (f"bcc needs the kernel headers of Linux {release}: install linux-headers-{release}, "
                "or run `make setup`, which links the nearest headers package in")
    return None


def _import_bcc() -> Any:
    try:
        import bcc
    except ImportError:
        raise CollectorError("the bcc Python module is missing: install python3-bpfcc "
                             "(and run `make setup` so the venv can import it)") from None
    return bcc


def _compile(bcc: Any, text: str) -> Any:
    """`BPF(text=...)` with clang's chatter on fd 2 kept off the terminal (shown only on failure)."""
    with tempfile.TemporaryFile() as log:
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            return bcc.BPF(text=text.encode())
        except Exception as e:
            os.dup2(saved, 2)
            log.seek(0)
            detail = _first_error(log.read().decode("utf-8", "replace")) or str(e)
            raise CollectorError(f"the kernel or bcc refused the BPF program ({detail}); "
                                 "check that the kernel headers match the running kernel") from None
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _first_error(log: str) -> str | None:
    """clang's first `file:line:col: error: ...` line, if any."""
    for line in log.splitlines():
        if ": error:" in line:
            return line.strip()[:300]
    return None


class _Process:
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


class _Symbolizer:
    """Turns raw records into stack ids in a `BatchAssembler`."""

    def __init__(self, bcc: Any, assembler: BatchAssembler, modules: KernelModules | None = None) -> None:
        self.bcc = bcc
        self.lib = bcc.libbcc.lib
        self.asm = assembler
        self.processes: dict[int, _Process] = {}
        self.kernel: dict[int, int] = {}
        self.modules = modules if modules is not None else KernelModules.read()
        self._symbol = bcc.libbcc.bcc_symbol()
        self._unknown = assembler.frame(Frame("[unknown]", None, None, None, FrameKind.UNKNOWN), False)
        self._last_evict = time.monotonic()

    def process(self, pid: int) -> _Process:
        proc = self.processes.get(pid)
        if proc is None:
            proc = self.processes[pid] = _Process(self.bcc, pid)
        return proc

    def stack(self, proc: _Process, key: bytes) -> tuple[int, bool]:
        """(stack id, whether a stack could not be read) for a record's key bytes."""
        klen, ulen = _LENS.unpack_from(key)
        nk = klen // 8 if klen > 0 else 0
        nu = ulen // 8 if ulen > 0 else 0
        ips = struct.unpack_from(f"<{nk + nu}Q", key, _LENS.size)
        # Every address but the leaf (the first: the kernel's when it is on top) is a return
        # address, looked up one byte back so that a call ending a function names its caller.
        lookup = [a - 1 for a in ips]
        if lookup:
            lookup[0] = ips[0]
        kernel = [self._kernel_frame(a) for a in lookup[:nk]]
        user = [self._user_frame(proc, a) for a in lookup[nk:]]
        user.reverse()
        kernel.reverse()
        sid = self.asm.stack(tuple(user + kernel), len(user))
        result = (sid, klen < 0 or ulen < 0)
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

    def _user_frame(self, proc: _Process, addr: int) -> int:
        fid = proc.frames.get(addr)
        if fid is None:
            fid = self._resolve_user(proc, addr)
            proc.frames[addr] = fid
        return fid

    def _resolve_user(self, proc: _Process, addr: int) -> int:
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

    def _lookup(self, proc: _Process, addr: int) -> tuple[str | None, str | None, int]:
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

    def _maybe_refresh(self, proc: _Process, addr: int) -> bool:
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

    def evict_dead(self) -> None:
        """Free the symbols of processes found gone twice in a row (their last samples are in)."""
        now = time.monotonic()
        if now - self._last_evict < EVICT_INTERVAL:
            return
        self._last_evict = now
        for pid, proc in list(self.processes.items()):
            if process_alive(pid):
                proc.dead = False
            elif proc.dead:
                self.lib.bcc_free_symcache(proc.cache, pid)
                del self.processes[pid]
            else:
                proc.dead = True

    def close(self) -> None:
        for pid, proc in self.processes.items():
            self.lib.bcc_free_symcache(proc.cache, pid)
        self.processes.clear()


def _is_perf_map(module: str) -> bool:
    base = module.rpartition("/")[2]
    return base.startswith("perf-") and base.endswith(".map")


class BccCollector(Collector):
    """Samples with eBPF through bcc (needs root, bcc and kernel headers)."""

    name = "bcc"

    def __init__(self, target: Target, frequency: int = DEFAULT_FREQUENCY, io: CommandIO | None = None,
                 off_cpu: bool = False) -> None:
        """`off_cpu`: record where the target waits too (see `offcpu.py`), all in seconds."""
        super().__init__(target, frequency, io)
        self.off_cpu = off_cpu
        self._bcc: Any = None
        self._bpf: Any = None
        self._counters: Any = None
        self._asm = BatchAssembler(off_cpu)
        self._symbols: _Symbolizer | None = None
        self._records: list[bytes] = []
        self._comms: dict[bytes, str] = {}
        self._stack_errors = 0
        self._halt = threading.Event()
        self._worker: threading.Thread | None = None
        self.compile_seconds = 0.0
        self.drain_interval = MAX_DRAIN_INTERVAL
        """Seconds between the worker's wake-ups once started (see `drain_interval`)."""
        self._pacer: offcpu.DrainPacer | None = None
        """With off-CPU time: shorter waits while records come fast."""
        self._children_until = 0.0
        """`time.monotonic()` until which new children are looked for often."""

    # --- start --------------------------------------------------------------------------

    def start(self) -> None:
        reason = bcc_unavailable_reason()
        if reason is not None:
            raise CollectorError(reason)
        if self.target.pid is not None:
            check_pid(self.target.pid)
        bcc = self._bcc = _import_bcc()
        cpus = len(bcc.utils.get_online_cpus())
        self.drain_interval = drain_interval(ring_seconds(self.frequency, cpus))
        if self.off_cpu:
            ring_bytes = offcpu.ring_pages(ring_pages(self.frequency, cpus)) * 4096
            self._pacer = offcpu.DrainPacer(ring_bytes, self.drain_interval)
        began = time.monotonic()
        self._bpf = _compile(bcc, program_text(self.frequency, cpus, self.off_cpu))
        self.compile_seconds = time.monotonic() - began
        try:
            # bcc reads the kernel's symbol table (about 15 MB, 0.1 s of CPU) at its first
            # lookup: done here, with the start-up costs, rather than at the first kernel
            # frame, which may come well into sampling.
            bcc.BPF.ksym(0)
            self._attach(bcc)
        except BaseException:
            self._release()
            raise

    def _attach(self, bcc: Any) -> None:
        b = self._bpf
        self._symbols = _Symbolizer(bcc, self._asm)
        if self.target.command:
            self._command = HeldCommand(self.target.command, self.io)
        pid = self.pid or 0
        if pid:
            b[b"targets"][ct.c_uint(pid)] = ct.c_ubyte(1)
        config = b[b"config"]
        config[ct.c_int(0)] = ct.c_uint(1 if pid else 0)
        config[ct.c_int(1)] = ct.c_uint(1 if pid else 0)
        self._counters = b[b"counters"]
        b[b"samples"].open_ring_buffer(self._on_record)
        self.start_ns = time.monotonic_ns()
        if self.off_cpu:
            offcpu.enable(b, self.start_ns)
        try:
            b.attach_perf_event(ev_type=bcc.PerfType.SOFTWARE, ev_config=bcc.PerfSWConfig.CPU_CLOCK,
                                fn_name=PROGRAM_NAME.encode(), sample_freq=self.frequency, cpu=-1)
        except Exception as e:
            raise CollectorError(f"the kernel refused the cpu-clock perf event at {self.frequency} Hz ({e}); "
                                 "try a lower -F (see /proc/sys/kernel/perf_event_max_sample_rate)") from None
        if pid and self._command is None:
            self._symbols.load_modules(pid)
        if self._command is not None:
            self._command.release()
        self._worker = threading.Thread(target=self._run, name="bpfscope-bcc", daemon=True)
        self._worker.start()

    # --- worker -------------------------------------------------------------------------

    def _on_record(self, ctx: Any, data: Any, size: int) -> int:
        self._records.append(ct.string_at(data, size))
        return 0

    def _run(self) -> None:
        # One timed wait per round and everything done in it (drain, liveness, new modules):
        # a wake-up costs about a millisecond whatever it does, so their number is the cost.
        began = time.monotonic()
        last_maps = 0.0
        try:
            while True:
                early = self._command is not None and time.monotonic() - began < EARLY_SECONDS
                wait = self._pacer.wait if self._pacer is not None else self.drain_interval
                if self._children_until and time.monotonic() < self._children_until:
                    wait = min(wait, CHILD_DRAIN_INTERVAL)
                if self._halt.wait(EARLY_DRAIN_INTERVAL if early else wait):
                    return
                self.wakeups += 1
                now = time.monotonic()
                pid = self.pid
                if pid and (early or now - last_maps >= MAPS_CHECK_INTERVAL) and self._symbols is not None:
                    last_maps = now
                    self._symbols.load_modules(pid)
                gone = self._target_gone()
                self._drain()
                if gone:
                    self._drain()  # anything submitted while we looked
                    self._finished.set()
                    return
                if self._symbols is not None:
                    self._symbols.evict_dead()
        except BaseException as e:  # reported to the owner, who stops us
            self.failure = e
            self._finished.set()

    def _target_gone(self) -> bool:
        if self._command is not None:
            if self._command.poll() is None:
                return False
            self.exit_note = self._command.describe_exit()
            return True
        if self.target.pid is not None and not process_alive(self.target.pid):
            self.exit_note = f"process {self.target.pid} exited"
            return True
        return False

    def _drain(self) -> None:
        """Consume the ring, resolve what came and queue it as one batch."""
        b, symbols = self._bpf, self._symbols
        if b is None or symbols is None:
            return
        b.ring_buffer_consume()
        records, self._records = self._records, []
        if self._pacer is not None:
            self._pacer.drained(sum(map(len, records)), time.monotonic())
        asm = self._asm
        start = self.start_ns
        head = _HEAD.unpack_from
        processes = symbols.processes
        comms = self._comms
        errors = 0
        for rec in records:
            ts, pid, tid, kind, raw_comm = head(rec)
            proc = processes.get(pid) or self._new_process(pid)
            if kind:
                key, off_seconds = offcpu.split_record(rec)
            else:
                key = rec[_KEY_START:]
            cached = proc.stacks.get(key)
            sid, error = cached if cached is not None else symbols.stack(proc, key)
            errors += error
            comm = comms.get(raw_comm)
            if comm is None:
                comm = comms[raw_comm] = raw_comm.split(b"\0", 1)[0].decode("utf-8", "replace")
            asm.thread(pid, tid, comm)
            if kind:
                asm.off_cpu_sample((ts - start) / 1e9, tid, sid, off_seconds)
            else:
                asm.sample((ts - start) / 1e9, tid, sid)
        self._stack_errors += errors
        lost = int(self._counters[ct.c_int(0)].value) if self._counters is not None else 0
        if self.off_cpu:
            lost += offcpu.lost(b)
        self._publish(asm.take(lost, self._stack_errors, force=lost != self.stats.lost))

    def _new_process(self, pid: int) -> _Process:
        assert self._symbols is not None
        if self.pid is not None and pid != self.pid:
            # A child of the target (a launched command like `make` runs many short ones):
            # its modules are read now, while it may still live.
            self._symbols.load_modules(pid)
            self._children_until = time.monotonic() + CHILD_SECONDS
        return self._symbols.process(pid)

    # --- stop ---------------------------------------------------------------------------

    def stop(self) -> None:
        if not self._claim_stop():
            return
        self._halt.set()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join()
        try:
            if self.failure is None:
                if self.off_cpu and self._bpf is not None:
                    self._end_off_cpu(self._bpf)
                self._drain()
        finally:
            self._release()
            self._publish(self._asm.take(self.stats.lost, self._stack_errors, force=True))
            self._finished.set()

    def _end_off_cpu(self, b: Any) -> None:
        """Stop recording switches and count the threads still switched out up to the stop."""
        offcpu.disable(b)
        b.ring_buffer_consume()
        self._records.extend(offcpu.pending_records(b, self.stop_ns))

    def describe(self) -> str:
        text = super().describe()
        return f"{text}, with off-CPU time" if self.off_cpu else text

    def _release(self) -> None:
        """Detach and unload everything (idempotent), end a launched command that still runs."""
        b, self._bpf = self._bpf, None
        self._counters = None
        try:
            if b is not None:
                b.cleanup()
        finally:
            if self._symbols is not None:
                self._symbols.close()
            if self._command is not None:
                if self._command.poll() is None and self._worker is None:
                    self._command.abandon()
                self._command.terminate()
