"""Off-CPU time (`--off-cpu`): records, batches and profiles without root; then the real
sched_switch program on a C program that computes in `spin()` and sleeps in `nap()` (root and
eBPF: runs in CI, fails rather than skips)."""

from __future__ import annotations

import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collectors.formats.detect import load_profile
from collectors.live import choose, offcpu
from collectors.live.base import Collector, CollectorError, Target
from collectors.live.batches import BatchAssembler, OffCpuBatch, ProfileBuilder
from collectors.live.bcc_collector import BccCollector
from collectors.live.unwind.base import Unwinder
from collectors.live.unwind.cfi import CfiUnwinder
from collectors.live.unwind.frame_pointers import FramePointerUnwinder
from collectors.profile import OFF_CPU, ON_CPU, Frame, FrameKind, Profile, ProfileGroup, Unit, merge_profiles
from tests.test_collectors.live.conftest import require_bcc, start_workload
from tests.test_collectors.live.helpers import our_programs
from tests.test_collectors.live.workloads import build
from tui.live import LiveRun, status_text

ROOT = Path(__file__).resolve().parents[3]

SPIN_NAP = r"""
/* One thread: computes in spin() for 10 ms, sleeps in nap() for 10 ms, for argv[1] seconds;
   on SIGUSR1 it prints the seconds it has spent in nap() so far. nap() makes the system call
   itself, so that it is the user stack's leaf (libc's wrapper has no frame pointer and would
   hide its caller). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static volatile unsigned long sink;
static volatile sig_atomic_t report;
static double asleep;

static void on_usr1(int sig) {
    (void)sig;
    report = 1;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((noinline)) void spin(double secs) {
    volatile unsigned long acc = 0;
    double end = now() + secs;
    while (now() < end)
        for (int i = 0; i < 1000; i++)
            acc += i;
    sink += acc;
}

__attribute__((noinline)) void nap(double secs) {
    struct timespec t = {0, (long)(secs * 1e9)};
    double began = now();
#if defined(__x86_64__)
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_nanosleep), "D"(&t), "S"(0L)
                     : "rcx", "r11", "memory");
    (void)ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = SYS_nanosleep;
    register long x0 __asm__("x0") = (long)&t;
    register long x1 __asm__("x1") = 0;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
#else
    nanosleep(&t, NULL);
#endif
    asleep += now() - began;
}

int main(int argc, char **argv) {
    double end = now() + (argc > 1 ? atof(argv[1]) : 5.0);
    signal(SIGUSR1, on_usr1);
    puts("ready");
    fflush(stdout);
    while (now() < end) {
        spin(0.01);
        nap(0.01);
        if (report) {
            report = 0;
            printf("%.6f\n", asleep);
            fflush(stdout);
        }
    }
    return 0;
}
"""

PING_PONG = r"""
/* Two threads pass a byte back and forth through pipes, for argv[1] seconds: tens of
   thousands of short waits a second each; with argv[2], both run on that CPU only. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int ab[2], ba[2];

static void *echo(void *arg) {
    char c;
    (void)arg;
    while (read(ab[0], &c, 1) == 1)
        if (write(ba[1], &c, 1) != 1)
            break;
    return NULL;
}

int main(int argc, char **argv) {
    pthread_t t;
    char c = 'x';
    if (argc > 2) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(atoi(argv[2]), &one);
        if (sched_setaffinity(0, sizeof one, &one))  /* before the thread: it inherits it */
            return 1;
    }
    if (pipe(ab) || pipe(ba))
        return 1;
    pthread_create(&t, NULL, echo, NULL);
    alarm(argc > 1 ? atoi(argv[1]) : 10);
    puts("ready");
    fflush(stdout);
    while (write(ab[1], &c, 1) == 1 && read(ba[0], &c, 1) == 1)
        ;
    return 0;
}
"""

# --- records, batches and profiles (no root) -------------------------------------------


