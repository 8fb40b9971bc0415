"""`sudo bpfscope -- CMD` runs CMD as the user who ran sudo (issue 12, item 4).

sudo is simulated as the issue asks: bpfscope runs as root with SUDO_UID, SUDO_GID and
SUDO_USER naming `nobody`. The command then has that user's real, effective and saved ids,
groups, HOME, USER and LOGNAME, as py-spy and rbspy run it; `--as-root` keeps root. The
TUI's command log is that user's. Root: runs in CI.
"""

from __future__ import annotations

import os
import pwd
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.live.command import RunAs
from tests.test_collectors.live.conftest import require_bcc
from tests.test_collectors.live.hostile import NOBODY, NOGROUP, SETPRIV, require_tools, shared_dir
from tui.cli.open_tui import command_log

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[3]
SUDO_NOBODY = {"SUDO_UID": str(NOBODY), "SUDO_GID": str(NOGROUP), "SUDO_USER": "nobody"}


@pytest.fixture
def box() -> Iterator[Path]:
    require_tools()
    with shared_dir() as d:
        yield d


def _record_command(box: Path, *extra: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], Path]:
    report = box / "who"
    script = (f"{{ grep -E '^(Uid|Gid|Groups):' /proc/self/status; "
              f"echo \"HOME=$HOME USER=$USER LOGNAME=$LOGNAME\"; }} > {shlex.quote(str(report))}")
    out = box / "out.folded"
    done = subprocess.run([sys.executable, "-c", "import sys\nfrom tui.cli import main\nsys.exit(main(sys.argv[1:]))",
                           "record", "-o", str(out), *extra, "--", "sh", "-c", script],
                          capture_output=True, text=True, timeout=120, cwd=box,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    return done, report


def _fields(report: Path) -> dict[str, list[str]]:
    out = {}
    for line in report.read_text().splitlines():
        if ":" in line and not line.startswith("HOME="):
            key, _, value = line.partition(":")
            out[key] = value.split()
        else:
            for part in line.split():
                key, _, value = part.partition("=")
                out[key] = [value]
    return out


def test_under_sudo_the_command_runs_as_the_invoking_user(box: Path) -> None:
    require_bcc()
    done, report = _record_command(box, env=SUDO_NOBODY)
    assert done.returncode == 0, done.stderr
    who = _fields(report)
    assert who["Uid"] == [str(NOBODY)] * 4  # real, effective, saved, file system: no way back to root
    assert who["Gid"] == [str(NOGROUP)] * 4
    assert sorted(map(int, who["Groups"])) == sorted(set(os.getgrouplist("nobody", NOGROUP)))
    entry = pwd.getpwuid(NOBODY)
    assert who["HOME"] == [entry.pw_dir] and who["USER"] == ["nobody"] and who["LOGNAME"] == ["nobody"]
    assert (box / "out.folded").stat().st_uid == NOBODY  # the export is the user's too


def test_as_root_keeps_root(box: Path) -> None:
    require_bcc()
    done, report = _record_command(box, "--as-root", env=SUDO_NOBODY)
    assert done.returncode == 0, done.stderr
    assert _fields(report)["Uid"] == ["0"] * 4


def test_without_sudo_nothing_changes() -> None:
    require_tools()
    assert RunAs.sudo_user({}) is None
    assert RunAs.sudo_user({"SUDO_UID": "0", "SUDO_GID": "0"}) is None
    user = RunAs.sudo_user(SUDO_NOBODY)
    assert user is not None and (user.uid, user.gid, user.name) == (NOBODY, NOGROUP, "nobody")


def test_the_command_log_is_readable_by_that_user() -> None:
    """The TUI's log for `-- CMD`: its file and directory belong to the sudo user, who can read it."""
    require_tools()
    user = RunAs.sudo_user(SUDO_NOBODY)
    path, fd = command_log(user)
    try:
        os.write(fd, b"the command's output\n")
    finally:
        os.close(fd)
    try:
        assert os.stat(path).st_uid == NOBODY and os.stat(os.path.dirname(path)).st_uid == NOBODY
        read = subprocess.run([*SETPRIV, "cat", path], capture_output=True, text=True, timeout=30)
        assert read.stdout == "the command's output\n", read.stderr
    finally:
        os.unlink(path)
        os.rmdir(os.path.dirname(path))
