"""Faults during live profiling, with the real bcc collector (root and eBPF: runs in CI, fails
rather than skips).

Each test starts a collector the way the TUI does (a `LiveRun` pumped every quarter second)
and injects one fault: the target exits, is killed, execs another program, churns threads,
forks; the machine is fully loaded; bcc's compile fails; the ring buffer overflows; a signal
reaches `bpfscope record`. In every case the samples collected are kept and can be saved, the
status line says what happened, and no BPF program of ours stays loaded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors.formats.detect import load_profile
from collectors.formats.output import save_profile
from collectors.live import bcc_collector
from collectors.live.base import Collector, CollectorError, Target
from collectors.live.bcc_collector import BccCollector
from collectors.live.choose import start_collector
from tests.test_collectors.live.conftest import require_bcc, start_workload
from tests.test_collectors.live.helpers import bpf_fds, leaf_shares
from tests.test_collectors.live.test_record import ROOT, _env, functions
from tests.test_collectors.live.workloads import CFLAGS
from tui.live import LiveRun, status_text

pytestmark = pytest.mark.live

_PRELUDE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

#define BURN(name) \
    __attribute__((noinline)) void name(double seconds) { \
        double end = now() + seconds; \
        volatile unsigned long acc = 0; \
        while (now() < end) \
            for (int i = 0; i < 20000; i++) acc += i; \
    }
"""

EXECS = _PRELUDE + r"""
/* Burns argv[1] seconds in before_exec, then execs argv[2] with the arguments after it. */
BURN(before_exec)

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    before_exec(atof(argv[1]));
    execv(argv[2], &argv[2]);
    return 127;
}
"""

CHURN = _PRELUDE + r"""
/* For argv[1] seconds: start 4 threads that burn 30 ms each in short_lived, join them, again. */
#include <pthread.h>

BURN(short_lived)

static void *thread_main(void *arg) {
    (void)arg;
    short_lived(0.03);
    return NULL;
}

int main(int argc, char **argv) {
    double end = now() + (argc > 1 ? atof(argv[1]) : 2.0);
    while (now() < end) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, thread_main, NULL);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    }
    return 0;
}
"""

FORKS = _PRELUDE + r"""
/* parent_work for 0.5 s, then fork: the child burns 1 s in child_work, the parent 1 s more in
   parent_work, then waits for it. */
#include <sys/wait.h>

BURN(parent_work)
BURN(child_work)

int main(void) {
    parent_work(0.5);
    pid_t child = fork();
    if (child == 0) {
        child_work(1.0);
        _exit(0);
    }
    parent_work(1.0);
    waitpid(child, NULL, 0);
    return 0;
}
"""


@pytest.fixture(scope="module")
def fault_programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("faults")
    out = {}
    for name, source in (("execs", EXECS), ("churn", CHURN), ("forks", FORKS)):
        src = directory / f"{name}.c"
        src.write_text(source)
        out[name] = directory / name
        subprocess.run(["gcc", *CFLAGS, "-pthread", "-o", str(out[name]), str(src)], check=True,
                       capture_output=True)
    return out


def held_programs(pid: int | str = "self") -> set[int]:
    """Ids of the BPF programs process `pid` holds open (from /proc/PID/fdinfo): exactly ours,
    whatever other runs on the machine have loaded."""
    ids: set[int] = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:bpf-prog":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                ids.update(int(line.split()[1]) for line in f if line.startswith("prog_id:"))
        except OSError:
            continue
    return ids