def _record(ts: int, pid: int, tid: int, kernel: list[int], user: list[int], off_ns: int | None) -> bytes:
    """A ring-buffer record as the BPF programs write it (off-CPU when `off_ns` is given)."""
    head = struct.pack("<QIIII16s", ts, pid, tid, 0, 0 if off_ns is None else offcpu.OFF_CPU_KIND, b"app")
    ips = struct.pack(f"<ii{len(kernel) + len(user)}Q", len(kernel) * 8, len(user) * 8, *kernel, *user)
    return head + ips + (b"" if off_ns is None else struct.pack("<Q", off_ns))


def test_off_cpu_record_splits_like_an_on_cpu_one() -> None:
    """An off-CPU record's stack key is what the same stack's on-CPU record has, and its
    duration comes out in seconds."""
    off = _record(5, 10, 11, [0xFFFF1, 0xFFFF2], [0x401000], 2_500_000)
    on = _record(5, 10, 11, [0xFFFF1, 0xFFFF2], [0x401000], None)
    key, seconds = offcpu.split_record(off)
    assert key == on[offcpu._KEY_START:]
    assert seconds == pytest.approx(0.0025)


def _entry(record: bytes, total: int, cur_ts: int, cur_kernel: list[int], cur_user: list[int]) -> bytes:
    """A map entry: `record` (its duration left out) padded to every address slot, then the
    pending nanoseconds and the current wait."""
    head = record[:-8].ljust(offcpu._ENTRY_TAIL_START, b"\0")
    tail = struct.pack("<QQii", total, cur_ts, len(cur_kernel) * 8, len(cur_user) * 8)
    return head + tail + struct.pack(f"<{len(cur_kernel) + len(cur_user)}Q", *cur_kernel, *cur_user)


def test_map_entry_gives_its_pending_record_and_its_current_wait() -> None:
    """At the stop, an entry yields its pending record as sent, and its current wait (its own
    stacks) cut at the stop time."""
    pending = _record(7, 10, 11, [0xA], [0xB, 0xC], 123)
    entry = _entry(pending, 123, 900, [0xD], [0xE])
    current = _record(900, 10, 11, [0xD], [0xE], 1000 - 900)
    assert offcpu.entry_records(entry, 1000) == [pending, current]


def test_map_entry_of_a_running_thread_gives_only_its_pending_record() -> None:
    """A thread not waiting (current wait's start 0), or whose wait began after the stop, adds no wait."""
    pending = _record(7, 10, 11, [0xA], [0xB], 50)
    assert offcpu.entry_records(_entry(pending, 50, 0, [], []), 1000) == [pending]
    assert offcpu.entry_records(_entry(pending, 0, 2000, [0xD], []), 1000) == []


def test_entry_layout_matches_the_collector(tmp_path: Path) -> None:
    """The offsets the Python side reads a map entry at are where a C compiler puts the fields of the
    BPF program's own `struct offcpu_t` (compiled by gcc at the collector's MAX_FRAMES)."""
    from collectors.live.records import MAX_FRAMES

    match = re.search(r"struct offcpu_t \{.*?\n\};", offcpu.BPF_TEXT, re.S)
    assert match is not None
    source = tmp_path / "layout.c"
    source.write_text(
        "#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n"
        "typedef uint64_t u64; typedef uint32_t u32; typedef int32_t s32;\n"
        f"#define MAX_FRAMES {MAX_FRAMES}\n{match.group(0)}\n"
        "int main(void) { printf(\"%zu %zu %zu %zu %zu %zu\\n\", offsetof(struct offcpu_t, klen),"
        " offsetof(struct offcpu_t, ips), offsetof(struct offcpu_t, total), offsetof(struct offcpu_t, cur_klen),"
        " offsetof(struct offcpu_t, cur_ips),"
        " sizeof(struct offcpu_t)); return 0; }\n")
    subprocess.run(["gcc", "-o", str(tmp_path / "layout"), str(source)], check=True, timeout=60)
    got = subprocess.run([str(tmp_path / "layout")], capture_output=True, text=True, check=True, timeout=10)
    klen, ips, total, cur_klen, cur_ips, size = map(int, got.stdout.split())
    tail = offcpu._ENTRY_TAIL_START
    assert (offcpu._KEY_START, offcpu._IPS_START, tail, offcpu._CUR_IPS_START) == (klen, ips, total, cur_ips)
    assert offcpu._ENTRY_TAIL.unpack_from(bytes(i % 251 for i in range(tail + 24)), tail)[2:] == struct.unpack_from(
        "<ii", bytes(i % 251 for i in range(tail + 24)), cur_klen)
    assert size == offcpu._CUR_IPS_START + 2 * MAX_FRAMES * 8
    pending = _record(7, 10, 11, [0xA] * MAX_FRAMES, [0xB] * MAX_FRAMES, 5)
    assert len(pending) == total  # a full record with its duration fills the entry's record exactly


