"""Why a collector cannot run, in one sentence with the fix (no root needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.live import bcc_collector, perf_collector
from collectors.live.base import CollectorError, Target
from collectors.live.bcc_collector import BccCollector, ring_pages
from collectors.live.symbols import executable_mappings

ROOT = Path(__file__).resolve().parents[3]


def test_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without root, bcc says it needs root and how to get it."""
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert bcc_collector.bcc_unavailable_reason() == "eBPF sampling with bcc needs root: run bpfscope with sudo"


def test_no_bcc_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the bcc module, the reason names the package to install."""
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    reason = bcc_collector.bcc_unavailable_reason()
    assert reason is not None and "python3-bpfcc" in reason


def test_no_kernel_headers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without kernel headers, the reason names the running kernel and the package."""
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())
    monkeypatch.setattr(bcc_collector, "Path", lambda p: tmp_path / p.lstrip("/"))
    reason = bcc_collector.bcc_unavailable_reason()
    release = os.uname().release
    assert reason is not None and f"linux-headers-{release}" in reason


def test_no_perf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without perf, the reason names the package."""
    monkeypatch.setattr("shutil.which", lambda name: None)
    reason = perf_collector.perf_unavailable_reason(Target.for_pid(1))
    assert reason is not None and "linux-perf" in reason


def test_start_refuses_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """start() raises CollectorError carrying the reason, before touching the kernel."""
    monkeypatch.setattr(bcc_collector, "bcc_unavailable_reason", lambda: "no eBPF here: fix it")
    with pytest.raises(CollectorError, match="no eBPF here: fix it"):
        BccCollector(Target.all_processes()).start()


def test_rate_is_bounded() -> None:
    """The documented range, 1 to 10,000 Hz (README), is accepted; 0 and 10,001 Hz are refused in one sentence."""
    for hz in (1, 10_000):
        assert BccCollector(Target.all_processes(), hz).frequency == hz
    for hz in (0, 10_001):
        with pytest.raises(CollectorError) as refused:
            BccCollector(Target.all_processes(), hz)
        assert str(refused.value) == f"the sampling rate must be 1 to 10000 Hz, not {hz}"


def test_ring_buffer_is_a_power_of_two_pages() -> None:
    """The ring is a power of two pages, larger for higher rates and more CPUs, capped."""
    sizes = [ring_pages(f, c) for f, c in ((99, 2), (999, 2), (999, 64), (10_000, 512))]
    assert all(s & (s - 1) == 0 for s in sizes)
    assert sizes == sorted(sizes) and sizes[-1] == 16384


def test_executable_mappings_of_this_process() -> None:
    """Our own mappings include the Python binary (or libpython) as an executable file."""
    maps = executable_mappings(os.getpid())
    assert any("python" in path for path in maps), list(maps)


RECORD_USAGE_ERRORS = {
    ("-o", "x.json"): "bpfscope record: error: give exactly one of -p PID, -a or -- CMD ARGS...",
    ("-a", "-p", "1", "-o", "x.json"): "bpfscope record: error: argument -p/--pid: not allowed with argument -a/--all",
    ("-a", "-o", "x.unknown"): "bpfscope: cannot tell the output format from 'x.unknown': "
                               "name it .speedscope.json, .folded or .pb.gz, or pass --to",
    ("-a", "-d", "0", "-o", "x.json"): "bpfscope: -d must be a number of seconds above 0",
    ("-a", "-F", "0", "-o", "x.json"): "bpfscope: the sampling rate must be 1 to 10000 Hz, not 0",
    ("-a", "-F", "10001", "-o", "x.json"): "bpfscope: the sampling rate must be 1 to 10000 Hz, not 10001",
}


@pytest.mark.parametrize("args", sorted(RECORD_USAGE_ERRORS))
def test_record_usage_errors(args: tuple[str, ...], tmp_path: Path) -> None:
    """`record` without a target, with two targets, a bad output name, duration or rate: its exact
    sentence on the last line of stderr, exit 2, no traceback, nothing written."""
    r = subprocess.run([sys.executable, "-m", "tui.cli", "record", *args], capture_output=True, text=True,
                       cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert r.returncode == 2, (args, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == RECORD_USAGE_ERRORS[args]
    assert list(tmp_path.iterdir()) == []


def test_record_missing_pid() -> None:
    """`record -p PID` for a process that does not exist says so in one line, exit 2."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    r = subprocess.run([sys.executable, "-m", "tui.cli", "record", "-p", str(proc.pid), "-o", "x.json"],
                       capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == f"bpfscope: there is no running process with PID {proc.pid}"
