"""`-p PID` follows the processes the target forks once sampling runs (root: runs in CI).

perf's events are inherited by children; the bcc collector adds them to its targets from
the `sched_process_fork` tracepoint. The workload is compiled here with frame pointers.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from collectors.live.base import Target
from collectors.live.choose import make_collector
from collectors.live.perf_collector import perf_unavailable_reason
from tests.test_collectors.live.conftest import require_bcc
from tests.test_collectors.live.helpers import collect, leaf_shares, paths
from tests.test_collectors.live.workloads import _COMMON, build

pytestmark = pytest.mark.live

FORKS = _COMMON + r"""
/* Prints `ready`, waits for a line on stdin, then forks a child that forks a grandchild:
   both spin for argv[1] seconds (in child_spin and grandchild_spin) while the parent waits. */
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) void child_spin(double end) {
    while (now() < end)
        spin(100000);
}

__attribute__((noinline)) void grandchild_spin(double end) {
    while (now() < end)
        spin(100000);
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    char line[16];
    puts("ready");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        return 1;
    double end = now() + secs;
    pid_t child = fork();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            grandchild_spin(end);
            _exit(0);
        }
        child_spin(end);
        waitpid(grandchild, NULL, 0);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    return 0;
}
"""


@pytest.fixture(scope="module")
def forks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("forks"), "forks", FORKS)


@pytest.mark.parametrize("which", ["bcc", "perf"])
def test_processes_forked_after_attaching_are_sampled(forks: Path, which: str) -> None:
    """A child and a grandchild forked once sampling runs are sampled, each as its own
    process, with their functions named under main; sampling ends when the target exits."""
    if which == "bcc":
        require_bcc()
    else:
        reason = perf_unavailable_reason(Target.for_pid(1))
        if reason is not None:
            pytest.fail(f"live perf test cannot run: {reason}")
    proc = subprocess.Popen([str(forks), "1.0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        collector = make_collector(which, Target.for_pid(proc.pid), 199)
        collector.start()
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
        group = collect(collector, 15.0)
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.wait()
    assert collector.exit_note == f"process {proc.pid} exited"
    pids: dict[str, set[int | None]] = {"child_spin": set(), "grandchild_spin": set()}
    for profile in group.profiles:
        for path, count in paths(group, profile).items():
            for name, seen in pids.items():
                if name in path and count:
                    assert path[path.index(name) - 1] == "main", path
                    seen.add(profile.pid)
    child, grandchild = pids["child_spin"], pids["grandchild_spin"]
    assert len(child) == 1 and len(grandchild) == 1, pids
    assert len({proc.pid, *child, *grandchild}) == 3, (proc.pid, pids)
    for pid in child | grandchild:
        # A second of spinning at 199 Hz, on CPUs that other tests may share.
        assert sum(p.sample_count for p in group.profiles if p.pid == pid) >= 20, pid


def test_short_children_after_the_first_keep_their_symbols(workloads: dict[str, Path]) -> None:
    """A target that runs short programs one after another (a shell script): once the first
    child shows up the ring is drained often, so the later ones, each living less than the
    usual half-second between drains, are seen alive and named."""
    require_bcc()
    work = workloads["call_tree"]
    script = f"read x; for i in $(seq 10); do {work} 0.15 >/dev/null; done; exit 0"
    shell = subprocess.Popen(["sh", "-c", script], stdin=subprocess.PIPE, text=True)
    try:
        collector = make_collector("bcc", Target.for_pid(shell.pid), 199)
        collector.start()
        assert shell.stdin is not None
        shell.stdin.write("go\n")
        shell.stdin.close()
        group = collect(collector, 20.0)
    finally:
        shell.kill()
        shell.wait()
    children = [p for p in group.profiles if p.name.startswith("call_tree ")]
    assert len(children) == 10, [p.name for p in group.profiles]
    named = [p.pid for p in children if leaf_shares(group, [p]).get("hot_a", 0) > 0.3]
    # The children that ran before the first drain after the first one appeared are gone:
    # up to half a second's worth (about 3). Without the faster drains, only 1 in 3 is named.
    assert len(named) >= 6, (named, [leaf_shares(group, [p]) for p in children])