def _stack(asm: BatchAssembler, *names: str) -> int:
    return asm.stack(tuple(asm.frame(Frame(n, None, None, None, FrameKind.USER)) for n in names), len(names))


def _on_off_group(frequency: int = 100) -> ProfileGroup:
    asm = BatchAssembler(off_cpu=True)
    spin, nap = _stack(asm, "main", "spin"), _stack(asm, "main", "nap")
    asm.thread(10, 10, "app")
    asm.sample(0.0, 10, spin)
    asm.sample(0.01, 10, spin)
    asm.off_cpu_sample(0.02, 10, nap, 0.5)
    batch = asm.take()
    assert isinstance(batch, OffCpuBatch)
    builder = ProfileBuilder("app", frequency, off_cpu=True)
    builder.apply(batch)
    return builder.finish()


def test_off_cpu_builder_makes_two_profiles_per_thread_in_seconds() -> None:
    """A thread gets `… on-CPU` (1/F s per sample) and `… off-CPU` (its waits) profiles, in seconds,
    with their time kinds and times."""
    group = _on_off_group(100)
    on, off = group.profiles
    assert (on.name, off.name) == ("app pid: 10 tid: 10 on-CPU", "app pid: 10 tid: 10 off-CPU")
    assert (on.time_kind, off.time_kind) == (ON_CPU, OFF_CPU)
    assert on.unit == off.unit == Unit.SECONDS
    assert list(on.weights) == pytest.approx([0.01, 0.01])
    assert list(off.weights) == [0.5]
    assert off.times is not None and list(off.times) == [0.02]
    assert (off.pid, off.tid, off.sample_period) == (10, 10, None)


def test_all_threads_merged_add_on_and_off_cpu_time() -> None:
    """Merged, the thread's time is on-CPU plus off-CPU: its wall time."""
    assert merge_profiles(_on_off_group(100)).total_weight() == pytest.approx(0.52)


def test_finish_leaves_out_threads_that_never_waited() -> None:
    """A thread with on-CPU samples only keeps one profile; the busiest on-CPU one is shown first."""
    asm = BatchAssembler(off_cpu=True)
    spin, nap = _stack(asm, "main", "spin"), _stack(asm, "main", "nap")
    asm.thread(10, 10, "idle")
    asm.off_cpu_sample(0.0, 10, nap, 9.0)
    asm.thread(10, 11, "busy")
    asm.sample(0.0, 11, spin)
    batch = asm.take()
    assert batch is not None
    builder = ProfileBuilder("app", 99, off_cpu=True)
    builder.apply(batch)
    group = builder.finish()
    assert sorted(p.name for p in group.profiles) == ["busy pid: 10 tid: 11 on-CPU", "idle pid: 10 tid: 10 off-CPU"]
    assert group.profiles[group.active_index].name == "busy pid: 10 tid: 11 on-CPU"


