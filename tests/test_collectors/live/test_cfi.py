"""Whole user stacks without frame pointers: CFI unwinding in the kernel, checked live
against `perf record --call-graph dwarf` sampling the same process at the same time."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from collectors.live.base import Target
from collectors.live.batches import THREAD_ROOTS
from collectors.live.bcc_collector import BccCollector
from collectors.live.unwind.cfi import CfiUnwinder
from collectors.live.unwind.frame_pointers import FramePointerUnwinder
from collectors.profile import FrameKind, ProfileGroup
from tests.test_collectors.live import cfi_programs
from tests.test_collectors.live.conftest import require_bcc, start_workload
from tests.test_collectors.live.helpers import collect

FREQUENCY = 999
COMPARED = ("nofp", "qsort_fp", "cxx", "rust")
"""The programs compared with perf, all four sampled at once."""
COMPARE_FREQUENCY = 3999
"""Both samplers' rate for the comparison: the four programs share 2 CPUs with the samplers
(and, in CI, other work), so at 1999 Hz the samples took 37-46 s; 19 s at 3999 Hz."""
MIN_SAMPLES = 16_000
"""Samples of each sampler per program in the window both sampled: the two agree within
2 points by more than 3 standard deviations of sampling noise (0.56 points for a share of
50 % and two samplers of 16,000)."""
SAMPLES = 4 * 19_000
"""Samples bpfscope takes (all four programs) once perf runs, with room above MIN_SAMPLES
per program for the ends of the window."""
MAX_SECONDS = 240.0
LIFE = "900"
"""Seconds a target runs (killed when the test ends): compiling the BPF program takes tens
of seconds on a busy machine."""

Stacks = list[list[str]]


@pytest.fixture(scope="session")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return cfi_programs.build(tmp_path_factory.mktemp("cfi"))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfi-cache")
    path.chmod(0o700)
    return path


def user_stacks(group: ProfileGroup, pids: set[int] | None = None) -> Iterator[tuple[int, list[str], float]]:
    """Each sample's process, user frames (root first, names) and time (of `pids` only, if given)."""
    for profile in group.profiles:
        if pids is not None and profile.pid not in pids:
            continue
        times = profile.times if profile.times is not None else [0.0] * profile.sample_count
        for (stack, _w), t in zip(profile.iter_samples(), times, strict=True):
            names = [group.frames[f].name for f in stack if group.frames[f].kind != FrameKind.KERNEL]
            if names:
                yield profile.pid or 0, names, t


def whole_share(stacks: Stacks) -> float:
    """Share of stacks whose root is a thread's entry point (`_start`, `clone3`, ...)."""
    return sum(s[0] in THREAD_ROOTS for s in stacks) / len(stacks)


def normalize(name: str) -> str:
    """One spelling for perf's and bcc's names: no arguments, no Rust hash, no symbol version."""
    name = name.split("@", 1)[0]
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    return name.split("(", 1)[0]


def totals(stacks: Stacks, functions: set[str]) -> dict[str, float]:
    """Per function of `functions`, the share of stacks it is on (once per stack)."""
    counts: Counter[str] = Counter()
    for names in stacks:
        counts.update({n for n in map(normalize, names) if n in functions})
    return {f: counts[f] / len(stacks) for f in functions}


def perf_stacks(data: Path) -> list[tuple[int, list[str], float]]:
    """Process, user stack (root first) and CLOCK_MONOTONIC time of each sample, from
    `perf script` on a `--call-graph dwarf` recording made with `-k CLOCK_MONOTONIC`."""
    text = subprocess.run(["perf", "script", "-i", str(data), "-F", "pid,time,ip,sym,dso", "--no-inline"],
                          capture_output=True, text=True, check=True).stdout
    stacks: list[tuple[int, list[str], float]] = []
    for block in text.split("\n\n"):
        lines = block.strip("\n").splitlines()
        if not lines:
            continue
        head = re.match(r"^\s*(\d+)\s+(\d+\.\d+):", lines[0])
        names = []
        for line in lines[1:]:
            m = re.match(r"^\s+[0-9a-f]+ (.*) \((.*)\)$", line)
            if m and not m.group(2).startswith("[kernel"):
                names.append(m.group(1))
        if head and names:
            stacks.append((int(head.group(1)), names[::-1], float(head.group(2))))
    return stacks


@dataclass(frozen=True)
class Compared:
    """One program's stacks from each sampler, in the window both sampled."""

    ours: Stacks
    theirs: Stacks


