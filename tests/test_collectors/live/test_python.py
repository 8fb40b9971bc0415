"""Python frames in live stacks, on every supported CPython, against py-spy at the same time.

Each interpreter (pyenv's 3.9-3.13 and Debian's /usr/bin/python3) runs a program with
known phases (`python_workloads.PHASES`); bpfscope's bcc collector and `py-spy record`
sample it at the same time. Live, as root, never skipped.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from collectors.live.base import Target
from collectors.live.bcc_collector import BccCollector
from collectors.live.unwind.python import GIL_RELEASED
from collectors.profile import FrameKind, Profile, ProfileGroup
from tests.test_collectors.live.conftest import require_bcc
from tests.test_collectors.live.helpers import collect
from tests.test_collectors.live.python_workloads import PHASES, interpreters, py_spy_shares, start

PY_SPY = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "py-spy"
SECONDS = 6
INTERPRETERS = interpreters()


def function_shares(group: ProfileGroup, tid: int) -> dict[str, float]:
    """Per-function total shares of the Python frames of a thread (a function once per sample)."""
    counts: dict[str, float] = {}
    total = 0.0
    for profile in group.profiles:
        if profile.tid != tid:
            continue
        for stack, w in profile.iter_samples():
            total += w
            for name in {group.frames[f].name for f in stack if group.frames[f].kind is FrameKind.INTERPRETER}:
                counts[name] = counts.get(name, 0.0) + w
    return {n: c / total for n, c in counts.items()} if total else {}


def names(group: ProfileGroup, profile: Profile) -> list[tuple[str, ...]]:
    return [tuple(group.frames[f].name for f in s) for s, _ in profile.iter_samples()]


def _python(which: str) -> str:
    python = INTERPRETERS[which]
    assert Path(python).exists(), f"{python} is missing: run scripts/setup-system.sh"
    return python


def _version(note: str) -> tuple[int, int]:
    major, minor = note.split()[1].split(".")[:2]
    return int(major), int(minor)


@pytest.mark.parametrize("which", list(INTERPRETERS))
def test_python_shares_match_py_spy(which: str, tmp_path: Path) -> None:
    """The Python functions py-spy sees (at least 10 % of its samples) are the ones bpfscope
    sees, sampling the same process at the same time; bpfscope's per-function shares are
    within 3 points of the CPU time the program itself measured per phase; names come
    with file and line.

    The shares are held to the program's own clock rather than to py-spy's: on this busy
    machine py-spy's shares of the JSON phase came out 3 to 7 points off that clock in 2
    runs out of 6 (bpfscope's within 1), so a 3-point test against py-spy would fail on
    py-spy's error; `make bench` records both against each other (bench/python_bench.py)."""
    require_bcc()
    target = start(_python(which), PHASES, tmp_path / "phases.py", 120, realtime=True)
    try:
        collector = BccCollector(Target.for_pid(target.pid), 499)
        collector.start()
        spy = subprocess.Popen([str(PY_SPY), "record", "-p", str(target.pid), "-r", "199",
                                "-d", str(SECONDS - 1), "-f", "raw", "--threads", "-o", str(tmp_path / "spy.txt")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        group = collect(collector, SECONDS)
        _, err = spy.communicate(timeout=60)
        assert spy.returncode == 0, err
        notes = getattr(collector.unwinder, "notes", {})
        assert target.stdout is not None
        target.terminate()
        clock = target.stdout.read().split()
    finally:
        target.kill()
        target.wait()
    assert notes.get(target.pid, "").startswith("Python 3."), notes
    theirs, samples = py_spy_shares((tmp_path / "spy.txt").read_text())[target.pid]
    assert samples > 200, samples
    ours = function_shares(group, target.pid)
    # Each side's functions of 10 % or more are on the other side too (at 2 % or more). At 5 %
    # this failed twice in CI on one short function py-spy put just over the line (`re._compile`
    # at 5.3 % on 3.9, bpfscope under 2 %), within py-spy's own error here (see the docstring);
    # the shares themselves are held to the program's clock below.
    missing = {n: (round(s, 3), round(ours.get(n, 0), 3)) for n, s in theirs.items()
               if s >= 0.10 and ours.get(n, 0) < 0.02}
    assert not missing, f"py-spy's functions (py-spy, bpfscope): {missing}"
    extra = {n: (round(s, 3), round(theirs.get(n, 0), 3)) for n, s in ours.items()
             if s >= 0.10 and theirs.get(n, 0) < 0.02}
    assert not extra, f"bpfscope's functions (bpfscope, py-spy): {extra}"
    assert clock[0] == "cpu", clock
    measured = dict(zip(("encode_phase", "regex_phase", "fib"), map(float, clock[1:4]), strict=True))
    # fib also runs inside nothing else here: its share is the fib phase's
    shares = {n: (round(ours.get(n, 0), 3), m) for n, m in measured.items()}
    off = {n: s for n, s in shares.items() if abs(s[0] - s[1]) > 0.03}
    assert not off, f"bpfscope's shares vs the program's CPU clock: {off} (py-spy: {theirs})"

    fib = [f for f in group.frames if f.name == "fib" and f.kind is FrameKind.INTERPRETER]
    assert fib and all(f.file and f.file.endswith("phases.py") for f in fib)
    assert {f.line for f in fib} <= {4, 5} and any(f.line == 5 for f in fib), {f.line for f in fib}


_GIL_CODE = ("take_gil", "drop_gil", "RestoreThread", "SaveThread", "AcquireThread", "handle_pending",
             "HandlePending", "pthread_cond", "PyCOND", "futex", "sem_", "schedule")
"""Names of the code that hands the GIL over (and of the waits inside it)."""


def _check_gil_marks(group: ProfileGroup, main_tid: int) -> None:
    """CPython's own rules are the oracle: OpenSSL's SHA-256 on a megabyte runs with the GIL
    released (hashlib drops it for inputs over 2 KiB), and a thread running fib's bytecode
    holds it. The mark sits right below the innermost Python frame."""
    hashing: list[list[str]] = []
    in_fib: list[list[str]] = []
    for profile in group.profiles:
        for stack, _ in profile.iter_samples():
            frames = [group.frames[f] for f in stack]
            names = [f.name for f in frames]
            python = [i for i, f in enumerate(frames) if f.kind is FrameKind.INTERPRETER and f.file]
            if not python:
                continue
            below = [n for n in names[python[-1] + 1:] if n != GIL_RELEASED]
            leaf = names[python[-1]]
            if profile.tid != main_tid and leaf == "hash_phase" and any("sha256" in n.lower() for n in below):
                hashing.append(names)
            if profile.tid == main_tid and leaf == "fib" and not any(g in n for n in below for g in _GIL_CODE):
                in_fib.append(names)
    assert len(hashing) >= 50, len(hashing)
    marked = [p for p in hashing if GIL_RELEASED in p]
    assert len(marked) >= 0.9 * len(hashing), (len(marked), len(hashing), hashing[:3])
    assert all(p.index(GIL_RELEASED) == p.index("hash_phase") + 1 for p in marked), marked[:3]
    # fib is one of three phases of a thread that also waits for the GIL: at 499 Hz for 3 s it
    # gave 23 to 76 samples (fresh-clone CI, 2026-12-05: 23 on 3.12), so the test collects 5 s
    # and asks for 20, enough for the 2 % bound below to mean "at most one wrong mark"
    assert len(in_fib) >= 20, len(in_fib)
    wrongly = [p for p in in_fib if GIL_RELEASED in p]
    assert len(wrongly) <= max(1.0, 0.02 * len(in_fib)), (len(wrongly), len(in_fib), wrongly[:3])
    print(f"GIL marks: {len(marked)} of {len(hashing)} hashing samples, {len(wrongly)} of {len(in_fib)} in fib")


@pytest.mark.parametrize("which", list(INTERPRETERS))
def test_python_stacks_threads_and_c_code(which: str, tmp_path: Path) -> None:
    """Stacks outermost first, each thread its own, and the C code of `_sre`, `_json` and
    OpenSSL below the Python functions that called it."""
    require_bcc()
    target = start(_python(which), PHASES, tmp_path / "phases.py", 60, threads=True)
    try:
        collector = BccCollector(Target.for_pid(target.pid), 499)
        collector.start()
        group = collect(collector, 5)
        notes = getattr(collector.unwinder, "notes", {})
    finally:
        target.kill()
        target.wait()
    qualified = _version(notes[target.pid]) >= (3, 11)
    frames = group.frames
    by_thread = {p.tid: p for p in group.profiles}
    main = names(group, by_thread[target.pid])
    other = [n for t, p in by_thread.items() if t != target.pid for n in names(group, p)]
    # threads named as Python names them, beside the kernel's name
    comm = Path(_python(which)).name[:15]
    assert by_thread[target.pid].name == f"MainThread ({comm}) pid: {target.pid} tid: {target.pid}", \
        by_thread[target.pid].name
    assert all(p.name.startswith(f"hasher ({comm}) pid: {target.pid} tid: ") for t, p in by_thread.items()
               if t != target.pid), [p.name for p in group.profiles]
    assert any("encode_phase" in p for p in main) and not any("hash_phase" in p for p in main)
    assert any("hash_phase" in p for p in other) and not any("encode_phase" in p for p in other)
    spin = "Worker.spin" if qualified else "spin"
    for path in main:
        if "encode_phase" in path:
            py = [n for n in path if n in ("<module>", "main", spin, "encode_phase")]
            assert py == ["<module>", "main", spin, "encode_phase"], path
    root = "Thread._bootstrap" if qualified else "_bootstrap"
    hashing = [p for p in other if "hash_phase" in p]
    assert all(p.index(root) < p.index("hasher") < p.index("hash_phase") for p in hashing), hashing[:3]
    _check_gil_marks(group, target.pid)
    for caller in ("regex_phase", "JSONEncoder.iterencode" if qualified else "iterencode", "hash_phase"):
        below = [s[[frames[f].name for f in s].index(caller) + 1:]
                 for p in group.profiles for s, _ in p.iter_samples() if caller in [frames[f].name for f in s]]
        assert any(any(frames[f].kind is FrameKind.USER and frames[f].name != "[unknown]" for f in rest)
                   for rest in below), (caller, below[:5])


def test_python_frames_when_sampling_every_process(tmp_path: Path) -> None:
    """`-a`: a Python process met in the samples is recognised and its later samples carry
    its Python frames."""
    require_bcc()
    target = start(_python("3.12"), PHASES, tmp_path / "phases.py", 60)
    try:
        collector = BccCollector(Target(), 199)
        collector.start()
        group = collect(collector, 4)
        notes = getattr(collector.unwinder, "notes", {})
    finally:
        target.kill()
        target.wait()
    assert notes.get(target.pid, "").startswith("Python 3.12"), notes
    mine = [p for p in group.profiles if p.pid == target.pid]
    assert any("encode_phase" in n for p in mine for n in names(group, p))


DEEP = r'''
import sys, time

def bottom(end):
    x = 0
    while time.time() < end:
        x += 1

def level(n, end):
    if n:
        level(n - 1, end)
    else:
        bottom(end)

print("ready", flush=True)
level(60, time.time() + float(sys.argv[1]))
'''


def test_python_deep_stack_is_marked_truncated(tmp_path: Path) -> None:
    """A Python stack deeper than the BPF program reads (32 frames) keeps its innermost
    frames and says where the rest were cut, instead of passing for a whole stack."""
    require_bcc()
    target = start(_python("3.12"), DEEP, tmp_path / "deep.py", 30)
    try:
        collector = BccCollector(Target.for_pid(target.pid), 199)
        collector.start()
        group = collect(collector, 2)
        unwinder = collector.unwinder
    finally:
        target.kill()
        target.wait()
    marker = "[truncated: 32+ Python frames]"
    deep = [[group.frames[f].name for f in s if group.frames[f].kind is FrameKind.INTERPRETER]
            for p in group.profiles for s, _ in p.iter_samples()]
    deep = [n for n in deep if "bottom" in n]
    assert deep and all(n[0] == marker for n in deep), deep[:2]
    for python in deep:
        # the 32 innermost: `bottom` and 31 `level`s (no `<module>`: it was cut)
        assert python[1:] == ["level"] * 31 + ["bottom"], python
    assert getattr(unwinder, "truncated", 0) >= 1