def loaded_programs() -> set[int]:
    """Ids of every BPF program loaded on the machine."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True, check=True).stdout
    return {p["id"] for p in json.loads(out or "[]")}


@pytest.fixture
def no_leaks() -> Iterator[list[Collector]]:
    """Collectors appended to the list must, by the end of the test, have released every
    program and descriptor (checked even when the test body only stopped part-way)."""
    before_fds = sorted(bpf_fds())
    collectors: list[Collector] = []
    yield collectors
    for c in collectors:
        c.stop()
    assert sorted(bpf_fds()) == before_fds, "a BPF or perf descriptor is still open"


def observe(collector: Collector, seconds: float, during: Callable[[float], None] | None = None) -> LiveRun:
    """Pump a started collector as the TUI does, for `seconds` or until it ends by itself.
    `during(elapsed)` runs after each pump (to inject a fault)."""
    run = LiveRun(collector)
    began = time.monotonic()
    while time.monotonic() - began < seconds and not collector.finished:
        collector.wait(0.25)
        run.pump()
        if during is not None:
            during(time.monotonic() - began)
    run.pump()
    return run


def check_kept_and_saved(run: LiveRun, tmp_path: Path) -> int:
    """Every sample the collector counted is in the profiles (per thread and merged) and survives
    a save and a reload; returns the count."""
    assert run.collector.failure is None, run.collector.failure
    n = sum(p.sample_count for p in run.group.profiles)
    assert n == run.collector.stats.samples > 0
    assert run.merged.sample_count == n
    out = tmp_path / "kept.speedscope.json"
    save_profile(run.group, str(out))
    assert sum(p.sample_count for p in load_profile(out).profiles) == n
    return n


def check_released(run: LiveRun, loaded: set[int]) -> None:
    assert len(loaded) == 3, "the sampling and the two tracepoint programs should have been loaded"
    assert run.released, "the collector was not stopped when it ended"
    assert not held_programs(), "a BPF program is still held open"
    assert not (loaded & loaded_programs()), "the BPF programs stayed loaded after the collector ended"


def started(collector: Collector, no_leaks: list[Collector]) -> set[int]:
    """Start `collector` (stopped at the latest by the fixture); returns its programs' ids."""
    no_leaks.append(collector)
    collector.start()
    return held_programs()


# --- the target ------------------------------------------------------------------------------


def test_target_exits(workloads: dict[str, Path], tmp_path: Path, no_leaks: list[Collector]) -> None:
    """A -p target that exits: sampling ends by itself, the status says `process N exited`, the
    programs are unloaded at once (not when the app quits) and the samples stay."""
    require_bcc()
    # Held on `read` until sampling runs (bcc compiles for seconds on a busy machine), then
    # the same process becomes the workload, which exits after 1.5 s.
    proc = subprocess.Popen(["sh", "-c", 'read x; exec "$0" 1.5 >/dev/null', str(workloads["call_tree"])],
                            stdin=subprocess.PIPE, text=True)
    try:
        collector = BccCollector(Target.for_pid(proc.pid), 199)
        loaded = started(collector, no_leaks)
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
        run = observe(collector, 15.0)
    finally:
        proc.kill()
        proc.wait()
    assert collector.exit_note == f"process {proc.pid} exited"
    assert f"target exited (process {proc.pid} exited)" in status_text(run, False)
    check_released(run, loaded)
    check_kept_and_saved(run, tmp_path)
    assert leaf_shares(run.group).get("hot_a", 0) > 0.4


def test_target_killed_by_sigkill(workloads: dict[str, Path], tmp_path: Path, no_leaks: list[Collector]) -> None:
    """A launched command killed with SIGKILL mid-profile: `killed by SIGKILL` in the status, the
    samples up to the kill kept, everything released."""
    require_bcc()
    collector = BccCollector(Target.for_command([str(workloads["call_tree"]), "30"]), 199)
    loaded = started(collector, no_leaks)
    pid = collector.pid
    assert pid is not None

    killed: list[bool] = []

    def kill(elapsed: float) -> None:
        # After 100 samples (however slow a loaded machine makes them), or 10 s.
        if (collector.stats.samples >= 100 or elapsed > 10.0) and not killed:
            killed.append(True)
            os.kill(pid, signal.SIGKILL)

    run = observe(collector, 30.0, kill)
    assert collector.exit_note == "the command was killed by SIGKILL"
    assert "target exited (the command was killed by SIGKILL)" in status_text(run, False)
    check_released(run, loaded)
    assert check_kept_and_saved(run, tmp_path) >= 100
    assert leaf_shares(run.group).get("hot_a", 0) > 0.4


