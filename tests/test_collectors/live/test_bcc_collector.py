"""The bcc collector against real processes (root and eBPF: runs in CI, fails rather than skips)."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from collectors.live.base import Target
from collectors.live.bcc_collector import BccCollector
from collectors.live.command import HeldCommand
from collectors.profile import FrameKind
from tests.test_collectors.live.conftest import require_bcc, start_workload, thread_ids
from tests.test_collectors.live.helpers import (
    bpf_fds,
    collect,
    collect_samples,
    held_by_this_process,
    leaf_shares,
    our_programs,
    paths,
)

pytestmark = pytest.mark.live


def test_hot_functions_with_their_shares(running: subprocess.Popen[str]) -> None:
    """main -> hot_a (70%) / hot_b (30%): both appear under main with about those shares."""
    require_bcc()
    collector = BccCollector(Target.for_pid(running.pid), 499)
    collector.start()
    group = collect(collector, 2.0)
    shares = leaf_shares(group)
    assert shares.get("hot_a", 0) == pytest.approx(0.7, abs=0.12), shares
    assert shares.get("hot_b", 0) == pytest.approx(0.3, abs=0.12), shares
    (profile,) = group.profiles
    assert profile.pid == profile.tid == running.pid
    assert profile.name == f"call_tree pid: {running.pid} tid: {running.pid}"
    assert profile.sample_period == pytest.approx(1 / 499)
    hot = [p for p in paths(group, profile) if p[-1] in ("hot_a", "hot_b")]
    assert hot and all(p[-2] == "main" for p in hot), hot[:3]


def test_sample_times_are_real_and_ordered(running: subprocess.Popen[str]) -> None:
    """Times are seconds since the start, increasing, within the time sampled; one busy thread gets
    at most F samples a second (counted, not timed: a loaded machine only gives fewer)."""
    require_bcc()
    collector = BccCollector(Target.for_pid(running.pid), 99)
    collector.start()
    group = collect_samples(collector, 60)
    times = group.profiles[0].times
    assert times is not None and len(times) >= 60
    assert list(times) == sorted(times)
    assert times[0] >= 0 and times[-1] <= collector.elapsed()
    assert len(times) <= 99 * collector.elapsed() + 2, (len(times), collector.elapsed())
    assert all(b > a for a, b in itertools.pairwise(times))  # one thread: never two samples at once


def test_threads_started_before_attaching_are_all_sampled(workloads: dict[str, Path]) -> None:
    """Every thread of a process whose threads exist before sampling starts gets samples."""
    require_bcc()
    proc = start_workload(workloads["threads"], "300", "4")
    try:
        tids = thread_ids(proc.pid)
        workers = tids - {proc.pid}
        assert len(workers) == 4
        collector = BccCollector(Target.for_pid(proc.pid), 199)
        collector.start()
        group = collect_samples(collector, 200)  # counted: four busy threads share them, ~50 each
    finally:
        proc.kill()
        proc.wait()
    by_tid = {p.tid: p for p in group.profiles}
    assert workers <= set(by_tid), (workers, set(by_tid))
    for tid in workers:
        profile = by_tid[tid]
        assert profile.sample_count >= 10, (tid, profile.sample_count)
        assert any("worker" in path for path in paths(group, profile)), tid


def test_kernel_frames_are_marked(workloads: dict[str, Path]) -> None:
    """A process in system calls gets kernel frames (kind KERNEL) on top of its user frames."""
    require_bcc()
    # `dd` from /dev/zero to /dev/null spends its time in read/write system calls.
    proc = subprocess.Popen(["dd", "if=/dev/zero", "of=/dev/null", "bs=1M"], stderr=subprocess.DEVNULL)
    try:
        collector = BccCollector(Target.for_pid(proc.pid), 199)
        collector.start()
        group = collect(collector, 1.5)
    finally:
        proc.kill()
        proc.wait()
    kinds = {group.frames[f].kind for p in group.profiles for s, _ in p.iter_samples() for f in s}
    assert FrameKind.KERNEL in kinds
    for p in group.profiles:
        for stack, _ in p.iter_samples():
            names = [group.frames[f].kind for f in stack]
            # Root first: once a kernel frame comes, the rest of the stack is kernel.
            if FrameKind.KERNEL in names:
                first = names.index(FrameKind.KERNEL)
                assert all(k is FrameKind.KERNEL for k in names[first:]), names


def test_everything_is_released_on_stop(running: subprocess.Popen[str]) -> None:
    """After stop() no program of ours is loaded and no BPF or perf descriptor is left open."""
    require_bcc()
    before_fds = sorted(bpf_fds())
    collector = BccCollector(Target.for_pid(running.pid), 99)
    collector.start()
    try:
        # (other programs of ours may be loaded by other runs on the machine: these are this one's)
        loaded = held_by_this_process(our_programs())
        assert len(loaded) == 3, "the sampling and the two tracepoint programs should be loaded"
        assert len(bpf_fds()) > len(before_fds)
    finally:
        collect(collector, 0.3)
    assert not (loaded & our_programs())
    assert sorted(bpf_fds()) == before_fds


def test_everything_is_released_when_start_fails(running: subprocess.Popen[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An error half-way through start() (after the program is loaded) leaves nothing behind
    and the held command never runs."""
    require_bcc()
    before_fds = sorted(bpf_fds())
    held: list[HeldCommand] = []

    def broken_release(self: HeldCommand) -> None:
        held.append(self)
        raise RuntimeError("release failed")

    monkeypatch.setattr(HeldCommand, "release", broken_release)
    collector = BccCollector(Target.for_command(["true"]), 99)
    with pytest.raises(RuntimeError, match="release failed"):
        collector.start()
    assert not held_by_this_process(our_programs())
    assert sorted(bpf_fds()) == before_fds
    assert held and held[0].returncode == 125  # abandoned: `true` never ran