def test_without_off_cpu_batches_and_profiles_are_unchanged() -> None:
    """Without off-CPU time, batches are plain and profiles count samples, with no time kind."""
    asm = BatchAssembler()
    asm.thread(10, 10, "app")
    asm.sample(0.0, 10, _stack(asm, "main"))
    batch = asm.take()
    assert batch is not None and not isinstance(batch, OffCpuBatch)
    builder = ProfileBuilder("app", 99)
    builder.apply(batch)
    (profile,) = builder.finish().profiles
    assert (profile.name, profile.unit, profile.time_kind) == ("app pid: 10 tid: 10", Unit.NONE, None)
    assert list(profile.weights) == [1.0]


class _Replay(Collector):
    """A collector that hands out prepared batches (and says it records off-CPU time)."""

    name = "replay"
    off_cpu = True

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self._claim_stop()

    def queue(self, batch: OffCpuBatch) -> None:
        self._publish(batch)


def test_live_all_threads_profile_weighs_samples_in_seconds() -> None:
    """The live "all threads" profile of an off-CPU run is in seconds and adds on- and off-CPU time."""
    asm = BatchAssembler(off_cpu=True)
    spin, nap = _stack(asm, "main", "spin"), _stack(asm, "main", "nap")
    asm.thread(10, 10, "app")
    asm.sample(0.0, 10, spin)
    asm.off_cpu_sample(0.01, 10, nap, 0.25)
    batch = asm.take()
    assert isinstance(batch, OffCpuBatch)
    collector = _Replay(Target.for_pid(10), 100)
    collector.queue(batch)
    run = LiveRun(collector)
    assert run.pump() == 2
    assert run.merged.unit == Unit.SECONDS
    assert run.merged.total_weight() == pytest.approx(0.26)


def test_live_status_line_says_off_cpu_time_is_recorded() -> None:
    """The live status line names the collector with `+ off-CPU` when it records off-CPU time."""
    run = LiveRun(_Replay(Target.for_pid(10), 100))
    assert status_text(run, False).startswith("replay + off-CPU · PID 10 · 100 Hz")


def test_drain_pacer_drains_sooner_while_records_come_fast() -> None:
    """With records filling a quarter of the ring in 0.1 s the next drain comes after 0.1 s (never
    below the shortest wait); once they slow down the wait is the usual one again."""
    pacer = offcpu.DrainPacer(ring_bytes=4_000_000, longest=0.5, shortest=0.02)
    pacer.drained(0, 10.0)
    assert pacer.wait == 0.5
    pacer.drained(1_000_000, 10.1)  # 10 MB/s: a quarter of the ring in 0.1 s
    assert pacer.wait == pytest.approx(0.1)
    pacer.drained(100_000_000, 10.2)
    assert pacer.wait == 0.02
    pacer.drained(1_000, 10.7)
    assert pacer.wait == 0.5


def test_perf_refuses_off_cpu() -> None:
    """Asking perf for off-CPU time fails at once, saying that bcc is needed."""
    with pytest.raises(CollectorError, match="off-CPU time needs the bcc collector"):
        choose.make_collector("perf", Target.for_pid(os.getpid()), 99, off_cpu=True)


def test_automatic_choice_does_not_fall_back_to_perf_for_off_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """With bcc unavailable, off-CPU time is refused with bcc's reason rather than sampled by perf."""
    monkeypatch.setattr(choose, "bcc_unavailable_reason", lambda: "the bcc Python module is missing: install it")
    with pytest.raises(CollectorError, match=r"^off-CPU time needs the bcc collector .*, which cannot run: the bcc"):
        choose.start_collector(Target.for_pid(os.getpid()), 99, off_cpu=True)


