"""CFI unwinding in the kernel: whole user stacks without frame pointers.

User space turns each executable ELF file a target maps into unwind rows
(`cfi_tables.py`, built in a child process by `cfi_build.py`), keyed by the file's device,
inode, modification time and size, so that a library mapped by many processes is built and
loaded once; rows are cached on disk (a root-only directory) across sessions. All files'
rows live in one large BPF array; each process has a sorted list of its executable
mappings (start, end, load bias, its file's rows) in a BPF hash.

At each sample the BPF program starts from the thread's user registers
(`bpf_task_pt_regs`: the registers saved when it entered the kernel, for an interrupt in
user space as for a system call) and steps up the stack, one `bpf_loop` iteration a
frame: find the mapping of the address (return addresses one byte back, in their call),
binary-search its row, compute the CFA (rsp or rbp + offset, or the PLT's rule), read the
return address at CFA - 8 and the caller's rbp where the row says it was saved. Where no
row exists (JIT code, a file without CFI, an anonymous mapping) it takes a frame-pointer
step instead, so JIT frames found through perf maps still come. It stops at a row marking
the outermost frame (undefined return address: `_start`, `clone3`), at a zero return
address, at a failed read, and when the stack pointer would not move up (a loop in
hostile CFI): such a stack is cut there, counted, and the others are unaffected.

The per-sample cost stays in the kernel: no stack copies go to user space.
With off-CPU time the `sched_switch` program walks the same way when a target thread is
switched out (`offcpu.py`).
"""

from __future__ import annotations

import contextlib
import ctypes as ct
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collectors.live.target_files import TargetFileError, open_mapped_file
from collectors.live.unwind import cfi_build, cfi_tables
from collectors.live.unwind.base import Unwinder

MAX_ROWS = 1 << 21
"""Rows of all files together (32 MiB of BPF array): about 70 libcs."""
MAX_MAPPINGS = 256
"""Executable file mappings per process followed with CFI (more: frame pointers)."""
MAX_PROCESSES = 4096
BUILD_TIMEOUT = 120.0
"""Seconds one builder step (`BUILD_STEP` files) may take."""
BUILD_STEP = 4
"""Files built by one child process: tables are published after each step."""
DEFAULT_CACHE_DIR = Path("/var/cache/bpfscope/cfi")
CACHE_VERSION = b"bpfscope-cfi-1\n"