def test_command_that_exits_at_once_keeps_its_symbols(workloads: dict[str, Path]) -> None:
    """A launched command living about a third of a second is fully resolved: its functions are
    named although the process is gone when the last samples are read."""
    require_bcc()
    collector = BccCollector(Target.for_command([str(workloads["call_tree"]), "0.3"]), 499)
    collector.start()
    group = collect(collector, 10.0)
    assert collector.exit_note == "the command exited with status 0"
    assert collector.elapsed() < 5
    shares = leaf_shares(group)
    assert shares.get("hot_a", 0) + shares.get("hot_b", 0) > 0.8, shares
    assert collector.stats.unknown_share < 0.05


def _function_address(pid: int, exe: Path, name: str) -> int:
    """Where function `name` of `exe` is in process `pid` (PIE: load base + symbol value)."""
    nm = subprocess.run(["nm", str(exe)], capture_output=True, text=True, check=True).stdout
    value = next(int(line.split()[0], 16) for line in nm.splitlines() if line.endswith(f" {name}"))
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            if fields[-1] == str(exe) and int(fields[2], 16) == 0:
                return int(fields[0].split("-")[0], 16) + value
    raise AssertionError(f"{exe} is not mapped in {pid}")


def test_symbols_stay_readable_after_the_process_exits(workloads: dict[str, Path]) -> None:
    """Once a process's modules are loaded, its functions resolve by name after it is gone."""
    require_bcc()
    import bcc

    from collectors.live.batches import BatchAssembler
    from collectors.live.symbols import Symbolizer

    exe = workloads["call_tree"]
    proc = start_workload(exe, "30")
    asm = BatchAssembler()
    symbols = Symbolizer(bcc, asm)
    try:
        addresses = {name: _function_address(proc.pid, exe, name) for name in ("hot_a", "hot_b", "main")}
        symbols.load_modules(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    try:
        process = symbols.process(proc.pid)
        for name, address in addresses.items():
            assert asm.frame_name(symbols._user_frame(process, address + 4)) == name
    finally:
        symbols.close()


def test_an_exec_is_seen_at_the_next_lookup(workloads: dict[str, Path]) -> None:
    """A process that runs `exec` right after its modules were read (well inside the one-second
    rate limit on re-reads) has the new program's functions named, and the collector is told
    to re-read its modules (for the unwinder): an exec replaces every mapping."""
    require_bcc()
    import bcc

    from collectors.live.batches import BatchAssembler
    from collectors.live.symbols import Symbolizer

    exe = workloads["call_tree"]
    # The shell waits for a line, then becomes the workload (same pid).
    shell = subprocess.Popen(["sh", "-c", f"read x; exec {exe} 30"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    asm = BatchAssembler()
    symbols = Symbolizer(bcc, asm)
    try:
        symbols.load_modules(shell.pid)
        assert not symbols.execed(shell.pid)
        assert shell.stdin is not None and shell.stdout is not None
        shell.stdin.write("go\n")
        shell.stdin.flush()
        assert shell.stdout.readline().strip() == "ready"
        assert symbols.execed(shell.pid)
        process = symbols.process(shell.pid)
        address = _function_address(shell.pid, exe, "hot_a")
        assert asm.frame_name(symbols._user_frame(process, address + 4)) == "hot_a"
        symbols.load_modules(shell.pid)
        assert not symbols.execed(shell.pid)
    finally:
        shell.kill()
        shell.wait()
        symbols.close()


def test_children_of_a_launched_command_are_sampled(workloads: dict[str, Path]) -> None:
    """`-- sh -c 'work; work'`: the command's child processes are sampled, each its own profile."""
    require_bcc()
    work = workloads["call_tree"]
    command = f"{work} 0.4 >/dev/null; {work} 0.4 >/dev/null; exit 0"
    collector = BccCollector(Target.for_command(["sh", "-c", command]), 299)
    collector.start()
    group = collect(collector, 10.0)
    children = {p.pid for p in group.profiles if p.name.startswith("call_tree ")}
    assert len(children) == 2, [p.name for p in group.profiles]
    assert collector.pid not in children
    assert leaf_shares(group).get("hot_a", 0) > 0.4


def test_commands_a_pid_target_runs_are_sampled(workloads: dict[str, Path]) -> None:
    """With -p PID a program the target starts while sampled (fork and exec) is sampled too,
    with its own symbols, as perf's inherited events would."""
    require_bcc()
    work = workloads["call_tree"]
    shell = subprocess.Popen(["sh", "-c", f"read x; {work} 1 >/dev/null; exit 0"], stdin=subprocess.PIPE,
                             text=True)
    try:
        collector = BccCollector(Target.for_pid(shell.pid), 299)
        collector.start()
        assert shell.stdin is not None
        shell.stdin.write("go\n")
        shell.stdin.close()
        group = collect(collector, 10.0)
        assert shell.wait(10) == 0  # the child did run, for about a second
    finally:
        shell.kill()
        shell.wait()
    children = [p for p in group.profiles if p.name.startswith("call_tree ")]
    assert len(children) == 1 and children[0].pid != shell.pid, [p.name for p in group.profiles]
    assert leaf_shares(group, children).get("hot_a", 0) > 0.4, leaf_shares(group, children)


def test_jit_code_named_from_a_perf_map_written_later(workloads: dict[str, Path]) -> None:
    """Code in anonymous memory is named from /tmp/perf-PID.map, even when the map appears after
    sampling started, and its frames are JIT frames."""
    require_bcc()
    proc = subprocess.Popen([str(workloads["jit"]), "0.5"], stdout=subprocess.PIPE, text=True)
    try:
        collector = BccCollector(Target.for_pid(proc.pid), 199)
        collector.start()
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        group = collect(collector, 1.5)
    finally:
        proc.kill()
        proc.wait()
        Path(f"/tmp/perf-{proc.pid}.map").unlink(missing_ok=True)
    assert leaf_shares(group).get("jitted_spin", 0) > 0.5, leaf_shares(group)
    assert {f.kind for f in group.frames if f.name == "jitted_spin"} == {FrameKind.JIT}
