"""Choosing the collector: bcc when it can run, else perf with the reason (live: runs in CI)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from collectors.live import choose
from collectors.live.base import Target, TargetError
from collectors.live.perf_collector import PerfCollector
from tests.test_collectors.live.helpers import collect, leaf_shares

pytestmark = pytest.mark.live


def test_falls_back_to_perf_when_bcc_is_unavailable(running: subprocess.Popen[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With bcc unavailable, start_collector samples with perf and says why, in one sentence."""
    monkeypatch.setattr(choose, "bcc_unavailable_reason", lambda: "the bcc Python module is missing: install it")
    collector, note = choose.start_collector(Target.for_pid(running.pid), 199)
    assert isinstance(collector, PerfCollector)
    assert note == "bcc cannot run (the bcc Python module is missing: install it); sampling with perf instead"
    group = collect(collector, 1.5)
    assert leaf_shares(group).get("hot_a", 0) > 0.4


def test_missing_target_is_not_a_reason_to_fall_back(workloads: dict[str, Path]) -> None:
    """A PID that does not exist is reported as such, not hidden behind a fallback."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    with pytest.raises(TargetError, match=f"no running process with PID {proc.pid}"):
        choose.start_collector(Target.for_pid(proc.pid), 99)
