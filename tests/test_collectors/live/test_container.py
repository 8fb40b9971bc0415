"""A target in another mount namespace (as in a container) has its functions named.

The program sampled lives only in a tmpfs mounted inside a private mount namespace
(`unshare --mount`): the path in its /proc/PID/maps does not exist for bpfscope, which must
read the file through /proc/PID/root (bcc) or the namespace (perf). Root: runs in CI.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from collectors.live.base import Target
from collectors.live.choose import make_collector
from collectors.live.perf_collector import perf_unavailable_reason
from tests.test_collectors.live.conftest import require_bcc
from tests.test_collectors.live.helpers import collect, leaf_shares

pytestmark = pytest.mark.live


def _only_child(pid: int) -> int:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        (child,) = f.read().split()
    return int(child)


@pytest.mark.parametrize("which", ["bcc", "perf"])
def test_a_program_only_inside_a_mount_namespace_resolves(workloads: dict[str, Path], tmp_path: Path,
                                                           which: str) -> None:
    """main -> hot_a / hot_b are named for a process whose executable bpfscope cannot see at
    its path, because it sits on a mount private to the process's namespace."""
    if which == "bcc":
        require_bcc()
    else:
        reason = perf_unavailable_reason(Target.for_pid(1))
        if reason is not None:
            pytest.fail(f"live perf test cannot run: {reason}")
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to make a mount namespace")
    private = tmp_path / "private"
    private.mkdir()
    inside = private / "contained_tree"
    script = (f"mount -t tmpfs none {shlex.quote(str(private))} && "
              f"cp {shlex.quote(str(workloads['call_tree']))} {shlex.quote(str(inside))} && "
              f"exec {shlex.quote(str(inside))} 120")
    unshare = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--kill-child", "sh", "-c", script],
                               stdout=subprocess.PIPE, text=True)
    pid = 0
    try:
        assert unshare.stdout is not None and unshare.stdout.readline().strip() == "ready"
        pid = _only_child(unshare.pid)
        assert os.readlink(f"/proc/{pid}/exe") == str(inside)
        assert not inside.exists()  # the file is not there for us
        collector = make_collector(which, Target.for_pid(pid), 199)
        collector.start()
        group = collect(collector, 1.5)
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
        unshare.kill()
        unshare.wait()
    shares = leaf_shares(group)
    assert shares.get("hot_a", 0) + shares.get("hot_b", 0) > 0.8, shares
    assert collector.stats.unknown_share < 0.05
    assert str(inside) in {f.file for f in group.frames}