def test_target_execs_another_program(workloads: dict[str, Path], fault_programs: dict[str, Path],
                                      tmp_path: Path, no_leaks: list[Collector]) -> None:
    """A process that execs another program mid-profile (after the first second, when maps are
    checked once a second) is still sampled, and both programs' functions are named."""
    require_bcc()
    argv = [str(fault_programs["execs"]), "1.5", str(workloads["call_tree"]), "1.5"]
    collector = BccCollector(Target.for_command(argv), 199)
    loaded = started(collector, no_leaks)
    run = observe(collector, 20.0)
    assert collector.exit_note == "the command exited with status 0"
    check_released(run, loaded)
    check_kept_and_saved(run, tmp_path)
    shares = leaf_shares(run.group)
    assert shares.get("before_exec", 0) > 0.25, shares
    assert shares.get("hot_a", 0) + shares.get("hot_b", 0) > 0.25, shares
    assert collector.stats.unknown_share < 0.1


def test_threads_come_and_go(fault_programs: dict[str, Path], tmp_path: Path, no_leaks: list[Collector]) -> None:
    """A process starting and ending threads all the time: each thread gets its own profile,
    their function is named, nothing is lost."""
    require_bcc()
    collector = BccCollector(Target.for_command([str(fault_programs["churn"]), "2.5"]), 499)
    loaded = started(collector, no_leaks)
    run = observe(collector, 20.0)
    assert collector.exit_note == "the command exited with status 0"
    check_released(run, loaded)
    check_kept_and_saved(run, tmp_path)
    tids = {p.tid for p in run.group.profiles if p.sample_count}
    assert len(tids) > 20, len(tids)
    assert leaf_shares(run.group).get("short_lived", 0) > 0.7
    assert collector.stats.lost == 0


def test_process_forks(fault_programs: dict[str, Path], tmp_path: Path, no_leaks: list[Collector]) -> None:
    """A launched command that forks: the child (same code, no exec) is sampled as its own process,
    its function named."""
    require_bcc()
    collector = BccCollector(Target.for_command([str(fault_programs["forks"])]), 299)
    loaded = started(collector, no_leaks)
    run = observe(collector, 20.0)
    assert collector.exit_note == "the command exited with status 0"
    check_released(run, loaded)
    check_kept_and_saved(run, tmp_path)
    parent = [p for p in run.group.profiles if p.pid == collector.pid]
    child = [p for p in run.group.profiles if p.pid != collector.pid and p.sample_count]
    assert parent and child, [p.name for p in run.group.profiles]
    assert leaf_shares(run.group, child).get("child_work", 0) > 0.8
    assert leaf_shares(run.group, parent).get("parent_work", 0) > 0.8


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the machine -------------------------------------------------------------------------------


def test_full_cpu_load(workloads: dict[str, Path], tmp_path: Path, no_leaks: list[Collector]) -> None:
    """Every CPU busy three times over: sampling at 999 Hz goes on, the target's functions are
    found, and the status reports the counts (lost samples, if any, counted)."""
    require_bcc()
    hogs = [start_workload(workloads["call_tree"], "120") for _ in range(3 * (os.cpu_count() or 1))]
    try:
        target = hogs[0]
        collector = BccCollector(Target.for_pid(target.pid), 999)
        loaded = started(collector, no_leaks)
        cpu_before = cpu_seconds(target.pid)
        run = observe(collector, 3.0)
        assert not collector.finished
        run.stop()
        cpu = cpu_seconds(target.pid) - cpu_before
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    text = status_text(run, False)
    assert f"{collector.stats.samples} samples" in text and f"{collector.stats.lost} lost" in text
    assert "stopped" in text
    check_released(run, loaded)
    # A sample per millisecond the target ran (it gets a third of a CPU at most): none missed.
    kept = check_kept_and_saved(run, tmp_path)
    assert kept > 100 and kept + collector.stats.lost == pytest.approx(cpu * 999, rel=0.25), (kept, cpu)
    assert leaf_shares(run.group).get("hot_a", 0) > 0.4


