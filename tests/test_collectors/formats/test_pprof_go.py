"""Our pprof export read by an outside reader: Go's own `go tool pprof -top` (Debian's golang-go).

For each export, the per-function flat and cumulative totals pprof prints must be ours (`bpfscope top`'s
self and total, computed by collectors/summary.py from the profile before it was written), so a writer
bug that our own pprof reader shares would still show here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from collectors.formats import pprof
from collectors.formats.detect import load_profile
from collectors.profile import OFF_CPU, ON_CPU, Frame, FrameKind, ProfileGroup, Unit
from collectors.summary import top_functions
from tests.speedscope_expected import PROFILES

_ROW = re.compile(r"^\s*(\S+)\s+\S+%\s+\S+%\s+(\S+)\s+\S+%\s+(.*)$")
_VALUE = re.compile(r"^(-?[0-9.e+]+)(ns)?$")


def go_top(path: Path, tmp_path: Path) -> dict[str, tuple[float, float]]:
    """`go tool pprof -top` of `path`: function name -> (flat, cum), in samples or nanoseconds."""
    go = shutil.which("go")
    assert go is not None, "go is missing: install golang-go (scripts/setup-system.sh does)"
    r = subprocess.run([go, "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0", "-edgefraction=0",
                        "-unit=ns", "-symbolize=none:demangle=none", str(path)],
                       capture_output=True, text=True, timeout=120,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PPROF_TMPDIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == ["flat", "flat%", "sum%", "cum", "cum%"])
    out: dict[str, tuple[float, float]] = {}
    for line in lines[start + 1:]:
        m = _ROW.match(line)
        assert m is not None, line
        flat, cum = (_VALUE.match(v) for v in m.group(1, 2))
        assert flat is not None and cum is not None, line
        name = m.group(3).strip()
        assert name not in out, f"pprof shows {name!r} twice"
        out[name] = (float(flat.group(1)), float(cum.group(1)))
    return out


def assert_same_totals(group: ProfileGroup, tmp_path: Path) -> int:
    """Writes `group` as pprof, reads it with Go's pprof, and compares each function's totals with ours.
    Returns how many functions were compared."""
    path = tmp_path / "export.pb.gz"
    path.write_bytes(pprof.write(group))
    theirs = go_top(path, tmp_path)
    rows = top_functions(group)
    units = {p.unit for p in group.profiles}
    per = units.pop().seconds_per_unit if len(units) == 1 else None
    scale = 1.0 if per is None else per * 1e9  # time is written (and shown with -unit=ns) in nanoseconds
    samples = sum(p.sample_count for p in group.profiles)
    # pprof merges functions by name (and its table trims spaces): compare the names that are one function of ours.
    names = Counter(r.name.strip() for r in rows)
    assert set(theirs) == set(names), (set(theirs) ^ set(names))
    compared = 0
    for row in rows:
        if names[row.name.strip()] > 1:
            continue
        flat, cum = theirs[row.name.strip()]
        slack = 0.5 * samples if scale != 1.0 else 0.0  # each sample rounded to a whole nanosecond
        assert flat == pytest.approx(row.self * scale, abs=slack, rel=1e-6), row.name
        assert cum == pytest.approx(row.total * scale, abs=slack, rel=1e-6), row.name
        compared += 1
    return compared


@pytest.mark.parametrize("rel", ["stackcollapse/simple.txt", "stackcollapse/perf-vertx-stacks-01-collapsed-all.txt",
                                 "linux-perf/forks.linux-perf.txt", "linux-perf/system-wide.linux-perf.txt",
                                 "linux-perf/rust-mangled.linux-perf.txt"])
def test_go_pprof_reads_our_export_of_a_capture(rel: str, tmp_path: Path) -> None:
    """Real captures (one thread and many, mangled names) exported as pprof: Go's pprof shows our totals."""
    group = load_profile(str(PROFILES / rel))
    assert assert_same_totals(group, tmp_path) >= 4


def timed_threads() -> ProfileGroup:
    """Two threads sampled in seconds, with times and a sample period, as a live capture has them."""
    group = ProfileGroup(name="live")
    f = group.frames
    main = f.intern(Frame("main", "/bin/app", 10, None, FrameKind.USER))
    work = f.intern(Frame("work", "/bin/app", 20, None, FrameKind.USER))
    parse = f.intern(Frame("parse", "/bin/app", 30, None, FrameKind.USER))
    read = f.intern(Frame("sys_read", None, None, None, FrameKind.KERNEL))
    for tid, count in ((11, 37), (12, 23)):
        p = group.new_profile(f"app pid: 10 tid: {tid}", Unit.SECONDS)
        p.pid, p.tid, p.sample_period = 10, tid, 1 / 99
        for i in range(count):
            stack = ((main, work, parse), (main, work), (main, read), (main, work, work, parse))[(i + tid) % 4]
            p.add_sample(stack, 1 / 99, 100.0 + i / 99)
    return group


def test_go_pprof_reads_a_timed_multi_thread_export(tmp_path: Path) -> None:
    """Two threads in seconds (with recursion): Go's pprof shows our totals in nanoseconds."""
    assert assert_same_totals(timed_threads(), tmp_path) == 4


def off_cpu_threads() -> ProfileGroup:
    """An off-CPU capture: per thread, an on-CPU profile (1/F s per sample) and an off-CPU one (waits)."""
    group = ProfileGroup(name="off-cpu")
    f = group.frames
    main = f.intern(Frame("main", "/bin/app", 1, None, FrameKind.USER))
    spin = f.intern(Frame("spin", "/bin/app", 2, None, FrameKind.USER))
    nap = f.intern(Frame("nap", "/bin/app", 3, None, FrameKind.USER))
    schedule = f.intern(Frame("schedule", None, None, None, FrameKind.KERNEL))
    for tid in (21, 22):
        on = group.new_profile(f"app pid: 20 tid: {tid} on-CPU", Unit.SECONDS)
        on.pid, on.tid, on.time_kind = 20, tid, ON_CPU
        off = group.new_profile(f"app pid: 20 tid: {tid} off-CPU", Unit.SECONDS)
        off.pid, off.tid, off.time_kind = 20, tid, OFF_CPU
        for i in range(10 * (tid - 20)):
            on.add_sample((main, spin), 0.01, 1.0 + i * 0.01)
            off.add_sample((main, nap, schedule), 0.25 + 0.125 * (i % 3), 1.0 + i * 0.01)
    return group


def test_go_pprof_reads_an_off_cpu_export(tmp_path: Path) -> None:
    """On- and off-CPU profiles of two threads: Go's pprof shows our wall-time totals per function."""
    assert assert_same_totals(off_cpu_threads(), tmp_path) == 4