def _launch(programs: dict[str, Path]) -> subprocess.Popen[str]:
    """A shell that starts the compared programs when a line comes on stdin (so that they
    are its children forked while bpfscope samples it, which it then follows) and prints
    their pids, in COMPARED's order."""
    script = 'read go; for p in "$@"; do "$p" ' + LIFE + ' >/dev/null & echo $!; done; wait'
    return subprocess.Popen(["sh", "-c", script, "sh", *(str(programs[name]) for name in COMPARED)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)


@pytest.fixture(scope="module")
def compared(programs: dict[str, Path], cache_dir: Path,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Compared]:
    """bpfscope (CFI, one collector following the launcher's children) and perf (DWARF,
    given the children's pids) sampling the four programs at once, until bpfscope has
    SAMPLES samples; per program, each one's stacks from the time both were sampling (a
    busy machine shifts a program's shares over time: the same window makes the comparison
    fair)."""
    require_bcc()
    data = tmp_path_factory.mktemp("perf") / "perf.data"
    shell = _launch(programs)
    assert shell.stdin is not None and shell.stdout is not None
    try:
        collector = BccCollector(Target.for_pid(shell.pid), COMPARE_FREQUENCY, unwinder=CfiUnwinder(cache_dir))
        collector.start()
        try:
            shell.stdin.write("go\n")
            shell.stdin.flush()
            pids = [int(shell.stdout.readline()) for _ in COMPARED]
            # The worker meets each child at its first samples and has its tables built then.
            collector.wait(1.0)
            assert collector.unwinder.ready(60.0)
            perf = subprocess.Popen(["perf", "record", "-q", "-F", str(COMPARE_FREQUENCY), "-e", "cpu-clock",
                                     "-k", "CLOCK_MONOTONIC", "--call-graph", "dwarf,8192", "-m", "1024",
                                     "-p", ",".join(map(str, pids)), "-o", str(data)], stdout=subprocess.DEVNULL)
            began, before = time.monotonic(), collector.stats.samples
            try:
                while collector.stats.samples - before < SAMPLES and time.monotonic() - began < MAX_SECONDS:
                    collector.wait(0.5)
            finally:
                perf.send_signal(signal.SIGINT)
                perf.wait(60)
        finally:
            group = collect(collector, 0)
    finally:
        os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()
    print(f"compile {collector.compile_seconds:.1f} s, sampled {time.monotonic() - began:.1f} s, "
          f"perf.data {data.stat().st_size >> 20} MiB")
    theirs = perf_stacks(data)
    data.unlink()  # about 600 MB (8 KB of stack a sample), and pytest keeps three runs' files
    start = collector.start_ns / 1e9
    ours = [(pid, names, start + t) for pid, names, t in user_stacks(group, set(pids))]
    assert ours and theirs, (len(ours), len(theirs))
    first = max(min(t for _p, _n, t in ours), min(t for _p, _n, t in theirs))
    last = min(max(t for _p, _n, t in ours), max(t for _p, _n, t in theirs))
    return {name: Compared([n for p, n, t in ours if p == pid and first <= t <= last],
                           [n for p, n, t in theirs if p == pid and first <= t <= last])
            for name, pid in zip(COMPARED, pids, strict=True)}


def check_against_perf(run: Compared, functions: set[str], work: str = "work") -> None:
    ours, theirs = run.ours, run.theirs
    assert len(ours) >= MIN_SAMPLES and len(theirs) >= MIN_SAMPLES, (len(ours), len(theirs))
    assert whole_share(ours) >= 0.99, Counter(s[0] for s in ours).most_common(5)
    # perf's own stacks whole too: a share compared with perf's truncated stacks means nothing.
    assert whole_share(theirs) >= 0.99, Counter(s[0] for s in theirs).most_common(5)
    assert sum("main" in map(normalize, s) for s in ours) / len(ours) >= 0.99
    a, b = totals(ours, functions), totals(theirs, functions)
    assert a[work] > 0.5, (a, b)
    worst = max(functions, key=lambda f: abs(a[f] - b[f]))
    print(f"{len(ours)}/{len(theirs)} stacks, worst difference {abs(a[worst] - b[worst]) * 100:.2f} points ({worst} "
          f"{a[worst]:.4f}/{b[worst]:.4f})")
    for f in functions:
        assert abs(a[f] - b[f]) <= 0.02, (f, a, b)


def test_c_without_frame_pointers_is_whole(compared: dict[str, Compared]) -> None:
    """gcc -O2 without frame pointers: >= 99 % of stacks reach _start and main, and each of
    the program's functions is on the same share of stacks as perf's DWARF unwinding says."""
    check_against_perf(compared["nofp"], {"main", "work", "fib", "sorter", "cmp"})


def test_frame_pointer_callback_inside_glibc_is_whole(compared: dict[str, Compared]) -> None:
    """A frame-pointer program whose qsort callback runs inside glibc (no frame pointers):
    the stacks through qsort reach main too."""
    run = compared["qsort_fp"]
    check_against_perf(run, {"main", "work", "fib", "sorter", "cmp"})
    assert sum("cmp" in s for s in run.ours) / len(run.ours) > 0.05


def test_cxx_without_frame_pointers_is_whole(compared: dict[str, Compared]) -> None:
    """g++ -O2 with std::map and std::string (libstdc++ frames on the stack)."""
    check_against_perf(compared["cxx"], {"main", "work", "fib", "mapper"})


def test_rust_release_build_is_whole(compared: dict[str, Compared]) -> None:
    """rustc -O: the Rust runtime's frames (lang_start) between _start and main."""
    check_against_perf(compared["rust"], {"main", "rustprog::main", "rustprog::work", "rustprog::fib",
                                          "rustprog::sorter"}, work="rustprog::work")


def test_frame_pointers_alone_cut_these_stacks(programs: dict[str, Path]) -> None:
    """The same program with the frame-pointer unwinder: most stacks stop early (what CFI fixes)."""
    require_bcc()
    proc = start_workload(programs["nofp"], LIFE)
    try:
        collector = BccCollector(Target.for_pid(proc.pid), 499, unwinder=FramePointerUnwinder())
        collector.start()
        group = collect(collector, 2.0)
    finally:
        proc.kill()
        proc.wait()
    stacks = [names for _pid, names, _t in user_stacks(group)]
    assert whole_share(stacks) < 0.5


def test_threads_are_whole(programs: dict[str, Path], cache_dir: Path) -> None:
    """Two threads without frame pointers: the second thread's stacks end in clone3, the
    main thread's in _start."""
    require_bcc()
    proc = start_workload(programs["threads"], LIFE)
    try:
        collector = BccCollector(Target.for_pid(proc.pid), FREQUENCY, unwinder=CfiUnwinder(cache_dir))
        collector.start()
        group = collect(collector, 3.0)
    finally:
        proc.kill()
        proc.wait()
    threads = [p for p in group.profiles if p.sample_count]
    assert len(threads) == 2
    roots = set()
    for profile in threads:
        stacks = [[group.frames[f].name for f in s if group.frames[f].kind != FrameKind.KERNEL]
                  for s, _w in profile.iter_samples()]
        stacks = [s for s in stacks if s]
        assert whole_share(stacks) >= 0.99, Counter(s[0] for s in stacks).most_common(3)
        assert sum("worker" in s for s in stacks) / len(stacks) >= 0.99
        roots |= {s[0] for s in stacks}
    assert "_start" in roots and roots - {"_start"}


def test_every_process_is_unwound_with_cfi(programs: dict[str, Path], cache_dir: Path) -> None:
    """Sampling every process (`-a`): a process met in the samples gets its tables, and from
    then on its stacks are whole (with frame pointers alone, under half are: see above)."""
    require_bcc()
    assert BccCollector(Target(), 99).unwinder.name == "CFI + Python"  # the default for `-a` too
    proc = start_workload(programs["nofp"], LIFE)
    try:
        unwinder = CfiUnwinder(cache_dir)
        collector = BccCollector(Target(), FREQUENCY, unwinder=unwinder)
        collector.start()
        deadline = time.monotonic() + MAX_SECONDS
        while not unwinder.loaded(proc.pid) and time.monotonic() < deadline:
            collector.wait(0.05)
        assert unwinder.loaded(proc.pid), "its tables never came"
        since = collector.elapsed() + 0.1  # (records already in the ring were unwound before)
        group = collect(collector, 2.0)
    finally:
        proc.kill()
        proc.wait()
    stacks = [names for _pid, names, t in user_stacks(group, {proc.pid}) if t >= since]
    assert len(stacks) > 200, len(stacks)
    assert whole_share(stacks) >= 0.99, Counter(s[0] for s in stacks).most_common(3)
    assert sum("main" in s for s in stacks) / len(stacks) >= 0.99


def test_a_library_loaded_while_sampling_is_unwound(programs: dict[str, Path], cache_dir: Path) -> None:
    """A library dlopen-ed while sampling runs gets its table at the next maps check (every
    2 s): its stacks from 4 s after the load on are whole."""
    require_bcc()
    proc = subprocess.Popen([str(programs["dlopen"]), LIFE, str(programs["libhot"])], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        collector = BccCollector(Target.for_pid(proc.pid), FREQUENCY, unwinder=CfiUnwinder(cache_dir))
        collector.start()
        collector.wait(1.0)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "loaded"
        loaded = collector.elapsed()
        group = collect(collector, 8.0)
    finally:
        proc.kill()
        proc.wait()
    stacks = [(names, t) for _pid, names, t in user_stacks(group)]
    before = [s for s, t in stacks if t < loaded]
    late = [s for s, t in stacks if t > loaded + 4.0 and "lib_fib" in s]
    assert before and whole_share(before) >= 0.99
    assert len(late) > 500, len(late)
    assert whole_share(late) >= 0.99, Counter(s[0] for s in late).most_common(3)
    assert sum("lib_work" in s and "main" in s for s in late) / len(late) >= 0.99


def test_a_target_that_exits_keeps_its_stacks(programs: dict[str, Path], cache_dir: Path) -> None:
    """The target works 2 s and exits in a 5 s capture: its samples are named and whole."""
    require_bcc()
    proc = subprocess.Popen([str(programs["nofp"]), "2", "wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        collector = BccCollector(Target.for_pid(proc.pid), FREQUENCY, unwinder=CfiUnwinder(cache_dir))
        collector.start()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        group = collect(collector, 5.0)
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.wait()
    assert collector.exit_note
    stacks = [names for _pid, names, _t in user_stacks(group)]
    assert len(stacks) > 300
    assert whole_share(stacks) >= 0.99
    assert sum("fib" in s and "main" in s for s in stacks) / len(stacks) > 0.2


def test_perf_fallback_unwinds_with_dwarf(programs: dict[str, Path]) -> None:
    """The perf collector on a program without frame pointers: DWARF unwinding, whole stacks."""
    from collectors.live.perf_collector import PerfCollector, perf_unavailable_reason

    target_proc = start_workload(programs["nofp"], LIFE)
    try:
        target = Target.for_pid(target_proc.pid)
        reason = perf_unavailable_reason(target)
        assert reason is None, reason
        collector = PerfCollector(target, 199)
        collector.start()
        began = time.monotonic()
        while collector.stats.samples < 400 and time.monotonic() - began < MAX_SECONDS:
            collector.wait(0.5)
        group = collect(collector, 0)
    finally:
        target_proc.kill()
        target_proc.wait()
    stacks = [names for _pid, names, _t in user_stacks(group)]
    assert len(stacks) >= 300
    assert whole_share(stacks) >= 0.99, Counter(s[0] for s in stacks).most_common(3)
    assert sum("main" in s and "work" in s for s in stacks) / len(stacks) >= 0.99


def _break_fde(exe: Path, function: str, out: Path) -> Path:
    """A copy of `exe` whose FDE for `function` says CFA = rsp + 0: a rule under which the
    stack pointer never moves up (what a loop in hostile CFI comes to)."""
    from elftools.dwarf.callframe import FDE
    from elftools.elf.elffile import ELFFile

    data = bytearray(exe.read_bytes())
    with open(exe, "rb") as f:
        elf = ELFFile(f)
        address = next(s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()
                       if s.name == function)
        section = elf.get_section_by_name(".eh_frame")
        fde = next(e for e in elf.get_dwarf_info().EH_CFI_entries()
                   if isinstance(e, FDE) and e.header["initial_location"] == address)
        at = section["sh_offset"] + fde.offset + 17  # length, CIE pointer, start, range, augmentation size
        end = section["sh_offset"] + fde.offset + 4 + fde.header["length"]
    data[at:end] = bytes([0x0C, 0x07, 0x00]) + bytes(end - at - 3)  # DW_CFA_def_cfa rsp, 0; nops
    out.write_bytes(bytes(data))
    out.chmod(0o755)
    return out


def test_hostile_cfi_cuts_only_its_own_stacks(programs: dict[str, Path], tmp_path: Path) -> None:
    """A program whose CFI for `fib` is broken: the stacks in fib are cut there and counted
    as cut; every other stack of the same process stays whole."""
    require_bcc()
    exe = _break_fde(programs["nofp"], "fib", tmp_path / "nofp-broken")
    proc = start_workload(exe, LIFE)
    try:
        collector = BccCollector(Target.for_pid(proc.pid), FREQUENCY, unwinder=CfiUnwinder(None))
        collector.start()
        group = collect(collector, 3.0)
    finally:
        proc.kill()
        proc.wait()
    stacks = [names for _pid, names, _t in user_stacks(group)]
    in_fib = [s for s in stacks if "fib" in s]
    others = [s for s in stacks if "fib" not in s]
    assert len(in_fib) > 100 and len(others) > 100, (len(in_fib), len(others))
    assert whole_share(in_fib) == 0.0
    assert whole_share(others) >= 0.99
    assert collector.stats.truncated_stacks >= len(in_fib)