PROGRAM_TEXT = r"""
/* CFI unwinding: see collectors/live/unwind/cfi.py. */
#define CFI_MAX_ROWS __CFI_MAX_ROWS__
#define CFI_MAX_MAPPINGS __CFI_MAX_MAPPINGS__

struct cfi_row { u32 pc; s32 cfa_off; s16 rbp_off; u8 cfa; u8 rbp; };
struct cfi_mapping { u64 start; u64 end; u64 bias; u32 first; u32 count; };
struct cfi_process { u32 count; u32 pad; struct cfi_mapping maps[CFI_MAX_MAPPINGS]; };
struct cfi_walk { u64 pc; u64 sp; u64 bp; u32 tgid; u32 n; u32 ended; };
struct cfi_ips { u64 ips[MAX_FRAMES]; };

/* `x & mask` kept for the verifier even where the compiler knows the bound already. */
static __always_inline u32 cfi_masked(u32 x, u32 mask) {
    asm volatile("" : "+r"(x));
    return x & mask;
}

BPF_ARRAY(cfi_rows, struct cfi_row, CFI_MAX_ROWS);
BPF_F_TABLE("hash", u32, struct cfi_process, cfi_processes, __CFI_MAX_PROCESSES__, BPF_F_NO_PREALLOC);
BPF_PERCPU_ARRAY(cfi_buffer, struct cfi_ips, 1);
/* [0]: user stacks walked (samples, and switches with off-CPU time), [1]: of them, ended
   at a thread's outermost frame, [2]: cut short by a failed read or a bad rule. */
BPF_ARRAY(cfi_counters, u64, 3);

/* Binary searches without branches on the data (`c` is 1 when the key is below the
   probe): one path for the verifier whatever the tables hold. */
static __always_inline int cfi_find_row(struct cfi_walk *w, u64 pc, struct cfi_row *out) {
    struct cfi_process *p = cfi_processes.lookup(&w->tgid);
    if (!p)
        return 0;
    u32 len = p->count;
    if (len == 0 || len > CFI_MAX_MAPPINGS)
        return 0;
    u32 base = 0;
#pragma clang loop unroll(disable)
    for (int k = 0; k < 9; k++) {
        u32 half = len / 2;
        u64 start = p->maps[cfi_masked(base + half, CFI_MAX_MAPPINGS - 1)].start;
        u64 c = (pc - start) >> 63;  /* addresses are below 2^63 */
        base += half * (1 - c);
        len -= half;
    }
    struct cfi_mapping *m = &p->maps[cfi_masked(base, CFI_MAX_MAPPINGS - 1)];
    if (pc < m->start || pc >= m->end || m->count == 0 || pc < m->bias)
        return 0;
    u64 rel = pc - m->bias;
    if (rel >> 32)
        return 0;
    u32 first = m->first;
    len = m->count;
    base = 0;
#pragma clang loop unroll(disable)
    for (int k = 0; k < 22; k++) {
        u32 half = len / 2;
        u32 idx = first + base + half;
        struct cfi_row *r = cfi_rows.lookup(&idx);
        if (!r)
            return 0;
        u64 c = (rel - (u64)r->pc) >> 63;
        base += half * (1 - c);
        len -= half;
    }
    u32 idx = first + base;
    struct cfi_row *r = cfi_rows.lookup(&idx);
    if (!r || r->pc > rel)
        return 0;
    *out = *r;
    return 1;
}

static __always_inline long cfi_step(struct cfi_walk *w) {
    u32 zero = 0;
    struct cfi_ips *buf = cfi_buffer.lookup(&zero);
    if (!buf)
        return 1;
    u32 n = w->n;
    if (n >= MAX_FRAMES)
        return 1;
    buf->ips[n] = w->pc;
    w->n = n + 1;
    /* A return address is looked up one byte back: in its call, not after it. */
    struct cfi_row row = {};
    int found = cfi_find_row(w, n ? w->pc - 1 : w->pc, &row);
    u64 cfa, ra = 0, bp = w->bp;
    if (found && row.cfa == __CFA_END__) {
        w->ended = 1;
        return 1;
    }
    if (found && row.cfa == __CFA_RSP__) {
        cfa = w->sp + row.cfa_off;
    } else if (found && row.cfa == __CFA_RBP__) {
        cfa = w->bp + row.cfa_off;
    } else if (found && row.cfa == __CFA_PLT__) {
        cfa = w->sp + 8 + (((w->pc & 15) >= (u64)row.cfa_off) ? 8 : 0);
    } else {
        /* No row (JIT code, no CFI) or a rule not followed here: a frame-pointer step. */
        if (w->bp < w->sp || bpf_probe_read_user(&bp, 8, (void *)w->bp))
            return 1;
        cfa = w->bp + 16;
        row.rbp = __RBP_SAME__;
    }
    if (cfa <= w->sp)
        return 1;  /* the stack pointer must move towards the root: a loop, or a bad rule */
    if (bpf_probe_read_user(&ra, 8, (void *)(cfa - 8)))
        return 1;
    if (row.rbp == __RBP_SAVED__ && bpf_probe_read_user(&bp, 8, (void *)(cfa + row.rbp_off)))
        return 1;
    if (ra == 0) {
        w->ended = 1;  /* as a frame-pointer chain ends */
        return 1;
    }
    w->pc = ra;
    w->sp = cfa;
    w->bp = bp;
    return 0;
}

static __always_inline long unwind_user(void *ctx, u64 *ips) {
    struct task_struct *task = bpf_get_current_task_btf();
    struct pt_regs regs = {};
    if (bpf_probe_read_kernel(&regs, sizeof(regs), (void *)bpf_task_pt_regs(task)))
        return -14;
    if ((regs.cs & 3) != 3)
        return 0;  /* a kernel thread: no user stack */
    struct cfi_walk w = {};
    w.pc = regs.ip;
    w.sp = regs.sp;
    w.bp = regs.bp;
    w.tgid = bpf_get_current_pid_tgid() >> 32;
#pragma clang loop unroll(disable)
    for (int i = 0; i < MAX_FRAMES; i++) {
        if (cfi_step(&w))
            break;
    }
    cfi_counters.increment(0);
    if (w.ended)
        cfi_counters.increment(1);
    else if (w.n < MAX_FRAMES)
        cfi_counters.increment(2);
    u32 zero = 0;
    struct cfi_ips *buf = cfi_buffer.lookup(&zero);
    u32 n = w.n;
    if (n > MAX_FRAMES)
        n = MAX_FRAMES;
    u64 size = ((u64)n & 127) * 8;  /* MAX_FRAMES is 127: the verifier sees the bound */
    if (!buf || size == 0)
        return 0;
    if (bpf_probe_read_kernel(ips, size, buf->ips))
        return -14;
    return size;
}
"""


