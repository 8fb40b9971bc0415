"""Fixtures for the live collector tests: compiled workloads and running processes.

The live tests need root, bcc and perf. They run in CI (root); where they cannot run they
fail saying why, rather than skip: a skipped live test would hide a broken set-up.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_collectors.live.workloads import CALL_TREE, JIT, THREADS, build


@pytest.fixture(scope="session")
def workloads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("workloads")
    return {name: build(directory, name, source)
            for name, source in (("call_tree", CALL_TREE), ("threads", THREADS), ("jit", JIT))}


def start_workload(path: Path, *args: str) -> subprocess.Popen[str]:
    """Start a workload and wait for its `ready` line (threads created, loop entered)."""
    proc = subprocess.Popen([str(path), *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.fixture
def running(workloads: dict[str, Path]) -> Iterator[subprocess.Popen[str]]:
    """The call-tree workload, running for up to five minutes (killed after the test: it must
    outlive the collector's start, tens of seconds of compiling on a busy machine)."""
    proc = start_workload(workloads["call_tree"], "300")
    yield proc
    proc.kill()
    proc.wait()


def require_bcc() -> None:
    """Fail (not skip) with the reason when bcc cannot run here."""
    from collectors.live.bcc_collector import bcc_unavailable_reason

    reason = bcc_unavailable_reason()
    if reason is not None:
        pytest.fail(f"live bcc test cannot run: {reason}")


def wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.05)
    return False


def thread_ids(pid: int) -> set[int]:
    return {int(t) for t in os.listdir(f"/proc/{pid}/task")}