def test_record_with_perf_and_off_cpu_is_a_usage_error(tmp_path: Path) -> None:
    """`record --off-cpu --collector perf` exits 2 with one line saying bcc is needed, and writes nothing."""
    out = tmp_path / "x.speedscope.json"
    r = subprocess.run([sys.executable, "-m", "tui.cli", "record", "--off-cpu", "--collector", "perf",
                        "-p", str(os.getpid()), "-o", str(out)], capture_output=True, text=True, timeout=60,
                       cwd=ROOT, env=_env())
    assert r.returncode == 2
    assert r.stderr.startswith("bpfscope: off-CPU time needs the bcc collector")
    assert r.stderr.count("\n") == 1
    assert not out.exists()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}


# --- the real thing (root, eBPF) ---------------------------------------------------------


@pytest.fixture(scope="module")
def spin_nap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("offcpu"), "spin_nap", SPIN_NAP)


def collect(collector: Collector, seconds: float) -> ProfileGroup:
    """Run a started off-CPU collector for `seconds`, stop it and build the group."""
    builder = ProfileBuilder("test", collector.frequency, off_cpu=True)
    try:
        collector.wait(seconds)
    finally:
        collector.stop()
    builder.apply_all(collector.drain())
    assert collector.failure is None, collector.failure
    return builder.finish()


def _by_user_leaf(group: ProfileGroup, profile: Profile) -> dict[str, float]:
    """Weight per deepest user-space function."""
    out: dict[str, float] = {}
    for stack, w in profile.iter_samples():
        user = [f for f in stack if group.frames[f].kind != FrameKind.KERNEL]
        if user:
            name = group.frames[user[-1]].name
            out[name] = out.get(name, 0.0) + w
    return out


def _heaviest(weights: dict[str, float]) -> str:
    return max(weights, key=weights.__getitem__)


def _kernel_names(group: ProfileGroup, profile: Profile, leaf: str) -> set[str]:
    """Kernel functions on the stacks whose deepest user function is `leaf`."""
    out: set[str] = set()
    for stack, _ in profile.iter_samples():
        kinds = [group.frames[f].kind for f in stack]
        user = [f for f, k in zip(stack, kinds, strict=True) if k != FrameKind.KERNEL]
        if user and group.frames[user[-1]].name == leaf:
            out.update(group.frames[f].name for f, k in zip(stack, kinds, strict=True) if k == FrameKind.KERNEL)
    return out


@pytest.mark.live
def test_sleeping_thread_shows_nap_off_cpu_and_spin_on_cpu(spin_nap: Path) -> None:
    """spin() computes and nap() sleeps, half the time each: the off-CPU profile's heaviest user
    function is nap (under the scheduler's kernel path), its total over 3 s within 10% of the
    time the program says it slept; the on-CPU profile's heaviest is spin."""
    require_bcc()
    proc = start_workload(spin_nap, "60")
    try:
        collector = BccCollector(Target.for_pid(proc.pid), 99, off_cpu=True)
        collector.start()
        (first, t1), (second, t2) = _asleep(proc, collector), _asleep(proc, collector, after=3.0)
        group = collect(collector, 0.0)
    finally:
        proc.kill()
        proc.wait()
    by_kind = {p.time_kind: p for p in group.profiles if p.tid == proc.pid}
    on, off = by_kind[ON_CPU], by_kind[OFF_CPU]
    assert on.unit == off.unit == Unit.SECONDS
    assert off.times is not None and list(off.times) == sorted(off.times)
    off_leaves, on_leaves = _by_user_leaf(group, off), _by_user_leaf(group, on)
    assert _heaviest(off_leaves) == "nap", off_leaves
    assert _heaviest(on_leaves) == "spin", on_leaves
    assert {"schedule", "do_nanosleep"} <= _kernel_names(group, off, "nap")
    napped = _weight_between(group, off, "nap", t1, t2)
    assert napped == pytest.approx(second - first, rel=0.1), (napped, second - first, off_leaves)


def _asleep(proc: subprocess.Popen[str], collector: Collector, after: float = 0.0) -> tuple[float, float]:
    """After `after` seconds: the seconds the workload has slept in nap(), and when it said so
    (seconds since sampling began)."""
    time.sleep(after)
    assert proc.stdout is not None
    proc.send_signal(signal.SIGUSR1)
    slept = float(proc.stdout.readline())
    return slept, (time.monotonic_ns() - collector.start_ns) / 1e9