class _Mapping(ct.Structure):
    _fields_ = [("start", ct.c_uint64), ("end", ct.c_uint64), ("bias", ct.c_uint64),
                ("first", ct.c_uint32), ("count", ct.c_uint32)]


class _Process(ct.Structure):
    _fields_ = [("count", ct.c_uint32), ("pad", ct.c_uint32), ("maps", _Mapping * MAX_MAPPINGS)]


@dataclass(frozen=True, slots=True)
class FileTable:
    """One ELF file's rows, loaded at `first` in the BPF array."""

    first: int
    count: int
    segments: tuple[tuple[int, int, int], ...]
    """(file offset, file size, address) of its executable segments."""
    cfi_bytes: int

    def bias(self, start: int, offset: int) -> int | None:
        """What a mapping at `start` of the file at `offset` adds to the file's addresses."""
        for seg_offset, size, address in self.segments:
            # A segment is mapped from its page's start: lld puts them at offsets not page-aligned.
            if seg_offset & ~0xFFF <= offset < seg_offset + max(size, 1):
                return start - offset + seg_offset - address
        return None


_NO_TABLE = FileTable(0, 0, (), 0)

_FileKey = tuple[int, int, int, int]
"""(st_dev, st_ino, st_mtime_ns, st_size) of an ELF file."""


@dataclass(slots=True)
class BuildStats:
    """What building tables cost (for `make bench` and the README)."""

    files: int = 0
    failed: int = 0
    cached: int = 0
    rows: int = 0
    cfi_bytes: int = 0
    seconds: float = 0.0
    processes_over: int = 0
    """Processes left to frame pointers: more than MAX_PROCESSES at once (sampling every process)."""


