"""Guards for the whole suite."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator

import pytest


def _bpf_fds() -> set[str]:
    """This process's open BPF programs, maps and perf events, as `fd -> link` strings."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith(("anon_inode:bpf", "anon_inode:[perf_event]")):
            out.add(f"{fd} -> {link}")
    return out


@pytest.fixture(autouse=True)
def _no_bpf_left_in_this_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test leaves no BPF program, map or perf event open in the test process: a
    collector that keeps one after `stop()` keeps sampling (and costing) on a server."""
    before = _bpf_fds()
    yield
    after = _bpf_fds() - before
    if after:
        gc.collect()  # a failed test's traceback may hold the last reference for a moment
        after = _bpf_fds() - before
    assert not after, f"{request.node.nodeid} left BPF objects open: {sorted(after)[:6]}"


MACHINE_MODULES = frozenset({"test_live_tmux.py", "test_signals.py", "test_live_resize.py", "test_tmux_e2e.py",
                             "test_locations.py"})
"""Modules outside tests/test_collectors/live that drive real terminals, signals or py-spy."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that use the machine itself (eBPF, perf, py-spy, tmux, signals, timing
    against other samplers) are marked `machine`: `make test` runs the others first on two
    pytest-xdist workers, then these alone, one after another, since two live samplers at once
    (or a second worker's load) would judge each other's programs and shares. Under
    `--dist loadgroup` they also form one xdist group, should they run with workers."""
    for item in items:
        path = item.path
        if ("test_collectors" in path.parts and "live" in path.parts) or path.name in MACHINE_MODULES \
                or item.get_closest_marker("live") is not None:
            item.add_marker(pytest.mark.machine)
            item.add_marker(pytest.mark.xdist_group("machine"))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


_programs_before: set[int] | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _programs_before
    if os.geteuid() == 0 and not _is_worker(session.config):
        from tests.test_collectors.live.helpers import our_programs

        try:
            _programs_before = our_programs()
        except (OSError, ValueError):  # no bpftool: the live tests say so themselves
            _programs_before = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """At the end of the run no process still holds a sampling program that was not loaded
    before it (a collector never stopped, an orphaned `bpfscope` started by a test): the run
    fails, naming the holders."""
    if _programs_before is None or _is_worker(session.config):
        return  # (under xdist the controller checks, once every worker is done)
    from tests.test_collectors.live.helpers import held_by_other_test_runs, our_programs, program_holders

    def left_by_us() -> set[int]:
        left = our_programs() - _programs_before
        return left - held_by_other_test_runs(left) if left else left

    deadline = time.monotonic() + 10
    left = left_by_us()
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = left_by_us()
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"BPF programs of ours still loaded after the run: {program_holders(left)}"
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
