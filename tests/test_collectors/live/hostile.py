"""Unprivileged, hostile targets for the security tests (issue 12).

Every target here runs as `nobody`/`nogroup` with no supplementary groups
(`setpriv --reuid=nobody --regid=nogroup --clear-groups`), as any local user could, and the
files it plants are what an attacker could plant: symlinks to root-only files, FIFOs,
devices, sockets, sparse giant files.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

NOBODY = pwd.getpwnam("nobody").pw_uid
NOGROUP = pwd.getpwnam("nobody").pw_gid
SETPRIV = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
SECRET = "SECRET_e3b0c442"
"""What a root-only file holds: it must never appear in anything bpfscope writes or shows."""


def require_tools() -> None:
    """Fail (not skip): the security tests run as root in CI with util-linux present."""
    if os.geteuid() != 0:
        pytest.fail("the security tests need root (they run as root in CI)")
    for tool in ("setpriv", "unshare"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} (util-linux) is needed for the security tests")


@contextmanager
def shared_dir() -> Iterator[Path]:
    """A directory under /tmp that `nobody` owns (pytest's tmp_path is root's 0700)."""
    path = Path(tempfile.mkdtemp(prefix="bpfscope-sec-", dir="/tmp"))
    os.chown(path, NOBODY, NOGROUP)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def root_secret(directory: Path, name: str = "root-only.map") -> Path:
    """A root-owned 0600 file whose lines look like a perf map naming `SECRET`."""
    path = directory / name
    path.write_text(f"401000 100 {SECRET}_function\n" * 4)
    os.chmod(path, 0o600)
    os.chown(path, 0, 0)
    return path


def as_nobody(path: Path) -> Path:
    os.chown(path, NOBODY, NOGROUP, follow_symlinks=False)
    return path


@contextmanager
def unprivileged(argv: Sequence[str], cwd: Path | None = None) -> Iterator[subprocess.Popen[str]]:
    """`argv` running as nobody; it must print `ready` once it has set itself up."""
    proc = subprocess.Popen([*SETPRIV, *argv], stdout=subprocess.PIPE, text=True, cwd=cwd)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "ready", f"the unprivileged target did not start: {line!r}"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def sleeper() -> list[str]:
    """A target that only waits: `sh` printing ready, then sleeping."""
    return ["sh", "-c", "echo ready; exec sleep 120"]


def only_child(pid: int) -> int:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        (child,) = f.read().split()
    return int(child)
