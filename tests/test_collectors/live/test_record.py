"""`bpfscope record`, run as users run it (root and eBPF: runs in CI, fails rather than skips)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.test_collectors.live.conftest import require_bcc

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[3]


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def record(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui.cli", "record", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=_env())


def functions(path: Path) -> dict[str, int]:
    """Samples per leaf function over all profiles of a speedscope file."""
    doc: dict[str, Any] = json.loads(path.read_text())
    names = [f["name"] for f in doc["shared"]["frames"]]
    out: dict[str, int] = {}
    for p in doc["profiles"]:
        for stack in p["samples"]:
            if stack:
                out[names[stack[-1]]] = out.get(names[stack[-1]], 0) + 1
    return out


def test_record_command_that_exits_early(workloads: dict[str, Path], tmp_path: Path) -> None:
    """`record -d 60 -- CMD` ends when CMD exits (well before the duration), exit status 0, and the
    file names CMD's functions with per-sample times."""
    require_bcc()
    out = tmp_path / "early.speedscope.json"
    began = time.monotonic()
    r = record("-F", "299", "-d", "60", "-o", out, "--", workloads["call_tree"], "0.5")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - began < 30
    assert "the command exited with status 0" in r.stderr
    counts = functions(out)
    assert counts.get("hot_a", 0) > counts.get("hot_b", 0) > 0, counts
    doc = json.loads(out.read_text())
    assert doc["profiles"][0]["bpfscope"]["times"]


def test_sigterm_still_writes_the_file(running: subprocess.Popen[str], tmp_path: Path) -> None:
    """SIGTERM during `record -p PID` stops sampling, writes what was collected and exits 0."""
    require_bcc()
    out = tmp_path / "term.speedscope.json"
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "record", "-p", str(running.pid), "-o", str(out)],
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
    assert proc.stderr is not None
    line = proc.stderr.readline()  # printed once sampling runs
    assert line.startswith("recording:"), line + proc.stderr.read()
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=30)[1]
    assert proc.returncode == 0, rest
    assert "stopped by SIGTERM" in rest
    assert functions(out).get("hot_a", 0) > 0
    assert running.poll() is None  # the target is left running


def test_record_all_processes_folded(running: subprocess.Popen[str], tmp_path: Path) -> None:
    """`record -a -d 1` writes folded stacks in which the busy workload shows up."""
    require_bcc()
    out = tmp_path / "all.folded"
    r = record("-a", "-d", "1", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "duration reached" in r.stderr
    text = out.read_text()
    assert "main;hot_a" in text


def test_forced_perf_collector(running: subprocess.Popen[str], tmp_path: Path) -> None:
    """`--collector perf` samples through perf record | perf script and finds the hot function."""
    out = tmp_path / "perf.speedscope.json"
    r = record("--collector", "perf", "-p", str(running.pid), "-d", "1.5", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "perf sampling" in r.stderr
    counts = functions(out)
    assert counts.get("hot_a", 0) > 0, counts


def test_perf_collector_command_exits_early(workloads: dict[str, Path], tmp_path: Path) -> None:
    """With perf too, a launched command is sampled from its start until it exits."""
    out = tmp_path / "perf-cmd.speedscope.json"
    r = record("--collector", "perf", "-F", "299", "-d", "60", "-o", out, "--", workloads["call_tree"], "0.5")
    assert r.returncode == 0, r.stderr
    assert "the command exited with status 0" in r.stderr
    assert functions(out).get("hot_a", 0) > 0