def _weight_between(group: ProfileGroup, profile: Profile, leaf: str, start: float, end: float) -> float:
    """Weight of the samples timed in [start, end) whose deepest user function is `leaf`."""
    assert profile.times is not None
    total = 0.0
    for (stack, w), t in zip(profile.iter_samples(), profile.times, strict=True):
        user = [f for f in stack if group.frames[f].kind != FrameKind.KERNEL]
        if start <= t < end and user and group.frames[user[-1]].name == leaf:
            total += w
    return total


def _switches(pid: int) -> int:
    """Context switches of every thread of `pid` so far."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status", encoding="ascii") as f:
            total += sum(int(line.split()[1]) for line in f if "ctxt_switches:" in line)
    return total


@pytest.mark.live
def test_short_waits_are_sent_in_few_records_that_add_up(tmp_path: Path) -> None:
    """Two threads taking turns on one CPU, each waiting on the other tens of thousands of
    times a second, send a small fraction of that in off-CPU records, and each thread's
    on-CPU plus off-CPU time is the time sampled (wall time) within 15 %.

    On one CPU every switch goes from one target thread to the other, so the time of the
    switch-out's stack walks (about 1 µs a switch) lands on one side or the other: it was
    added to the next thread's wait, 19-38 % too much in every run. And the CPU never idles:
    the 99 Hz samples of a thread that leaves its CPU idle 100,000 times a second are off
    by up to half on this VM's cpu-clock timer, perf's own samples too (the same threads
    on two CPUs, against their scheduler run time), which no off-CPU bound can allow for."""
    require_bcc()
    proc = start_workload(build(tmp_path, "ping_pong", PING_PONG), "60", str(max(os.sched_getaffinity(0))))
    try:
        collector = BccCollector(Target.for_pid(proc.pid), 99, off_cpu=True)
        collector.start()
        before = _switches(proc.pid)
        group = collect(collector, 3.0)
        switches = _switches(proc.pid) - before
    finally:
        proc.kill()
        proc.wait()
    records = sum(p.sample_count for p in group.profiles if p.time_kind == OFF_CPU)
    # Counted, not timed: how fast the threads switch depends on the machine's load, so only enough
    # switches for the comparison to mean something are required.
    assert switches > 1_000, switches
    assert records < switches / 4, (records, switches)
    split = {tid: {p.time_kind: round(p.total_weight(), 3) for p in group.profiles if p.tid == tid}
             for tid in {p.tid for p in group.profiles}}
    assert len(split) == 2, split
    for tid, kinds in split.items():
        # Measured with the fix: 1-6 % off in 16 threads' runs, with and without two busy loops
        # beside them (on-CPU: about 150 samples, split between the two threads by chance).
        assert sum(kinds.values()) == pytest.approx(collector.elapsed(), rel=0.15), (tid, split, collector.elapsed())


@pytest.mark.live
def test_a_wait_going_on_at_the_stop_counts_up_to_it() -> None:
    """`sleep 60`, launched for the capture and asleep when it stops, is off CPU for about all of
    the time sampled, in nanosleep."""
    require_bcc()
    collector = BccCollector(Target.for_command(["sleep", "60"]), 99, off_cpu=True)
    collector.start()
    group = collect(collector, 1.5)
    (off,) = [p for p in group.profiles if p.time_kind == OFF_CPU and p.tid == collector.pid]
    assert off.total_weight() == pytest.approx(collector.elapsed(), rel=0.1), (off.total_weight(), collector.elapsed())
    heaviest = max(off.iter_samples(), key=lambda s: s[1])[0]
    assert any("nanosleep" in group.frames[f].name for f in heaviest)


def _map_id(fd: int) -> int:
    with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as f:
        found = re.search(r"^map_id:\s*(\d+)", f.read(), re.MULTILINE)
    assert found is not None
    return int(found.group(1))


def _programs_using(map_id: int) -> set[int]:
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True, check=True).stdout
    return {p["id"] for p in json.loads(out or "[]") if map_id in p.get("map_ids", [])}


@pytest.mark.live
def test_no_program_is_left_loaded(spin_nap: Path) -> None:
    """With off-CPU time four programs share the collector's maps (sampling, fork, exit, switch);
    after stop() none of them is loaded."""
    require_bcc()
    proc = start_workload(spin_nap, "60")
    try:
        collector = BccCollector(Target.for_pid(proc.pid), 99, off_cpu=True)
        collector.start()
        loaded = _programs_using(_map_id(collector._bpf[b"targets"].map_fd))
        assert len(loaded) == 4, loaded
        collect(collector, 0.5)
    finally:
        proc.kill()
        proc.wait()
    assert not (loaded & our_programs())


@pytest.mark.live
def test_record_off_cpu_writes_both_kinds(spin_nap: Path, tmp_path: Path) -> None:
    """`record --off-cpu` writes a speedscope file that reads back with on-CPU and off-CPU
    profiles in seconds, nap among the off-CPU functions."""
    require_bcc()
    out = tmp_path / "off.speedscope.json"
    r = subprocess.run([sys.executable, "-m", "tui.cli", "record", "--off-cpu", "-d", "1.5", "-o", str(out),
                        "--", str(spin_nap), "60"], capture_output=True, text=True, timeout=60, cwd=ROOT, env=_env())
    assert r.returncode == 0, r.stderr
    assert "with off-CPU time" in r.stderr
    group = load_profile(str(out))
    kinds = {p.time_kind for p in group.profiles}
    assert kinds == {ON_CPU, OFF_CPU}, [(p.name, p.time_kind) for p in group.profiles]
    assert {p.unit for p in group.profiles} == {Unit.SECONDS}
    (off,) = [p for p in group.profiles if p.time_kind == OFF_CPU]
    assert off.name.endswith(" off-CPU")
    assert _by_user_leaf(group, off).get("nap", 0.0) > 0.3


NESTED_NAP = r"""
/* main -> outer -> inner -> nanosleep (libc's wrapper), 2 ms at a time for argv[1] seconds:
   built without frame pointers, as a stock server's programs are. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

volatile long sink;

__attribute__((noinline)) void inner(long i) {
    struct timespec t = {0, 2000000};
    nanosleep(&t, NULL);
    sink += i;  /* no tail call: inner stays on the stack */
}

