"""A command launched held, released once sampling is attached (no root needed)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from collectors.live.base import CommandIO, TargetError
from collectors.live.command import NOT_STARTED, HeldCommand


def test_command_waits_for_release(tmp_path: Path) -> None:
    """Nothing of the command runs before release(); after it, it runs in the same process."""
    mark = tmp_path / "ran"
    held = HeldCommand(["sh", "-c", f'echo $$ > "{mark}"'])
    time.sleep(0.3)
    assert not mark.exists()
    held.release()
    assert held.wait(10) == 0
    assert mark.read_text().strip() == str(held.pid)


def test_abandoned_command_never_runs(tmp_path: Path) -> None:
    """When bpfscope gives up before release, the child exits 125 without running the command."""
    mark = tmp_path / "ran"
    held = HeldCommand(["touch", str(mark)])
    held.abandon()
    assert held.returncode == NOT_STARTED
    assert not mark.exists()


def test_terminate_ends_a_running_command() -> None:
    """terminate() ends a command that is still running, and describes how it ended."""
    held = HeldCommand(["sleep", "30"])
    held.release()
    held.terminate()
    assert held.returncode == -15
    assert held.describe_exit() == "the command was killed by SIGTERM"


def test_unknown_command_is_a_target_error() -> None:
    """A command that is not on PATH is reported in one sentence before anything starts."""
    with pytest.raises(TargetError, match="command not found: no-such-command-xyz"):
        HeldCommand(["no-such-command-xyz"])


def test_output_can_be_redirected(tmp_path: Path) -> None:
    """The file descriptors given are the command's stdin, stdout and stderr (for the TUI)."""
    out = tmp_path / "out.txt"
    with out.open("wb") as f:
        io = CommandIO(stdin=f.fileno(), stdout=f.fileno(), stderr=f.fileno())
        held = HeldCommand(["sh", "-c", "read x || echo no-input; echo hello; echo oops >&2"], io)
        held.release()
        assert held.wait(10) == 0
    assert out.read_text().split() == ["no-input", "hello", "oops"]