class CfiUnwinder(Unwinder):
    """Unwinds with `.eh_frame`/`.debug_frame` in the kernel (see the module docstring)."""

    name = "CFI"
    off_cpu_function = "unwind_user"

    def __init__(self, cache_dir: Path | None = DEFAULT_CACHE_DIR, max_rows: int = MAX_ROWS) -> None:
        """`cache_dir`: where built rows are kept across sessions (None: not kept)."""
        self.cache_dir = cache_dir
        self.max_rows = max_rows
        self.stats = BuildStats()
        self._rows: Any = None
        self._processes: Any = None
        self._counters: Any = None
        self._next_row = 0
        self._tables: dict[_FileKey, FileTable] = {}
        self._building: set[_FileKey] = set()
        """Files whose tables the builder thread is making."""
        self._seen: dict[int, frozenset[tuple[int, int, int, str]]] = {}
        """Per process: its executable file mappings when last read."""
        self._spans: dict[int, dict[tuple[int, int, int], _FileKey]] = {}
        """Per process: (start, end, file offset) of each executable file mapping -> its file."""
        self._lock = threading.Condition()
        self._queue: queue.SimpleQueue[dict[_FileKey, int] | None] = queue.SimpleQueue()
        self._builder: threading.Thread | None = None
        self._closed = threading.Event()

    def program_text(self) -> str:
        consts = {
            "__CFI_MAX_ROWS__": self.max_rows, "__CFI_MAX_MAPPINGS__": MAX_MAPPINGS,
            "__CFI_MAX_PROCESSES__": MAX_PROCESSES, "__CFA_END__": cfi_tables.CFA_END,
            "__CFA_RSP__": cfi_tables.CFA_RSP, "__CFA_RBP__": cfi_tables.CFA_RBP,
            "__CFA_PLT__": cfi_tables.CFA_PLT, "__RBP_SAME__": cfi_tables.RBP_SAME,
            "__RBP_SAVED__": cfi_tables.RBP_SAVED,
        }
        text = PROGRAM_TEXT
        for name, value in consts.items():
            text = text.replace(name, str(value))
        return text

    def attach(self, bpf: Any) -> None:
        self._rows = bpf[b"cfi_rows"]
        self._processes = bpf[b"cfi_processes"]
        self._counters = bpf[b"cfi_counters"]
        self._builder = threading.Thread(target=self._build_loop, name="bpfscope-cfi", daemon=True)
        self._builder.start()

    def counters(self) -> tuple[int, int, int]:
        """(user stacks walked, ended at a thread's outermost frame, cut short)."""
        if self._counters is None:
            return (0, 0, 0)
        walked, ended, cut = (int(self._counters[ct.c_int(i)].value) for i in range(3))
        return walked, ended, cut

    # --- processes ----------------------------------------------------------------------

    def track(self, pid: int) -> None:
        """Read `pid`'s executable mappings and point the BPF side at their tables: known
        files at once, new ones when the builder thread has made them (their files are
        opened now, while the process lives, and built off this thread, which drains the
        ring and must see short-lived children in time)."""
        mappings = _file_mappings(pid)
        if not mappings or self._processes is None:
            return
        current = frozenset(mappings)
        if self._seen.get(pid) == current:
            return
        spans: dict[tuple[int, int, int], _FileKey] = {}
        new: dict[_FileKey, int] = {}
        for start, end, offset, path in mappings:
            try:
                fd = open_mapped_file(pid, start, end, path)
            except (TargetFileError, OSError):
                continue
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
            spans[(start, end, offset)] = key
            with self._lock:
                known = key in self._tables or key in self._building
            if known or key in new:
                os.close(fd)
            else:
                new[key] = fd
        with self._lock:
            self._seen[pid] = current
            self._spans[pid] = spans
            self._building.update(new)
            self._write_process(pid)
        if new:
            self._queue.put(new)

    def loaded(self, pid: int) -> bool:
        """`pid`'s mappings were read and the tables of all its files are in (or failed)."""
        with self._lock:
            spans = self._spans.get(pid)
            return spans is not None and self._building.isdisjoint(spans.values())

    def ready(self, timeout: float) -> bool:
        """Wait until the tables `track` asked for are built and loaded (at most `timeout`)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._building, timeout)

    def _write_process(self, pid: int) -> None:
        """Write `pid`'s sorted mapping list with the tables known now (lock held)."""
        if self._processes is None:
            return
        entry = _Process()
        n = 0
        for (start, end, offset), key in sorted(self._spans.get(pid, {}).items()):
            table = self._tables.get(key)
            if table is None or not table.count or n == MAX_MAPPINGS:
                continue
            bias = table.bias(start, offset)
            if bias is None or bias < 0:
                continue
            entry.maps[n] = _Mapping(start, end, bias, table.first, table.count)
            n += 1
        entry.count = n
        try:
            self._processes[ct.c_uint32(pid)] = entry
        except Exception:  # bcc's "Could not update table": the map is full (every process, `-a`)
            self.stats.processes_over += 1
            self._spans.pop(pid, None)

    def forget(self, pid: int) -> None:
        with self._lock:
            self._seen.pop(pid, None)
            self._spans.pop(pid, None)
            if self._processes is not None:
                with contextlib.suppress(KeyError):
                    del self._processes[ct.c_uint32(pid)]

    def close(self) -> None:
        self._closed.set()  # the builder stops after its current step
        with self._lock:
            self._rows = self._processes = self._counters = None
            self._seen.clear()
            self._spans.clear()
        self._queue.put(None)
        if self._builder is not None:
            self._builder.join(5.0)

    # --- tables -------------------------------------------------------------------------

    def _build_loop(self) -> None:
        """The builder thread: tables for the files `track` opened, then the processes using them."""
        while True:
            files = self._queue.get()
            if files is None:
                return
            if self._closed.is_set():  # sampling stopped: nothing more to build
                for fd in files.values():
                    os.close(fd)
                continue
            done: set[_FileKey] = set()
            try:
                for tables in self._build(files):
                    self._publish(tables)
                    done.update(tables)
                    if self._closed.is_set():
                        break
            except Exception:  # a bug of ours must not leave `ready` waiting
                self._publish({key: _NO_TABLE for key in files if key not in done})
            finally:
                for fd in files.values():
                    os.close(fd)

    def _publish(self, tables: dict[_FileKey, FileTable]) -> None:
        """Tables are in: point the processes that map their files at them."""
        with self._lock:
            self._tables.update(tables)
            self._building.difference_update(tables)
            for pid, spans in list(self._spans.items()):  # (a full map drops entries)
                if not tables.keys().isdisjoint(spans.values()):
                    self._write_process(pid)
            self._lock.notify_all()

    def _build(self, files: dict[_FileKey, int]) -> Iterator[dict[_FileKey, FileTable]]:
        """The tables of `files`, in steps: those in the cache, then the others a few at a
        time, smallest files first, each step in a child process of its own (its CPU limit
        and timeout are per step): a process mapping fifty libraries (sampling every process,
        a Python program with extension modules) gets its small files' tables in seconds,
        not after the last one, and a slow file costs only its step."""
        cached: dict[_FileKey, FileTable] = {}
        to_build: list[tuple[_FileKey, int]] = []
        for key, fd in files.items():
            data = self._cache_read(key)
            if data is not None:
                cached[key] = self._load(data)
                self.stats.cached += 1
            else:
                to_build.append((key, fd))
        if cached:
            yield cached
        to_build.sort(key=lambda item: item[0][3])  # by file size
        for at in range(0, len(to_build), BUILD_STEP):
            step = to_build[at:at + BUILD_STEP]
            began = time.monotonic()
            results = _run_builder(step)
            self.stats.seconds += time.monotonic() - began
            out: dict[_FileKey, FileTable] = {}
            for key, _fd in step:
                data = results.get(key)
                if data is not None:
                    self._cache_write(key, data)
                out[key] = self._load(data) if data is not None else _NO_TABLE
            yield out

    def _load(self, data: bytes) -> FileTable:
        """Put one built result's rows into the BPF array."""
        parsed = _parse_result(data)
        self.stats.files += 1
        if parsed is None:
            self.stats.failed += 1
            return _NO_TABLE
        segments, rows, cfi_bytes = parsed
        count = len(rows) // cfi_tables.ROW.size
        self.stats.cfi_bytes += cfi_bytes
        if count == 0 or self._rows is None or self._next_row + count > self.max_rows:
            return FileTable(0, 0, segments, cfi_bytes)
        first = self._next_row
        _write_rows(self._rows, first, rows)
        self._next_row += count
        self.stats.rows += count
        return FileTable(first, count, segments, cfi_bytes)

    def _cache_path(self, key: _FileKey) -> Path | None:
        if self.cache_dir is None:
            return None
        dev, ino, mtime, size = key
        return self.cache_dir / f"{dev:x}-{ino:x}-{mtime:x}-{size:x}.rows"

    def _cache_read(self, key: _FileKey) -> bytes | None:
        path = self._cache_path(key)
        if path is None or not _private_dir(path.parent):
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if not data.startswith(CACHE_VERSION):
            return None
        body = data[len(CACHE_VERSION):]
        return body if _parse_result(body) is not None else None

    def _cache_write(self, key: _FileKey, data: bytes) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _private_dir(path.parent):
                return
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(CACHE_VERSION + data)
            tmp.replace(path)
        except OSError:
            pass