__attribute__((noinline)) void outer(long i) {
    inner(i);
    sink += i;
}

int main(int argc, char **argv) {
    long rounds = (long)((argc > 1 ? atof(argv[1]) : 5.0) * 500);
    puts("ready");
    fflush(stdout);
    for (long i = 0; i < rounds; i++)
        outer(i);
    return 0;
}
"""


@pytest.fixture(scope="module")
def nested_nap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("offcpu-cfi")
    src = d / "nested_nap.c"
    src.write_text(NESTED_NAP)
    subprocess.run(["gcc", "-O2", "-fomit-frame-pointer", "-o", str(d / "nested_nap"), str(src)], check=True)
    return d / "nested_nap"


def _off_cpu_share_through_main(unwinder: Unwinder, exe: Path) -> float:
    """Of the off-CPU weight of `exe`'s thread over 2 s, the share whose user stack goes
    main -> outer -> inner and reaches `_start`."""
    require_bcc()
    proc = start_workload(exe, "120")
    try:
        collector = BccCollector(Target.for_pid(proc.pid), 99, off_cpu=True, unwinder=unwinder)
        collector.start()
        group = collect(collector, 2.0)
    finally:
        proc.kill()
        proc.wait()
    (off,) = [p for p in group.profiles if p.time_kind == OFF_CPU and p.tid == proc.pid]
    whole = 0.0
    for stack, w in off.iter_samples():
        names = [group.frames[f].name for f in stack if group.frames[f].kind != FrameKind.KERNEL]
        if names and names[0] == "_start" and " main outer inner " in f" {' '.join(names)} ":
            whole += w
    assert off.total_weight() > 1.0, off.total_weight()
    return whole / off.total_weight()


@pytest.mark.live
def test_off_cpu_stacks_without_frame_pointers_are_whole_with_cfi(nested_nap: Path) -> None:
    """A program without frame pointers waiting in nanosleep under main -> outer -> inner:
    with the CFI unwinder, its off-CPU stacks reach main and _start (>= 95 % of the weight)."""
    assert _off_cpu_share_through_main(CfiUnwinder(None), nested_nap) >= 0.95


@pytest.mark.live
def test_off_cpu_stacks_without_frame_pointers_are_cut_with_frame_pointers(nested_nap: Path) -> None:
    """The control: the same program with the frame-pointer unwinder, whose off-CPU stacks stop
    in libc (what the CFI unwinder fixes)."""
    assert _off_cpu_share_through_main(FramePointerUnwinder(), nested_nap) < 0.5


PYTHON_WAITS = r'''
import threading, time

def compute(n):
    return sum(i * i for i in range(n))

def napper():
    time.sleep(0.01)

def outer():
    while True:
        compute(20000)
        napper()

def wait_for_work(event):
    while True:
        event.wait(0.05)

threading.Thread(target=wait_for_work, args=(threading.Event(),), name="waiter", daemon=True).start()
print("ready", flush=True)
outer()
'''


@pytest.mark.live
@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_python_frames_off_cpu(version: str, tmp_path: Path) -> None:
    """Off CPU, a Python program's waits come with its Python frames too (the sched_switch
    program tail-calls a second one for the Python walk): the main thread sleeps in
    `outer` -> `napper`, marked `[GIL released]` above `time.sleep`'s C code, and the `waiter`
    thread (named so) waits in `wait_for_work`. 3.9 and 3.13: both frame layouts."""
    from tests.test_collectors.live.python_workloads import interpreters

    require_bcc()
    script = tmp_path / "waits.py"
    script.write_text(PYTHON_WAITS)
    proc = subprocess.Popen([interpreters()[version], str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        collector = BccCollector(Target.for_pid(proc.pid), 99, off_cpu=True)
        collector.start()
        group = collect(collector, 2.0)
    finally:
        proc.kill()
        proc.wait()
    off = {p.tid: p for p in group.profiles if p.time_kind == OFF_CPU}
    main, others = off[proc.pid], [p for t, p in off.items() if t != proc.pid]

    def shares(profile: Profile, path: tuple[str, ...]) -> float:
        """Share of the profile's weight whose Python frames (and marks) start with `path`."""
        total = hit = 0.0
        for stack, w in profile.iter_samples():
            names = tuple(group.frames[f].name for f in stack if group.frames[f].kind is FrameKind.INTERPRETER)
            total += w
            hit += w * (names[:len(path)] == path)
        return hit / total if total else 0.0

    assert shares(main, ("<module>", "outer", "napper", "[GIL released]")) >= 0.95, \
        [(round(w, 3), [group.frames[f].name for f in s][-12:]) for s, w in main.iter_samples()][:5]
    (waiter,) = [p for p in others if p.name.startswith("waiter (")]
    assert waiter.total_weight() >= 1.0, waiter.total_weight()
    # the thread's root frame differs by version (`Thread._bootstrap` / `_bootstrap`): look deeper
    inner = [tuple(group.frames[f].name for f in s if group.frames[f].kind is FrameKind.INTERPRETER)
             for s, _w in waiter.iter_samples()]
    assert sum(1 for names in inner if "wait_for_work" in names and names[-1] == "[GIL released]") \
        >= 0.95 * len(inner), inner[:5]
