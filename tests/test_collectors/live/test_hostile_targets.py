"""`bpfscope record` against a hostile, unprivileged target (issue 12, items 1-3).

Each test is an attack the issue reproduced, made by a target running as `nobody`: its
perf map a symlink to a root-only file, an absolute symlink out of its mount namespace, a
FIFO, a 64 GiB sparse file; its binary's `.gnu_debuglink` a FIFO. `record` runs as the
user runs it (a child process, `bpfscope record -p PID -d 2`), and the tests check that
the secret is in no export, that `record` ends on time (also on SIGTERM, without -d) and
writes its file, and that the child's peak RSS stays under 300 MB. A control shows an
honest map of the same unprivileged target is read. Root: runs in CI.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_collectors.live.conftest import require_bcc
from tests.test_collectors.live.helpers import bpf_fds
from tests.test_collectors.live.hostile import (
    NOBODY,
    NOGROUP,
    SECRET,
    SETPRIV,
    only_child,
    require_tools,
    root_secret,
)
from tests.test_collectors.live.workloads import CALL_TREE, HOSTILE_JIT, build

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[3]
RECORD_DEADLINE = 90.0
"""Generous: bcc's compile takes ~5 s of it. A hang (the issue's FIFO) never ends."""
MAX_RSS_MB = 300


# The child's own peak (VmHWM of its post-exec memory): ru_maxrss would carry the parent's (pytest's)
# peak over the vfork+exec that starts the child.
PEAK_MB = "int([w for w in open('/proc/self/status') if w.startswith('VmHWM')][0].split()[1]) / 1024"


@pytest.fixture(scope="module")

def bin_dir() -> Iterator[Path]:
    """Workloads where `nobody` can run them (pytest's tmp_path is root's 0700)."""
    require_tools()
    require_bcc()
    path = Path(tempfile.mkdtemp(prefix="bpfscope-sec-bin-", dir="/tmp"))
    os.chmod(path, 0o755)
    try:
        build(path, "hostile_jit", HOSTILE_JIT)
        build(path, "call_tree", CALL_TREE)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def box() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bpfscope-sec-", dir="/tmp"))
    os.chown(path, NOBODY, NOGROUP)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _record(pid: int, out: Path, *extra: str, sigterm_after: float | None = None) -> tuple[int, str, float]:
    """Run `bpfscope record -p PID -o OUT EXTRA` in a child; (exit code, stderr, peak RSS in MB)."""
    code = ("import resource, sys\nfrom tui.cli import main\ntry:\n    code = main(sys.argv[1:])\n"
            "finally:\n    print('peak_rss_mb', " + PEAK_MB + ","
            " file=sys.stderr)\nsys.exit(code)\n")
    child = subprocess.Popen([sys.executable, "-c", code, "record", "-p", str(pid), "-o", str(out), *extra],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    if sigterm_after is not None:
        assert child.stderr is not None
        first = child.stderr.readline()  # "recording: ..." once sampling runs
        assert first.startswith("recording"), first
        try:
            child.wait(sigterm_after)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGTERM)
    try:
        _, err = child.communicate(timeout=RECORD_DEADLINE)
    except subprocess.TimeoutExpired:
        child.kill()
        _, err = child.communicate()
        pytest.fail(f"record did not end within {RECORD_DEADLINE} s: {err[-2000:]}")
    peak = next(float(line.split()[1]) for line in err.splitlines() if line.startswith("peak_rss_mb"))
    return child.returncode, err, peak


class _Jit:
    """The hostile JIT, started as nobody, told to plant its perf map once the test is ready."""

    def __init__(self, argv: list[str], wrap: list[str] | None = None) -> None:
        self.proc = subprocess.Popen([*(wrap or SETPRIV), *argv] if wrap is None else [*wrap],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.address = int(self.proc.stdout.readline(), 16)
        self.pid = only_child(self.proc.pid) if wrap is not None else self.proc.pid

    def plant(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ready"

    def close(self) -> None:
        # The JIT itself too: under `unshare --kill-child` the death signal set for it is
        # cleared when setpriv changes its credentials, so it outlived unshare (for hours).
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.proc.kill()
        self.proc.wait()
        Path(f"/tmp/perf-{self.pid}.map").unlink(missing_ok=True)


def _secret_map(path: Path, address: int, mode: int = 0o600) -> Path:
    path.write_text(f"{address:x} 5 {SECRET}_jitted\n")
    os.chmod(path, mode)
    return path


def _exports(out: Path) -> str:
    """The recording, and its folded conversion, as text."""
    folded = out.with_suffix(".folded")
    done = subprocess.run([sys.executable, "-c", "import sys\nfrom tui.cli import main\nsys.exit(main(sys.argv[1:]))",
                           "convert", str(out), "-o", str(folded)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.returncode == 0, done.stderr
    return out.read_text() + folded.read_text()


def test_control_an_honest_map_of_an_unprivileged_jit_is_read(bin_dir: Path, box: Path) -> None:
    """Without this, the refusals below could pass by never reading perf maps at all."""
    jit = _Jit([str(bin_dir / "hostile_jit"), "honest"])
    try:
        jit.plant()
        out = box / "honest.speedscope.json"
        code, err, _ = _record(jit.pid, out, "-d", "2")
    finally:
        jit.close()
    assert code == 0, err
    assert "jitted_spin" in _exports(out)


@pytest.mark.parametrize("collector", ["bcc", "perf"])
def test_a_perf_map_linked_to_a_root_only_file_never_reaches_an_export(bin_dir: Path, box: Path,
                                                                       collector: str) -> None:
    """perf (the fallback) would follow the link itself: as root it refuses such a target."""
    jit = _Jit([str(bin_dir / "hostile_jit"), "symlink", str(box / "root-only.map")])
    try:
        root_secret(box)
        _secret_map(box / "root-only.map", jit.address)
        jit.plant()
        out = box / "out.speedscope.json"
        code, err, _ = _record(jit.pid, out, "-d", "2", "--collector", collector)
    finally:
        jit.close()
    if collector == "perf":
        assert code == 2 and "as root, perf would open" in err, err
        assert not out.exists()
        return
    assert code == 0, err
    text = _exports(out)
    assert SECRET not in text and SECRET not in err
    assert "[unknown]" in text or f"perf-{jit.pid}.map+0x" in text  # the JIT's code was sampled, unnamed


def test_a_perf_map_cannot_escape_the_targets_mount_namespace(bin_dir: Path, box: Path) -> None:
    """The target's /tmp is its own tmpfs; its map links to a host path (world-readable)
    that exists only outside its namespace."""
    host = box / "host.map"
    q = shlex.quote
    script = (f"exec 9<{q(str(bin_dir / 'hostile_jit'))}; mount -t tmpfs -o mode=1777 none /tmp && "
              f"cat <&9 >/tmp/hostile_jit && chmod 755 /tmp/hostile_jit && exec 9<&- && "
              f"exec {' '.join(SETPRIV)} /tmp/hostile_jit symlink {q(str(host))}")
    jit = _Jit([], wrap=["unshare", "--mount", "--propagation", "private", "--kill-child", "sh", "-c", script])
    try:
        _secret_map(host, jit.address, 0o644)
        jit.plant()
        assert not Path(f"/proc/{jit.pid}/root{host}").exists()  # hidden from the target
        out = box / "ns.speedscope.json"
        code, err, _ = _record(jit.pid, out, "-d", "2")
    finally:
        jit.close()
    assert code == 0, err
    assert SECRET not in _exports(out)


def test_a_fifo_perf_map_does_not_hang_record(bin_dir: Path, box: Path) -> None:
    jit = _Jit([str(bin_dir / "hostile_jit"), "fifo"])
    try:
        jit.plant()
        out = box / "fifo.folded"
        code, err, _ = _record(jit.pid, out, "-d", "2")
    finally:
        jit.close()
    assert code == 0, err
    assert out.stat().st_size > 0


def test_sigterm_ends_record_and_keeps_what_was_collected(bin_dir: Path, box: Path) -> None:
    """Without -d, against the FIFO map: SIGTERM stops `record`, which writes its file."""
    jit = _Jit([str(bin_dir / "hostile_jit"), "fifo"])
    try:
        jit.plant()
        out = box / "term.folded"
        code, err, _ = _record(jit.pid, out, sigterm_after=3)
    finally:
        jit.close()
    assert code == 0, err
    assert "stopped by SIGTERM" in err
    assert out.stat().st_size > 0


def test_a_sparse_64_gib_perf_map_stays_under_300_mb(bin_dir: Path, box: Path) -> None:
    jit = _Jit([str(bin_dir / "hostile_jit"), "sparse"])
    try:
        jit.plant()
        assert Path(f"/tmp/perf-{jit.pid}.map").stat().st_size == 64 << 30
        out = box / "sparse.folded"
        code, err, peak = _record(jit.pid, out, "-d", "2")
    finally:
        jit.close()
    assert code == 0, err
    assert peak < MAX_RSS_MB, f"peak RSS {peak:.0f} MB"


def test_a_debuglink_fifo_does_not_hang_record(bin_dir: Path, box: Path) -> None:
    """A stripped binary whose `.gnu_debuglink` names a FIFO beside it."""
    exe = box / "stripped_tree"
    shutil.copy(bin_dir / "call_tree", exe)
    debug = box / "stripped_tree.debug"
    subprocess.run(["objcopy", "--only-keep-debug", str(exe), str(debug)], check=True)
    subprocess.run(["objcopy", "--strip-all", f"--add-gnu-debuglink={debug.name}", str(exe)], check=True, cwd=box)
    debug.unlink()
    os.mkfifo(debug)
    for p in (exe, debug):
        os.chown(p, NOBODY, NOGROUP)
    os.chmod(exe, 0o755)
    proc = subprocess.Popen([*SETPRIV, str(exe), "600"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        out = box / "debuglink.folded"
        code, err, _ = _record(proc.pid, out, "-d", "2")
    finally:
        proc.kill()
        proc.wait()
    assert code == 0, err
    assert "stripped_tree+0x" in out.read_text(), err  # sampled, unnamed: its debug file was refused


def test_stop_does_not_wait_forever_for_a_stuck_worker(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the sampling thread ever stuck (a read that blocks), `stop()` still returns after
    its deadline, says why, and what was collected before is kept: simulated by a worker
    whose drain blocks forever once samples have come."""
    import threading

    from collectors.live import bcc_collector
    from collectors.live.base import Target
    from collectors.live.bcc_collector import BccCollector

    armed, stuck, release = threading.Event(), threading.Event(), threading.Event()
    real_drain = BccCollector._drain

    def drain(self: BccCollector) -> None:
        if armed.is_set() and threading.current_thread() is self._worker:
            stuck.set()
            release.wait()  # stuck, as in a read of a FIFO
        real_drain(self)

    monkeypatch.setattr(BccCollector, "_drain", drain)
    monkeypatch.setattr(bcc_collector, "STOP_TIMEOUT", 1.0)
    proc = subprocess.Popen([str(bin_dir / "call_tree"), "600"], stdout=subprocess.PIPE, text=True)
    collector = BccCollector(Target.for_pid(proc.pid), 999)
    held = set(bpf_fds())
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        collector.start()
        batches = []
        for _ in range(240):
            collector.wait(0.25)
            batches += collector.drain()
            if any(b.samples for b in batches):
                break
        assert any(b.samples for b in batches), "no samples came"
        armed.set()
        assert stuck.wait(30), "the worker did not drain again"
        stopper = threading.Thread(target=collector.stop, daemon=True)
        stopper.start()
        stopper.join(RECORD_DEADLINE)
        assert not stopper.is_alive(), "stop() waited for the stuck worker"
        assert collector.failure is not None and "did not stop" in str(collector.failure)
        assert collector.finished
        assert set(bpf_fds()) - held, "the stuck worker's program was unloaded while it may still use it"
        release.set()  # unstuck, the worker ends and unloads the program itself
        assert collector._worker is not None
        collector._worker.join(RECORD_DEADLINE)
        assert not collector._worker.is_alive()
        assert not set(bpf_fds()) - held, "the abandoned worker left its BPF objects behind when it ended"
    finally:
        release.set()
        proc.kill()
        proc.wait()


def test_the_perf_fallback_as_root_takes_only_roots_own_targets(bin_dir: Path) -> None:
    """perf opens perf maps and ELF files by path itself: as root it refuses `-a`, another
    user's process and a command run as the sudo user, and takes root's own."""
    from collectors.live.base import Target
    from collectors.live.command import RunAs
    from collectors.live.perf_collector import perf_unavailable_reason

    nobody = subprocess.Popen([*SETPRIV, "sleep", "60"])
    mine = subprocess.Popen(["sleep", "60"])
    # setpriv drops to nobody a moment after it starts: until then the process is root's
    deadline = time.monotonic() + 10
    while os.stat(f"/proc/{nobody.pid}").st_uid != NOBODY and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        user = RunAs(NOBODY, NOGROUP, (NOGROUP,), "nobody", "/")
        for target in (Target.all_processes(), Target.for_pid(nobody.pid), Target.for_command(["true"], user)):
            reason = perf_unavailable_reason(target)
            assert reason is not None and "as root, perf would open" in reason, target
        assert perf_unavailable_reason(Target.for_pid(mine.pid)) is None
        assert perf_unavailable_reason(Target.for_command(["true"])) is None
    finally:
        for p in (nobody, mine):
            p.kill()
            p.wait()