def _private_dir(path: Path) -> bool:
    """Whether `path` is a directory only its owner (us) can write to."""
    try:
        st = path.stat()
    except OSError:
        return False
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _file_mappings(pid: int) -> list[tuple[int, int, int, str]]:
    """(start, end, file offset, path) of `pid`'s executable file mappings."""
    out = []
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[1][2:3] == "x" and parts[5].startswith("/"):
                    start, _, end = parts[0].partition("-")
                    out.append((int(start, 16), int(end, 16), int(parts[2], 16), parts[5].rstrip("\n")))
    except (OSError, ValueError):
        return []
    return out


def _run_builder(files: list[tuple[_FileKey, int]]) -> dict[_FileKey, bytes | None]:
    """Build the tables of open files in one child process (see `cfi_build.py`)."""
    fds = [fd for _key, fd in files]
    root = str(Path(__file__).resolve().parents[3])
    env = {"PYTHONPATH": root, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    try:
        proc = subprocess.run([sys.executable, "-m", "collectors.live.unwind.cfi_build", *map(str, fds)],
                              pass_fds=fds, capture_output=True, timeout=BUILD_TIMEOUT, env=env, check=False)
        out = proc.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
    except OSError:
        out = b""
    results: dict[_FileKey, bytes | None] = {}
    at = 0
    for key, _fd in files:
        end = _result_end(out, at)
        results[key] = out[at:end] if end is not None else None
        if end is None:
            break
        at = end
    return results


def _result_end(data: bytes, at: int) -> int | None:
    if len(data) < at + cfi_build.RESULT.size:
        return None
    _status, segments, rows, _size = cfi_build.RESULT.unpack_from(data, at)
    end = at + cfi_build.RESULT.size + segments * cfi_build.SEGMENT.size + rows * cfi_tables.ROW.size
    return end if end <= len(data) else None


def _parse_result(data: bytes) -> tuple[tuple[tuple[int, int, int], ...], bytes, int] | None:
    """(segments, packed rows, CFI bytes) of one built result; None for a failed build."""
    if _result_end(data, 0) != len(data):
        return None
    status, nseg, _rows, cfi_bytes = cfi_build.RESULT.unpack_from(data)
    if status != 0:
        return None
    at = cfi_build.RESULT.size
    segments = tuple(cfi_build.SEGMENT.unpack_from(data, at + i * cfi_build.SEGMENT.size) for i in range(nseg))
    return segments, data[at + nseg * cfi_build.SEGMENT.size:], cfi_bytes


def _write_rows(table: Any, first: int, rows: bytes) -> None:
    """Write packed rows at `first` in the BPF array, in batches where the kernel allows."""
    count = len(rows) // cfi_tables.ROW.size
    leaf = table.Leaf
    values = (leaf * count).from_buffer_copy(rows) if ct.sizeof(leaf) == cfi_tables.ROW.size else None
    keys = (table.Key * count)(*range(first, first + count))
    if values is None:
        raise RuntimeError("struct cfi_row does not match cfi_tables.ROW")
    try:
        table.items_update_batch(keys, values)
    except Exception:
        for i in range(count):
            table[keys[i]] = values[i]
