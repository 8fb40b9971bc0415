"""Live profiling end to end in a real terminal: `bpfscope -F 199 -- CMD` inside tmux, as root.

The command is a compiled C program with one hot function that also floods its standard
output: the screen must show the hot function and the live status, and none of the
program's output. `x` stops sampling, `q` quits, and then neither bpfscope, the program
nor a BPF program of ours is left.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_collectors.live.helpers import held_by_other_test_runs, our_programs
from tests.test_collectors.live.workloads import build
from tests.tmux import Tmux, root_tmux, short_directory

pytestmark = pytest.mark.live

TIMEOUT = 30.0
BPFSCOPE = Path(sys.executable).parent / "bpfscope"
STRAY = "STRAY-OUTPUT-LINE"

NOISY_HOT = r"""
#include <stdio.h>

static volatile unsigned long sink;

/* The hot function: nearly all the CPU time. */
__attribute__((noinline)) void burn_cpu_here(unsigned long n) {
    volatile unsigned long acc = 0;
    for (unsigned long i = 0; i < n; i++)
        acc += i;
    sink += acc;
}

/* Runs until killed, writing a line of output every loop to prove it never reaches the screen. */
int main(void) {
    for (unsigned long k = 0;; k++) {
        burn_cpu_here(200000);
        printf("STRAY-OUTPUT-LINE %lu\n", k);
        fflush(stdout);
    }
}
"""


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    with root_tmux("live", TIMEOUT, "the live end-to-end test") as server:
        yield server


def processes_running(executable: Path) -> list[int]:
    """PIDs of live processes whose executable is `executable`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/exe") == str(executable):
                    found.append(int(entry))
            except OSError:
                continue
    return found


def status_line(screen: str) -> str:
    """The live status line: the one that starts with the collector's name."""
    return next((ln for ln in screen.splitlines() if ln.startswith(("bcc · ", "perf · "))), "")


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path, so that the status line has room for the counts after the command."""
    with short_directory("bps-") as directory:
        yield directory


def test_live_profile_of_a_command_in_a_real_terminal(tmux: Tmux, short_dir: Path) -> None:
    """The hot function and `N samples` show, the command's output does not, `x` stops, `q` leaves nothing loaded."""
    program = build(short_dir, "hot", NOISY_HOT)
    exited = short_dir / "exited"
    before = our_programs()  # (held by other processes: not this test's to judge)
    # The shell records bpfscope's exit status, then keeps the pane alive for the last capture. The
    # terminal is 160 wide, room for the whole status line; COLUMNS/LINES inherited from pytest would
    # override the terminal's real size.
    command = f"env -u COLUMNS -u LINES {BPFSCOPE} -F 199 -- {program}; echo $? > {exited}; sleep 60"
    tmux.run("new-session", "-d", "-s", "live", "-x", "160", "-y", "30", "-e", "TERM=xterm-256color", command)

    tmux.wait_for(lambda s: " samples" in status_line(s) and "burn_cpu_here" in s,
                  "the status line with samples and the hot function")
    assert status_line(tmux.screen()).startswith("bcc · "), "as root, the bcc collector should be active"
    loaded = our_programs() - before
    loaded -= held_by_other_test_runs(loaded)
    assert loaded, "no BPF program of ours is loaded while sampling"
    assert processes_running(program), "the launched program is not running"
    time.sleep(1.0)  # more output and more repaints: any leak would show by now
    screen = tmux.screen()
    assert STRAY not in screen, f"the command's output reached the screen:\n{screen}"

    tmux.keys("x")
    tmux.wait_for(lambda s: "stopped" in status_line(s), "`stopped` in the status line")
    tmux.keys("q")

    deadline = time.monotonic() + TIMEOUT
    while not (exited.exists() and exited.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert exited.exists(), f"bpfscope did not exit after `q`; the screen was:\n{tmux.screen()}"
    assert exited.read_text().strip() == "0", "bpfscope's exit status"
    # README: the launched command's output goes to a log file, named on exit.
    prefix = "bpfscope: the command's output is in "
    # tmux may draw the last line a moment after the shell saw bpfscope exit
    tmux.wait_for(lambda s: any(line.startswith(prefix) for line in s.splitlines()), "the log named on exit")
    said = [line for line in tmux.screen().splitlines() if line.startswith(prefix)]
    assert len(said) == 1, tmux.screen()
    log = Path(said[0].removeprefix(prefix).strip())
    assert log.name == "command.log" and STRAY in log.read_text()
    assert not processes_running(program), "the launched program outlived bpfscope"
    assert not (loaded & our_programs()), "a BPF program of ours is still loaded"
