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
resolves symbols as records arrive (`symbols.py`), because a process's symbols are gone
with it. The record layout is in `records.py`; how user stacks are unwound (the piece of
the program that fills a record's user addresses) is an `Unwinder` (`unwind/`).

This is the only module that imports bcc, and only when a collector starts.
"""

from __future__ import annotations

import ctypes as ct
import functools
import importlib.util
import os
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
from collectors.live.records import FULL_RECORD, HEAD, KEY_START, MAX_FRAMES, SAMPLE_STRUCT, split_key
from collectors.live.symbols import ProcessSymbols, Symbolizer
from collectors.live.unwind.base import Unwinder
from collectors.live.unwind.cfi import CfiUnwinder
from collectors.live.unwind.frame_pointers import FramePointerUnwinder
from collectors.live.unwind.python import PythonUnwinder

PROGRAM_NAME = "bpfscope_sample"
"""The BPF program's name as `bpftool prog show` lists it."""

EARLY_DRAIN_INTERVAL = 0.02
EARLY_SECONDS = 1.0
MAPS_CHECK_INTERVAL = 2.0
"""How often the target's mappings are compared for new modules, after the first seconds."""
TABLES_TIMEOUT = 60.0
"""Longest wait at start for a PID target's unwind tables (later ones come while sampling)."""
CHILD_DRAIN_INTERVAL = 0.1
CHILD_SECONDS = 2.0
STOP_TIMEOUT = 10.0
"""Longest wait for the sampling thread to end its round when stopping."""
"""After a new child of the target shows up, the ring is drained every 0.1 s for 2 s: a
program that starts one short child (`make`, a shell script) usually starts more, and a
child's modules can only be read while it lives."""
BPF_TEXT = r"""
#include <uapi/linux/bpf_perf_event.h>

#define MAX_FRAMES __MAX_FRAMES__
__SAMPLE_STRUCT__
BPF_RINGBUF_OUTPUT(samples, __PAGES__);
/* config[0]: 0 = every process, 1 = the processes in `targets`;
   config[1]: 1 = processes forked by a target become targets (its children, as perf's inherit). */
BPF_ARRAY(config, u32, 2);
BPF_HASH(targets, u32, u8, 65536);
BPF_ARRAY(counters, u64, 1);
BPF_PERCPU_ARRAY(scratch, struct sample_t, 1);
__UNWINDER__
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
    long u = unwind_user(ctx, &s->ips[nk]);
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


def ring_pages(frequency: int, cpus: int) -> int:
    """Ring buffer pages for a second of full-size records on every CPU (a power of two)."""
    wanted = max(256, frequency * cpus * FULL_RECORD // 4096)
    pages = 1 << (wanted - 1).bit_length()
    return min(pages, 16384)


def ring_seconds(frequency: int, cpus: int) -> float:
    """How long the ring takes to fill when every sample on every CPU is full-size (real
    stacks are mostly far shorter)."""
    return ring_pages(frequency, cpus) * 4096 / (frequency * cpus * FULL_RECORD)


def program_text(frequency: int, cpus: int, off_cpu: bool = False, unwinder: Unwinder | None = None) -> str:
    """The BPF program, unwinding user stacks with `unwinder` (frame pointers by default);
    with `off_cpu`, the off-CPU tracepoint too, and a larger ring."""
    pages = ring_pages(frequency, cpus)
    unwinder = unwinder or FramePointerUnwinder()
    text = (BPF_TEXT + offcpu.program_text(frequency, unwinder.off_cpu_function, unwinder.off_cpu_extend)
            if off_cpu else BPF_TEXT)
    return (text.replace("__SAMPLE_STRUCT__", SAMPLE_STRUCT).replace("__UNWINDER__", unwinder.program_text())
            .replace("__MAX_FRAMES__", str(MAX_FRAMES))
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


def _load(bcc: Any, b: Any, extended: bool = False) -> None:
    """Load (verify) the sampling program now, with the start-up costs: the CFI unwinder's
    loops take the verifier a second or more, which must not delay the first sample;
    `extended`: the off-CPU extension's program too (`offcpu.attach_extension`)."""
    try:
        b.load_func(PROGRAM_NAME.encode(), bcc.BPF.PERF_EVENT)
        if extended:
            offcpu.attach_extension(b, bcc.BPF.TRACEPOINT)
    except Exception as e:
        raise CollectorError(f"the kernel refused the BPF program ({e}); "
                             "check that the kernel headers match the running kernel") from None


def _first_error(log: str) -> str | None:
    """clang's first `file:line:col: error: ...` line, if any."""
    for line in log.splitlines():
        if ": error:" in line:
            return line.strip()[:300]
    return None


class BccCollector(Collector):
    """Samples with eBPF through bcc (needs root, bcc and kernel headers)."""

    name = "bcc"

    def __init__(self, target: Target, frequency: int = DEFAULT_FREQUENCY, io: CommandIO | None = None,
                 off_cpu: bool = False, unwinder: Unwinder | None = None, python: bool = True) -> None:
        """`off_cpu`: record where the target waits too (see `offcpu.py`), all in seconds;
        `unwinder`: how user stacks are unwound (by default CFI, `.eh_frame`, for a target
        process, frame pointers for all processes); `python`: with the Python frames of
        CPython processes on top (`unwind/python.py`)."""
        super().__init__(target, frequency, io)
        self.off_cpu = off_cpu
        if unwinder is None:
            # CFI tables for the target and its children, or (sampling every process) for
            # each process from its first sample on: its first stacks follow frame pointers.
            unwinder = CfiUnwinder()
        self.unwinder: Unwinder = PythonUnwinder(unwinder) if python else unwinder
        self._bcc: Any = None
        self._bpf: Any = None
        self._counters: Any = None
        self._asm = BatchAssembler(off_cpu)
        self._symbols: Symbolizer | None = None
        self._records: list[bytes] = []
        self._comms: dict[bytes, str] = {}
        self._stack_errors = 0
        self._halt = threading.Event()
        self._halt_at = 0.0
        self._worker: threading.Thread | None = None
        self._abandoned = False
        """`stop()` gave up waiting for the worker, which releases everything when it ends."""
        self._release_lock = threading.Lock()
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
        self._bpf = _compile(bcc, program_text(self.frequency, cpus, self.off_cpu, self.unwinder))
        try:
            _load(bcc, self._bpf, self.off_cpu and self.unwinder.off_cpu_extend is not None)
            self.compile_seconds = time.monotonic() - began
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
        self._symbols = Symbolizer(bcc, self._asm)
        self._symbols.halted = self._stopping_long
        self.unwinder.attach(b)
        if self.target.command:
            self._command = HeldCommand(self.target.command, self.io, self.target.run_as)
        pid = self.pid or 0
        if pid:
            b[b"targets"][ct.c_uint(pid)] = ct.c_ubyte(1)
        config = b[b"config"]
        config[ct.c_int(0)] = ct.c_uint(1 if pid else 0)
        config[ct.c_int(1)] = ct.c_uint(1 if pid else 0)
        self._counters = b[b"counters"]
        if pid and self._command is None:
            # Its tables before the first sample (built once per file, then cached on disk).
            self.unwinder.track(pid)
            self.unwinder.ready(TABLES_TIMEOUT)
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
            self._load_modules(pid)
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
                if pid and self._symbols is not None and (early or now - last_maps >= MAPS_CHECK_INTERVAL
                                                          or self._symbols.execed(pid)):
                    last_maps = now
                    self._load_modules(pid)
                gone = self._target_gone()
                self._drain()
                if gone:
                    self._drain()  # anything submitted while we looked
                    self._finished.set()
                    return
                if self._symbols is not None:
                    for gone_pid in self._symbols.evict_dead():
                        self.unwinder.forget(gone_pid)
        except BaseException as e:  # reported to the owner, who stops us
            self.failure = e
            self._finished.set()
        finally:
            if self._abandoned:  # stop() gave up on us: nobody else will unload the program
                self._release()

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
        head = HEAD.unpack_from
        processes = symbols.processes
        user_stack = self.unwinder.user_stack
        thread_name = self.unwinder.thread_name
        comms = self._comms
        errors = 0
        stop = self.stop_ns or 1 << 63  # samples taken after `stop()` (before detaching) are not kept
        for rec in records:
            ts, pid, tid, kind, raw_comm = head(rec)
            if ts > stop:
                continue
            proc = processes.get(pid) or self._new_process(pid)
            if kind:
                key, off_seconds = offcpu.split_record(rec)
            else:
                key = rec[KEY_START:]
            cached = proc.stacks.get(key)
            if cached is None:
                raw = split_key(key)
                user = user_stack(pid, raw)
                rewrite = None if user.extra is None else functools.partial(self.unwinder.rewrite, pid, user, asm=asm)
                cached = symbols.stack(proc, key, raw.kernel, user.addresses, raw.error, rewrite)
            sid, error = cached
            errors += error
            comm = comms.get(raw_comm)
            if comm is None:
                comm = comms[raw_comm] = raw_comm.split(b"\0", 1)[0].decode("utf-8", "replace")
            named = thread_name(pid, tid)
            asm.thread(pid, tid, comm if named is None else f"{named} ({comm})")
            if kind:
                asm.off_cpu_sample((ts - start) / 1e9, tid, sid, off_seconds)
            else:
                asm.sample((ts - start) / 1e9, tid, sid)
        self._stack_errors += errors
        lost = int(self._counters[ct.c_int(0)].value) if self._counters is not None else 0
        if self.off_cpu:
            lost += offcpu.lost(b)
        self._publish(asm.take(lost, self._stack_errors, force=lost != self.stats.lost))

    def _new_process(self, pid: int) -> ProcessSymbols:
        assert self._symbols is not None
        if self.pid is not None and pid != self.pid:
            # A child of the target (a launched command like `make` runs many short ones):
            # its modules are read now, while it may still live.
            self._load_modules(pid)
            self._children_until = time.monotonic() + CHILD_SECONDS
        elif self.pid is None:
            # Sampling every process: the unwinder's tables for this one (built off this
            # thread, shared by file with the processes met before); later samples use them.
            self.unwinder.track(pid)
        return self._symbols.process(pid)

    def _load_modules(self, pid: int) -> None:
        """Read `pid`'s mappings for its symbols and for the unwinder."""
        assert self._symbols is not None
        self.unwinder.track(pid)  # first: it is quick, and the samples need it from the start
        self._symbols.load_modules(pid)

    # --- stop ---------------------------------------------------------------------------

    def stop(self) -> None:
        if not self._claim_stop():
            return
        self._halt_at = time.monotonic()
        self._halt.set()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(STOP_TIMEOUT)
            if self._worker.is_alive():
                self._abandon_stuck_worker()
                return
        try:
            if self.failure is None:
                if self.off_cpu and self._bpf is not None:
                    self._end_off_cpu(self._bpf)
                self._drain()
        finally:
            self._release()
            self._publish(self._asm.take(self.stats.lost, self._stack_errors, force=True))
            self._finished.set()

    def _stopping_long(self) -> bool:
        """Stopping for over half of `STOP_TIMEOUT`: load no more symbol files (the last
        samples are then named `module+0xoffset`) so that the worker still ends in time."""
        return self._halt.is_set() and time.monotonic() - self._halt_at > STOP_TIMEOUT / 2

    def _abandon_stuck_worker(self) -> None:
        """Stopping never waits forever: a worker still busy after `STOP_TIMEOUT` (it should
        never be: nothing it reads can block) is left behind with the BPF objects it uses
        (freed when bpfscope exits); the batches it queued are kept, a launched command ends."""
        self.failure = self.failure or CollectorError(
            f"the sampling thread did not stop within {STOP_TIMEOUT:g} s; the samples collected before are kept")
        self._abandoned = True
        if self._worker is not None and not self._worker.is_alive():
            self._release()  # it ended just now, maybe before it could see the flag
        try:
            if self._command is not None:
                self._command.terminate()
        finally:
            self._finished.set()

    def _end_off_cpu(self, b: Any) -> None:
        """Stop recording switches and count the threads still switched out up to the stop."""
        offcpu.disable(b)
        b.ring_buffer_consume()
        self._records.extend(offcpu.pending_records(b, self.stop_ns))

    def describe(self) -> str:
        text = super().describe()
        return f"{text}, with off-CPU time" if self.off_cpu else text

    def runtime(self) -> str | None:
        notes: dict[int, str] = getattr(self.unwinder, "notes", {})
        pid = self.pid
        return notes.get(pid) if pid is not None else None

    def _release(self) -> None:
        """Detach and unload everything (idempotent, from either thread), end a launched
        command that still runs."""
        with self._release_lock:
            self._release_locked()

    def _release_locked(self) -> None:
        b, self._bpf = self._bpf, None
        self._counters = None
        try:
            if b is not None:
                b.cleanup()
        finally:
            if self._symbols is not None:
                self._symbols.close()
            self.unwinder.close()
            if self._command is not None:
                if self._command.poll() is None and self._worker is None:
                    self._command.abandon()
                self._command.terminate()