def test_ring_buffer_overflow_is_counted_and_shown(workloads: dict[str, Path], tmp_path: Path,
                                                   no_leaks: list[Collector],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-page ring drained once a second at 999 Hz on two busy threads overflows: the lost
    samples are counted, shown in the status, and the samples that did arrive are kept."""
    require_bcc()
    monkeypatch.setattr(bcc_collector, "ring_pages", lambda frequency, cpus: 1)
    monkeypatch.setattr(bcc_collector, "drain_interval", lambda ring_seconds: 1.0)
    monkeypatch.setattr(bcc_collector, "EARLY_DRAIN_INTERVAL", 1.0)
    proc = start_workload(workloads["threads"], "300", "2")
    try:
        collector = BccCollector(Target.for_pid(proc.pid), 999)
        loaded = started(collector, no_leaks)
        run = observe(collector, 3.0)
        run.stop()
    finally:
        proc.kill()
        proc.wait()
    lost = collector.stats.lost
    assert lost > 100, lost
    assert f"{lost} lost" in status_text(run, False)
    check_released(run, loaded)
    kept = check_kept_and_saved(run, tmp_path)
    assert kept < lost  # most did not fit: what did is kept


# --- bcc itself ----------------------------------------------------------------------------------


@pytest.fixture
def broken_program(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test hook: bcc is handed a program text that is not valid C."""
    original = bcc_collector.program_text

    def broken(*args: Any) -> str:
        return "int this is not C;\n" + original(*args)

    monkeypatch.setattr(bcc_collector, "program_text", broken)


@pytest.mark.usefixtures("broken_program")
def test_compile_failure_falls_back_to_perf(running: subprocess.Popen[str], tmp_path: Path,
                                            no_leaks: list[Collector]) -> None:
    """When bcc cannot compile the program, the automatic choice says why in one line (clang's
    error) and samples with perf; nothing of bcc's stays loaded."""
    require_bcc()
    collector, note = start_collector(Target.for_pid(running.pid), 99)
    no_leaks.append(collector)
    assert collector.name == "perf"
    assert note is not None and "\n" not in note
    assert note.startswith("bcc cannot run (the kernel or bcc refused the BPF program (")
    assert "error:" in note and note.endswith("sampling with perf instead")
    assert not held_programs()
    run = observe(collector, 2.0)
    run.stop()
    check_kept_and_saved(run, tmp_path)
    assert leaf_shares(run.group).get("hot_a", 0) > 0.3


@pytest.mark.usefixtures("broken_program")
def test_compile_failure_with_bcc_forced_is_one_clean_error(running: subprocess.Popen[str],
                                                            no_leaks: list[Collector]) -> None:
    """`--collector bcc` with a program that does not compile: one-sentence CollectorError, no
    program, map or perf descriptor left behind."""
    require_bcc()
    collector = BccCollector(Target.for_pid(running.pid), 99)
    no_leaks.append(collector)
    with pytest.raises(CollectorError) as info:
        collector.start()
    message = str(info.value)
    assert "\n" not in message and "error:" in message
    assert message.endswith("check that the kernel headers match the running kernel")


# --- signals during `bpfscope record` -------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_signal_during_record_saves_and_releases(running: subprocess.Popen[str], tmp_path: Path,
                                                 sig: signal.Signals) -> None:
    """SIGINT, SIGTERM or SIGHUP during `record -p PID`: the file is written with the samples,
    the exit status is 0, and no BPF program of ours stays loaded."""
    require_bcc()
    out = tmp_path / "sig.speedscope.json"
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "record", "-p", str(running.pid), "-o", str(out)],
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.startswith("recording:"), line + proc.stderr.read()
    loaded = held_programs(proc.pid)
    time.sleep(1.0)
    proc.send_signal(sig)
    rest = proc.communicate(timeout=30)[1]
    assert proc.returncode == 0, rest
    assert f"stopped by {sig.name}" in rest
    assert functions(out).get("hot_a", 0) > 0
    assert len(loaded) == 3 and not (loaded & loaded_programs())


def test_sighup_with_the_terminal_gone_still_saves(running: subprocess.Popen[str], tmp_path: Path) -> None:
    """SIGHUP after the session's terminal is gone (stderr closed: every progress write fails):
    the file is still written, the exit status is 0 and the programs are released."""
    require_bcc()
    out = tmp_path / "hup.folded"
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "record", "-p", str(running.pid), "-o", str(out)],
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith("recording:")
    loaded = held_programs(proc.pid)
    proc.stderr.close()  # the reader is gone: writes to stderr now fail (EPIPE)
    time.sleep(1.0)
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=30) == 0
    assert "main;hot_a" in out.read_text()
    assert len(loaded) == 3 and not (loaded & loaded_programs())
