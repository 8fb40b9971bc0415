"""Signals to the live TUI in a real terminal (tmux, as root, with bcc).

`bpfscope -F 99 -p PID` runs in a tmux pane; once it samples, it gets SIGTERM, SIGINT or
SIGHUP from outside (as `kill`, systemd or a dropped SSH session would send them). It must
end as a clean stop (exit status 0, as `record` does), leave the terminal sane (echo and canonical mode back, the
alternate screen left) and leave no BPF program loaded. Closing the terminal itself (the
tmux server killed: the pty hangs up under the app) must end it and release the same way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_collectors.live.test_faults import held_programs, loaded_programs
from tests.test_collectors.live.workloads import CALL_TREE, build
from tests.tmux import Tmux, root_tmux, short_directory

pytestmark = pytest.mark.live

TIMEOUT = 30.0
BPFSCOPE = Path(sys.executable).parent / "bpfscope"


@pytest.fixture
def short_dir() -> Iterator[Path]:
    with short_directory("bps-sig-") as directory:
        yield directory


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    with root_tmux("sig", TIMEOUT, "the live signal tests") as server:
        yield server


@pytest.fixture
def target(short_dir: Path) -> Iterator[int]:
    """A busy process to sample, for up to a minute."""
    program = build(short_dir, "work", CALL_TREE)
    proc = subprocess.Popen([str(program), "60"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def wait_until(predicate: object, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} within {TIMEOUT:.0f} s")


def start_sampling(tmux: Tmux, short_dir: Path, pid: int) -> tuple[int, set[int]]:
    """Run bpfscope on `pid` in the pane (terminal settings saved before and after, exit status
    recorded); returns bpfscope's PID and the ids of its BPF programs once it samples."""
    d = short_dir
    # The pane's shell records the terminal state, then becomes (exec) a shell that writes its
    # PID and execs bpfscope in the foreground; the last `sleep` keeps the pane for capture.
    run = f"sh -c 'echo $$ > {d}/pid; exec env -u COLUMNS -u LINES {BPFSCOPE} -F 99 -p {pid}'"
    command = (f"stty -a > {d}/before; {run}; echo $? > {d}/exited; stty -a > {d}/after; "
               f"echo SHELL-BACK; sleep 60")
    tmux.run("new-session", "-d", "-s", "sig", "-x", "160", "-y", "30", "-e", "TERM=xterm-256color", command)
    tmux.wait_for(lambda s: "bcc · " in s and " samples" in s and "hot_a" in s, "the live view sampling hot_a")
    app = int((d / "pid").read_text())
    programs = held_programs(app)
    assert len(programs) == 3, "the bcc collector's three programs should be loaded"
    return app, programs


def sane(stty: str) -> bool:
    """`stty -a` shows echo and canonical mode on (a raw-mode leftover shows `-echo -icanon`)."""
    words = stty.split()
    return "echo" in words and "icanon" in words and "-echo" not in words and "-icanon" not in words


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_signal_ends_the_live_tui_cleanly(tmux: Tmux, short_dir: Path, target: int, sig: signal.Signals) -> None:
    """kill -SIG on the live TUI: exit status 0 (a requested stop), terminal modes restored, alternate screen
    left, the BPF programs unloaded, the sampled process left running."""
    app, programs = start_sampling(tmux, short_dir, target)
    assert tmux.run("display", "-p", "-t", "sig", "#{alternate_on}").strip() == "1"
    os.kill(app, sig)
    wait_until(lambda: (short_dir / "exited").exists() and (short_dir / "after").exists(), "bpfscope exited")
    tmux.wait_for(lambda s: "SHELL-BACK" in s, "the shell after bpfscope")
    assert (short_dir / "exited").read_text().strip() == "0"
    assert sane((short_dir / "before").read_text()), "the terminal was not sane to begin with"
    assert sane((short_dir / "after").read_text()), (short_dir / "after").read_text()
    assert tmux.run("display", "-p", "-t", "sig", "#{alternate_on}").strip() == "0", "still on the alternate screen"
    assert not (programs & loaded_programs()), "a BPF program of ours is still loaded"
    assert alive(target), "the sampled process was killed"


def test_closing_the_terminal_ends_the_tui_and_releases(tmux: Tmux, short_dir: Path, target: int) -> None:
    """The terminal goes away under the app (the tmux server killed: the pty hangs up, as when an
    SSH session drops): bpfscope ends and its BPF programs are unloaded."""
    app, programs = start_sampling(tmux, short_dir, target)
    tmux.kill()
    wait_until(lambda: not alive(app), "bpfscope did not end after its terminal closed")
    wait_until(lambda: not (programs & loaded_programs()), "the BPF programs were not unloaded")
    assert alive(target)
