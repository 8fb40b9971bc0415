"""Bad or unusual Python targets: never a crash or a hang, errors counted, native frames kept."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from collectors.live.base import Target
from collectors.live.bcc_collector import BccCollector
from collectors.live.python.code import CodeReader
from collectors.live.python.detect import NotSupported, PythonProcess, detect
from collectors.live.python.memory import ProcessMemory
from collectors.live.python.offsets import TABLE
from collectors.profile import FrameKind
from tests.test_collectors.live.conftest import require_bcc
from tests.test_collectors.live.helpers import collect
from tests.test_collectors.live.python_workloads import PYENV, interpreters

AFTER_EXEC = ("import time\nend = time.time() + 3\ndef after_exec():\n"
              "    while time.time() < end: sum(range(1000))\nafter_exec()\n")
SPIN = "def spin():\n    while True:\n        sum(range(1000))\nspin()\n"


def _run(python: str, code: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([python, "-c", "print('ready', flush=True)\n" + code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_unknown_version_is_named_and_sampled_natively() -> None:
    """Python 3.8 (pyenv has it; bpfscope does not walk it): the reason names the version,
    and samples still come with native frames."""
    require_bcc()
    builds = sorted(PYENV.glob("3.8.*"))
    assert builds, "pyenv 3.8 is missing: run scripts/setup-system.sh"
    proc = _run(str(builds[-1] / "bin" / "python3.8"), SPIN)
    try:
        found = detect(proc.pid)
        assert isinstance(found, NotSupported) and "Python 3.8 is not supported" in found.reason, found
        collector = BccCollector(Target.for_pid(proc.pid), 199)
        collector.start()
        group = collect(collector, 1.5)
        notes = getattr(collector.unwinder, "notes", {})
    finally:
        proc.kill()
        proc.wait()
    assert "3.8" in notes[proc.pid]
    assert sum(len(list(p.iter_samples())) for p in group.profiles) > 50
    assert not any(f.kind is FrameKind.INTERPRETER for f in group.frames)


def test_process_that_execs_and_exits_mid_sample(tmp_path: Path) -> None:
    """A Python process that execs into another Python version, then exits: both are
    recognised in turn, the collector ends cleanly with the target."""
    require_bcc()
    pythons = interpreters()
    flag = tmp_path / "sampling"
    code = (f"import os, time\ndef before_exec():\n    while not os.path.exists({str(flag)!r}): sum(range(1000))\n"
            f"    end = time.time() + 1.5\n    while time.time() < end: sum(range(1000))\nbefore_exec()\n"
            f"os.execv({pythons['3.12']!r}, [{pythons['3.12']!r}, '-c', {AFTER_EXEC!r}])")
    proc = _run(pythons["3.11"], code)
    try:
        collector = BccCollector(Target.for_pid(proc.pid), 199)
        collector.start()
        flag.touch()
        group = collect(collector, 30)  # ends when the target exits
    finally:
        proc.kill()
        proc.wait()
    assert collector.exit_note and "exited" in collector.exit_note
    names = {f.name for f in group.frames if f.kind is FrameKind.INTERPRETER}
    assert {"before_exec", "after_exec"} <= names, names


def test_threads_created_and_destroyed_quickly() -> None:
    """Hundreds of short threads: samples keep coming with Python frames, nothing breaks."""
    require_bcc()
    code = ("import threading\ndef short():\n    sum(range(20000))\n"
            "def churn():\n    while True:\n        ts = [threading.Thread(target=short) for _ in range(8)]\n"
            "        [t.start() for t in ts]\n        [t.join() for t in ts]\nchurn()\n")
    proc = _run(interpreters()["3.12"], code)
    try:
        collector = BccCollector(Target.for_pid(proc.pid), 499)
        collector.start()
        group = collect(collector, 3)
    finally:
        proc.kill()
        proc.wait()
    assert len(group.profiles) > 5
    names = {f.name for f in group.frames if f.kind is FrameKind.INTERPRETER}
    assert "short" in names and "churn" in names, names


def test_wrong_offsets_cut_stacks_without_crashing() -> None:
    """Frame memory read through wrong offsets (as corrupt or freed frames would be):
    stacks are cut, read errors counted, the collector runs on."""
    require_bcc()
    proc = _run(interpreters()["3.11"], SPIN)
    try:
        found = detect(proc.pid)
        assert isinstance(found, PythonProcess)
        collector = BccCollector(Target.for_pid(proc.pid), 499)
        unwinder = collector.unwinder
        broken = replace(found, offsets=replace(found.offsets, frame_previous=found.offsets.frame_code,
                                                frame_code=found.offsets.frame_previous + 8))
        import collectors.live.unwind.python as unwind_python

        real = unwind_python.detect
        unwind_python.detect = lambda pid: broken if pid == proc.pid else real(pid)  # type: ignore[assignment]
        try:
            collector.start()
            group = collect(collector, 2)
        finally:
            unwind_python.detect = real
    finally:
        proc.kill()
        proc.wait()
    assert sum(len(list(p.iter_samples())) for p in group.profiles) > 100
    assert getattr(unwinder, "read_errors", 0) > 0
    assert any(f.name.startswith("<python code 0x") for f in group.frames)


def test_code_reader_on_garbage_addresses() -> None:
    """Addresses that point nowhere, or at bytes that are no code object: placeholders, errors counted."""
    with ProcessMemory(os.getpid()) as mem:
        reader = CodeReader(os.getpid(), sys.version_info[:2], TABLE[(3, 11)], mem)
        frame, ok = reader.frame(0x10, 5)
        assert not ok and frame.name == "<python code 0x10>"
        junk = bytes(range(256)) * 4
        frame, ok = reader.frame(id(junk) + 32, 0)
        assert reader.errors >= 1
    missing = ProcessMemory(2**22 + 12345)
    assert missing.read(0x1000, 8) is None and missing.errors == 1


def test_freed_code_object_is_read_again(tmp_path: Path) -> None:
    """A cached code object whose memory changed is decoded again after RECHECK seconds."""
    import collectors.live.python.code as code_module

    python = interpreters()["3.11"]
    proc = _run(python, "import time\ndef first():\n    print('first', flush=True)\n    time.sleep(60)\nfirst()\n")
    try:
        # inside first() (a read right after `ready` met <module>'s frame once on a busy machine)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "first"
        found = detect(proc.pid)
        assert isinstance(found, PythonProcess)
        reader = CodeReader(proc.pid, (3, 11), found.offsets)
        # a fake cache entry for a live code object's address, with a header that differs
        from collectors.live.python.detect import thread_states

        mem = reader.memory
        ts = thread_states(mem, found.runtime, found.offsets)[0]
        cframe = mem.u64(ts + found.offsets.tstate_cframe) or 0
        frame = mem.u64(cframe + found.offsets.cframe_current_frame) or 0
        code = mem.u64(frame + found.offsets.frame_code) or 0
        first, ok = reader.frame(code, 0xFFFF)
        assert ok and first.name == "first"
        info = reader.codes[code]
        assert info is not None
        info.name, info.header = "stale", b"x" * len(info.header)
        code_module.RECHECK, saved = 0.0, code_module.RECHECK
        try:
            time.sleep(0.01)
            again, _ = reader.frame(code, 0xFFFF)
        finally:
            code_module.RECHECK = saved
        assert again.name == "first"
        reader.close()
    finally:
        proc.kill()
        proc.wait()
