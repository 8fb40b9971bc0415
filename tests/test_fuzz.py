"""Hostile and broken input: every reader, and `convert` and `top`, on random and damaged files.

Each input must end, within `CASE_SECONDS`, either with a profile that keeps the model's
promises (and writes back validly) or with a one-line `ProfileError`; never another
exception, never a hang. `make test` runs a bounded, deterministic slice; `make fuzz` runs
the same tests with `BPFSCOPE_FUZZ_EXAMPLES` hypothesis examples per test (randomized) and
`BPFSCOPE_FUZZ_SEEDS` mutations of each kind per fixture, and prints the time per input.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.formats import limits, pprof
from collectors.formats.detect import parse_profile
from collectors.formats.errors import ProfileError
from collectors.formats.text import gunzip_if_needed
from tests import fuzz_corpus as fc

pytestmark = pytest.mark.fuzz

LONG = "BPFSCOPE_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("BPFSCOPE_FUZZ_EXAMPLES", "60"))
SEEDS = int(os.environ.get("BPFSCOPE_FUZZ_SEEDS", "1"))
CLI_CASES = int(os.environ.get("BPFSCOPE_FUZZ_CLI_CASES", "6"))
ROOT = Path(__file__).resolve().parents[1]

FUZZ = settings(max_examples=EXAMPLES, derandomize=not LONG, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

OUTCOMES: list[fc.Outcome] = []
"""Every input's outcome in this run, for the summary `make fuzz` prints."""


def check(data: bytes, label: str) -> None:
    try:
        OUTCOMES.append(fc.check_input(data, label))
    except (AssertionError, fc.CaseTimeout) as e:
        raise AssertionError(f"{label}: {e}") from e


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    if OUTCOMES:
        print(f"\nfuzz: {fc.describe(OUTCOMES)}", file=sys.__stderr__)


# --- strategies ----------------------------------------------------------------------

HOSTILE_FLOATS = (1e308, -1e308, 1.7976931348623157e308, 5e-324, -0.0, 1e18, 1e19, 0.5)
HOSTILE_INTS = (-1, 0, 2**31, 2**53 + 1, 2**62, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63))

leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 50), st.sampled_from(HOSTILE_INTS), st.floats(),
    st.sampled_from(HOSTILE_FLOATS), st.text(max_size=12),
)
anything = st.recursive(leaf, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
small = st.integers(-2, 12)
index = st.one_of(small, small, st.sampled_from(HOSTILE_INTS), st.floats(-1, 12), leaf)
number = st.one_of(st.integers(0, 1000), st.integers(0, 1000), st.floats(), st.sampled_from(HOSTILE_FLOATS),
                   st.sampled_from(HOSTILE_INTS), leaf)
names = st.one_of(st.text(max_size=10), st.sampled_from(["(root)", "(idle)", "(program)", "(garbage collector)",
                                                           "[unknown]", "", "a;b", "f\x00", "[b]\x1b[31m"]))
name_or_junk = st.one_of(names, names, leaf)


def to_json(obj: object) -> bytes:
    # Python writes NaN and Infinity, which its reader (and so ours) takes back.
    return json.dumps(obj, allow_nan=True).encode()


frame = st.one_of(st.fixed_dictionaries({"name": name_or_junk},
                                        optional={"file": name_or_junk, "line": index, "col": index}), anything)
speedscope_profile = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["sampled", "sampled", "evented", "other"]), "name": name_or_junk,
         "unit": st.sampled_from(["none", "nanoseconds", "milliseconds", "seconds", "bytes", "parsecs"]),
         "startValue": number, "endValue": number},
        optional={"samples": st.one_of(st.lists(st.lists(index, max_size=6), max_size=12), anything),
                  "weights": st.one_of(st.lists(number, max_size=12), anything),
                  "events": st.lists(st.fixed_dictionaries(
                      {"type": st.sampled_from(["O", "C", "O", "C", "X"]), "frame": index, "at": number}),
                      max_size=16),
                  "bpfscope": st.one_of(anything, st.fixed_dictionaries(
                      {}, optional={"pid": index, "tid": index, "samplePeriod": number,
                                    "times": st.lists(number, max_size=12)}))}),
    anything)
speedscope_doc = st.fixed_dictionaries(
    {"$schema": st.just("https://www.speedscope.app/file-format-schema.json"),
     "shared": st.one_of(st.fixed_dictionaries({"frames": st.one_of(st.lists(frame, max_size=8), anything)}),
                         anything),
     "profiles": st.one_of(st.lists(speedscope_profile, max_size=3), anything)},
    optional={"name": name_or_junk, "activeProfileIndex": index, "exporter": name_or_junk,
              "bpfscope": st.one_of(anything, st.fixed_dictionaries(
                  {"frameKinds": st.lists(st.sampled_from(["user", "kernel", "jit", "x"]), max_size=8)}))})

call_frame = st.fixed_dictionaries({"functionName": name_or_junk},
                                   optional={"url": name_or_junk, "lineNumber": index, "columnNumber": index})
cpu_node = st.one_of(st.fixed_dictionaries(
    {"id": index, "callFrame": st.one_of(call_frame, anything)},
    optional={"children": st.one_of(st.lists(index, max_size=4), anything), "parent": index}), anything)
cpuprofile_doc = st.one_of(
    st.fixed_dictionaries({"nodes": st.lists(cpu_node, max_size=10), "samples": st.lists(index, max_size=16),
                           "timeDeltas": st.one_of(st.lists(number, max_size=16), anything)},
                          optional={"startTime": number, "endTime": number}),
    st.fixed_dictionaries({"head": st.recursive(
        st.fixed_dictionaries({"id": index, "functionName": name_or_junk}),
        lambda inner: st.fixed_dictionaries({"id": index, "functionName": name_or_junk,
                                             "children": st.lists(inner, max_size=3)}), max_leaves=8),
        "samples": st.lists(index, max_size=10), "timestamps": st.lists(number, max_size=10)},
        optional={"startTime": number, "endTime": number}))

ident = st.one_of(st.integers(0, 3), st.sampled_from(["1", "main", "x"]), leaf)
trace_event = st.one_of(st.fixed_dictionaries(
    {"ph": st.sampled_from(["B", "E", "X", "X", "M", "I", "P", "C"]), "ts": number},
    optional={"name": st.one_of(st.sampled_from(["a", "b", "Profile", "ProfileChunk", "CpuProfile",
                                                 "thread_name", "process_name"]), name_or_junk),
              "dur": number, "pid": ident, "tid": ident, "id": leaf,
              "args": st.one_of(anything, st.fixed_dictionaries(
                  {"data": st.one_of(anything, st.fixed_dictionaries(
                      {}, optional={"cpuProfile": st.one_of(cpuprofile_doc, anything),
                                    "timeDeltas": st.lists(number, max_size=6), "startTime": number}))}))}),
    anything)
trace_doc = st.one_of(
    st.lists(trace_event, min_size=1, max_size=20),
    st.fixed_dictionaries({"traceEvents": st.lists(trace_event, max_size=10)},
                          optional={"stackFrames": st.one_of(st.dictionaries(
                              st.sampled_from(["1", "2", "3", "4"]),
                              st.fixed_dictionaries({"name": name_or_junk}, optional={"parent": index}), max_size=4),
                              anything),
                              "samples": st.lists(st.one_of(st.fixed_dictionaries(
                                  {"ts": number, "sf": index}, optional={"pid": ident, "tid": ident}), anything),
                                  max_size=10)}))

count_text = st.one_of(st.integers(0, 10**6).map(str), st.sampled_from(
    ["1e300", "1e15", "nan", "inf", "-1", "1.5", "\u00b2", "\u0663", "9" * 30, "9" * 5000, "0x10", ""]),
    st.text(max_size=4))
frame_name = st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=8)
folded_line = st.builds(lambda frames, count: f"{';'.join(frames)} {count}",
                        st.lists(frame_name, max_size=8), count_text)
folded_text = st.lists(st.one_of(folded_line, folded_line, st.text(max_size=20)), min_size=1, max_size=20) \
    .map("\n".join)

perf_number = st.one_of(st.integers(0, 10**6).map(str), st.sampled_from(["9" * 30, "9" * 5000, "\u00b2", "1e400",
                                                                         "nan", "-1", "0"]))
perf_header = st.builds(
    lambda comm, pid, tid, time, period, event: f"{comm} {pid}/{tid} [000] {time}: {period} {event}:",
    st.sampled_from(["prog", "V8 Worker", "a b c", "x"]), perf_number, perf_number,
    st.one_of(st.floats(0, 1e6).map(lambda t: f"{t:.6f}"), perf_number), perf_number,
    st.sampled_from(["cpu-clock", "cycles", "task-clock:u", ""]))
perf_frame = st.one_of(
    st.builds(lambda addr, sym, dso: f"\t{addr:x} {sym} ({dso})", st.integers(0, 2**64), names,
              st.sampled_from(["/bin/x", "[kernel.kallsyms]", "[unknown]", "/tmp/perf-1.map", "x (deleted)"])),
    st.text(max_size=12).map(lambda t: "\t" + t), st.just("\t"), st.just(""), st.text(max_size=30))
perf_sample = st.builds(lambda header, frames: "\n".join([header, *frames]), perf_header,
                        st.lists(perf_frame, max_size=6))
perf_text = st.lists(perf_sample, min_size=1, max_size=6).map(lambda samples: "\n\n".join(samples) + "\n")


@st.composite
def pprof_bytes(draw: st.DrawFn) -> bytes:
    """A `perftools.profiles.Profile` with indices and ids that may point nowhere."""
    message: Any = pprof.ProfileMessage()
    strings = draw(st.lists(st.one_of(names, st.sampled_from(["cpu", "nanoseconds", "samples", "count", "bytes",
                                                              "[kernel.kallsyms]"])), max_size=8))
    if draw(st.booleans()):
        strings = ["", *strings]
    message.string_table.extend(strings)
    n = len(strings) + 1
    ref = st.one_of(st.integers(0, n), st.integers(-(2**63), 2**63 - 1))
    uid = st.one_of(st.integers(0, 6), st.integers(0, 2**64 - 1))
    value = st.one_of(st.integers(-3, 1000), st.integers(-(2**63), 2**63 - 1), st.sampled_from([2**62, 2**63 - 1]))
    n_types = draw(st.integers(0, 3))
    for _ in range(n_types):
        message.sample_type.add(type=draw(ref), unit=draw(ref))
    for _ in range(draw(st.integers(0, 4))):
        message.function.add(id=draw(uid), name=draw(ref), system_name=draw(ref), filename=draw(ref),
                             start_line=draw(st.integers(-(2**63), 2**63 - 1)))
    for _ in range(draw(st.integers(0, 2))):
        message.mapping.add(id=draw(uid), filename=draw(ref))
    for _ in range(draw(st.integers(0, 5))):
        loc = message.location.add(id=draw(uid), mapping_id=draw(uid), address=draw(uid))
        for _ in range(draw(st.integers(0, 3))):
            loc.line.add(function_id=draw(uid), line=draw(st.integers(-(2**63), 2**63 - 1)))
    for _ in range(draw(st.integers(0, 6))):
        message.sample.add(location_id=draw(st.lists(uid, max_size=6)),
                           value=draw(st.lists(value, min_size=max(0, n_types - 1), max_size=n_types + 1)))
    if draw(st.booleans()):
        message.default_sample_type = draw(ref)
    if draw(st.booleans()):
        message.period = draw(value)
        message.period_type.type, message.period_type.unit = draw(ref), draw(ref)
    data = bytes(message.SerializeToString())
    return gzip.compress(data, mtime=0) if draw(st.booleans()) else data


# --- structured fuzzing --------------------------------------------------------------


@FUZZ
@given(speedscope_doc)
def test_speedscope_documents(doc: dict[str, Any]) -> None:
    """Random speedscope documents (wrong types, missing keys, NaN and huge numbers) read or refuse cleanly."""
    check(to_json(doc), "speedscope document")


@FUZZ
@given(cpuprofile_doc)
def test_cpuprofile_documents(doc: dict[str, Any]) -> None:
    """Random .cpuprofile documents (both shapes, bad node links and deltas) read or refuse cleanly."""
    check(to_json(doc), "cpuprofile document")


@FUZZ
@given(trace_doc)
def test_trace_event_documents(doc: object) -> None:
    """Random trace-event documents (durations, sampled stacks, embedded CPU profiles) read or refuse cleanly."""
    check(to_json(doc), "trace-event document")


@FUZZ
@given(folded_text)
def test_folded_text(text: str) -> None:
    """Random folded lines (odd names, bad and huge counts) read or refuse cleanly."""
    check(text.encode("utf-8", errors="surrogatepass"), "folded text")


@FUZZ
@given(perf_text)
def test_perf_script_text(text: str) -> None:
    """Random perf script samples (odd headers, huge ids, broken frame lines) read or refuse cleanly."""
    check(text.encode("utf-8", errors="surrogatepass"), "perf script text")


@FUZZ
@given(pprof_bytes())
def test_pprof_messages(data: bytes) -> None:
    """Random pprof messages (indices out of range, huge ids and values) read or refuse cleanly."""
    check(data, "pprof message")


@FUZZ
@given(st.binary(max_size=2048))
def test_raw_bytes(data: bytes) -> None:
    """Arbitrary bytes read or refuse cleanly."""
    check(data, "bytes")


# --- the corpus ---------------------------------------------------------------------


@pytest.mark.parametrize("path", fc.fixture_paths(), ids=fc.fixture_label)
def test_mutated_fixture(path: Path) -> None:
    """Each real capture under every mutation (bit flips, truncation, splices, NULs, a 1 MB line,
    junk, repeats, hostile numbers, gzip, UTF-16) reads or refuses cleanly."""
    for case in fc.mutated_cases(range(SEEDS), (path,)):
        check(case.data, case.label)


@pytest.mark.parametrize("case", list(fc.monsters()), ids=lambda c: c.label)
def test_monster(case: fc.Case) -> None:
    """Deep stacks, huge lines and numbers, deep JSON, bad gzip and odd UTF-16 read or refuse cleanly."""
    check(case.data, case.label)


def test_the_fixtures_themselves() -> None:
    """Every unmutated capture reads or refuses cleanly, and the supported ones write back validly."""
    read = 0
    for path in fc.fixture_paths():
        outcome = fc.check_input(fc.fixture_bytes(path), fc.fixture_label(path))
        OUTCOMES.append(outcome)
        read += outcome.error is None
    assert read >= 50, f"only {read} fixtures read: the round-trip checks would prove little"


@pytest.mark.parametrize("path", fc.fixture_paths(), ids=fc.fixture_label)
def test_a_fixture_reads_the_same_in_every_encoding(path: Path) -> None:
    """Metamorphic: an unmutated capture re-gzipped, with CRLF line ends or in UTF-16 reads to exactly the
    same profiles (same samples, frames, weights and times) as the capture itself, or is refused the same
    way; and what reads writes back to speedscope and reads again to exactly the same profiles."""
    data = fc.fixture_bytes(path)
    try:
        expected = fc.fingerprint(parse_profile(data, "fixture"))
    except ProfileError as e:
        for how, other in fc.same_input_other_encodings(data).items():
            with pytest.raises(ProfileError):
                parse_profile(other, "fixture")
            assert str(e), how
        return
    for how, other in fc.same_input_other_encodings(data).items():
        try:
            got = fc.fingerprint(parse_profile(other, "fixture"))
        except ProfileError as e:
            raise AssertionError(f"{how}: refused ({e}) though the original reads") from e
        assert got == expected, f"{how} reads to other profiles"
    from collectors.formats import speedscope

    again = parse_profile(speedscope.dumps(parse_profile(data, "fixture"), "fuzz").encode(), "again")
    assert fc.fingerprint(again) == expected, "the speedscope round trip changed the profiles"


def test_the_fuzz_corpus_honours_bpfscope_shared(tmp_path: Path) -> None:
    """The corpus reads its fixtures from $BPFSCOPE_SHARED, like every other test."""
    code = "from tests import fuzz_corpus as fc; print(fc.PROFILES)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "BPFSCOPE_SHARED": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(tmp_path / "fixtures" / "speedscope" / "profiles")


# --- the CLI ---------------------------------------------------------------------------


def _cli_cases() -> list[fc.Case]:
    monsters = [c for c in fc.monsters() if c.label.startswith(("JSON", "gzip", "UTF-16", "folded: count"))]
    mutated = [c for i, c in enumerate(fc.mutated_cases(range(SEEDS))) if i % 97 == 0]
    cases = [*monsters[::3], *mutated]
    return cases[:CLI_CASES] if not LONG else cases


def _bpfscope(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("case", _cli_cases(), ids=lambda c: c.label)
def test_cli_convert_and_top(case: fc.Case, tmp_path: Path) -> None:
    """`convert` and `top` on a damaged file: exit 0, or exit 2 with exactly one stderr line, no
    traceback and no output file."""
    source = tmp_path / "input.prof"
    source.write_bytes(case.data)
    target = tmp_path / "out.speedscope.json"
    converted = _bpfscope("convert", str(source), "-o", str(target))
    top = _bpfscope("top", str(source))
    for result in (converted, top):
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        assert result.returncode in (0, 2), result
        if result.returncode == 2:
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert converted.returncode == top.returncode
    if converted.returncode == 0:
        fc.check_input(target.read_bytes(), f"{case.label} converted")
    else:
        assert sorted(p.name for p in tmp_path.iterdir()) == ["input.prof"], "a failed convert left a file"


# --- memory bounded on malicious sizes -------------------------------------------------


def _nested_trace(depth: int) -> bytes:
    events = [{"ph": "B", "name": f"f{i}", "ts": i, "pid": 1, "tid": 1} for i in range(depth)]
    events += [{"ph": "E", "name": f"f{i}", "ts": 2 * depth - i, "pid": 1, "tid": 1} for i in reversed(range(depth))]
    return to_json(events)


def test_deep_varied_trace_is_refused_by_the_stack_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A trace whose every event makes a new deep stack (quadratic in the file) is refused once its
    stacks pass the budget, not allocated."""
    monkeypatch.setattr(limits, "MAX_STACK_FRAMES", 100_000)
    with pytest.raises(ProfileError, match="distinct stacks hold more than 100,000 frames"):
        parse_profile(_nested_trace(1000))


def test_deep_trace_within_the_budget_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same shape under the budget reads in full (the budget counts frames, not events)."""
    monkeypatch.setattr(limits, "MAX_STACK_FRAMES", 1_000_000)
    group = parse_profile(_nested_trace(1000))
    assert max(map(len, group.profiles[0].stacks.stacks)) == 1000


def test_deep_cpuprofile_chain_is_refused_by_the_stack_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A .cpuprofile sampling every node of a long chain (each sample a new, deeper stack) is refused
    past the budget."""
    monkeypatch.setattr(limits, "MAX_STACK_FRAMES", 100_000)
    n = 1000
    nodes = [{"id": i + 1, "callFrame": {"functionName": f"f{i}"}, **({"parent": i} if i else {})} for i in range(n)]
    doc = {"nodes": nodes, "samples": list(range(1, n + 1)), "timeDeltas": [1] * n, "startTime": 0}
    with pytest.raises(ProfileError, match="distinct stacks hold more than"):
        parse_profile(to_json(doc))


def test_pprof_inlined_lines_times_repeats_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pprof location with 1,000 inlined lines that one sample lists 1,000 times (a million frames
    from a few kilobytes) is refused past the budget."""
    monkeypatch.setattr(limits, "MAX_STACK_FRAMES", 100_000)
    m: Any = pprof.ProfileMessage()
    m.string_table.extend(["", "cpu", "nanoseconds", "f"])
    m.sample_type.add(type=1, unit=2)
    m.function.add(id=1, name=3)
    loc = m.location.add(id=1)
    for line in range(1000):
        loc.line.add(function_id=1, line=line + 1)
    m.sample.add(location_id=[1] * 1000, value=[1])
    with pytest.raises(ProfileError, match="distinct stacks hold more than"):
        parse_profile(bytes(m.SerializeToString()))


def test_deep_trace_toggling_its_leaf_is_refused_by_the_work_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deep trace whose top frame opens and closes again and again (each change copies the whole
    stack) is refused once that copying passes the work budget, instead of running for minutes."""
    monkeypatch.setattr(limits, "MAX_STACK_WORK", 1_000_000)
    depth = 2000
    events = [{"ph": "B", "name": f"f{i}", "ts": 0, "pid": 1, "tid": 1} for i in range(depth)]
    for k in range(1000):
        events.append({"ph": "B", "name": "leaf", "ts": 2 * k + 1, "pid": 1, "tid": 1})
        events.append({"ph": "E", "name": "leaf", "ts": 2 * k + 2, "pid": 1, "tid": 1})
    with pytest.raises(ProfileError, match="copying more than 1,000,000 frames"):
        parse_profile(to_json(events))


def test_gzip_bomb_stops_at_the_limit() -> None:
    """Unpacking stops at the limit with a ProfileError instead of inflating the whole bomb."""
    bomb = gzip.compress(bytes(8 << 20), compresslevel=9)
    assert len(bomb) < 64 << 10
    with pytest.raises(ProfileError, match="unpacks to more than 1,048,576 bytes"):
        gunzip_if_needed(bomb, 1 << 20)
    assert gunzip_if_needed(bomb, 8 << 20) == bytes(8 << 20)


def test_pprof_value_of_2_to_the_62_is_a_weight() -> None:
    """A huge but valid sample value is a weight like any other, not a size to allocate."""
    data = next(c.data for c in fc.monsters() if c.label == "pprof: value 2^62")
    group = parse_profile(data)
    assert group.profiles[0].total_weight() == 2.0**63


def test_weights_adding_up_past_a_float_are_refused() -> None:
    """Finite weights whose total overflows would make every total infinite: refused."""
    data = next(c.data for c in fc.monsters() if c.label == "speedscope: weight 1e308")
    with pytest.raises(ProfileError, match="add up to more than a number can hold"):
        parse_profile(data)


def test_time_deltas_beyond_any_real_time_are_refused() -> None:
    """A .cpuprofile time delta of 1e308 µs is damage, refused before sums of them overflow."""
    data = next(c.data for c in fc.monsters() if c.label == "cpuprofile: delta 1e308")
    with pytest.raises(ProfileError, match="time delta 0 is 1e\\+308, beyond any real time"):
        parse_profile(data)


@pytest.mark.parametrize("count", ["9" * 5000, "\u00b2"])
def test_perf_script_periods_int_cannot_read_are_refused(count: str) -> None:
    """A 5,000-digit period or a superscript digit (both pass `isdigit`) is a ProfileError, not a ValueError."""
    line = f"prog 1/1 [000] 1.000000: {count} cpu-clock:\n\t1 f (/x)\n\n"
    with pytest.raises(ProfileError):
        parse_profile((line * 2).encode())


def test_folded_first_frame_in_brackets_is_not_json() -> None:
    """Folded stacks starting `[unknown];...` (perf's unknown root frames) are folded, not broken JSON."""
    group = parse_profile(b"[unknown];a;b 3\n[unknown];c 1\n")
    assert group.profiles[0].total_weight() == 4.0


def test_pprof_whose_strings_fill_the_first_4_kib_is_pprof() -> None:
    """A pprof whose long string table makes its head look like text is still read as pprof
    (our own pprof export of a trace with long frame names was refused before)."""
    m: Any = pprof.ProfileMessage()
    m.string_table.extend(["", "samples", "count", "f" * 8000])
    m.sample_type.add(type=1, unit=2)
    m.function.add(id=1, name=3)
    m.location.add(id=1).line.add(function_id=1)
    m.sample.add(location_id=[1], value=[7])
    group = parse_profile(bytes(m.SerializeToString()))
    assert group.profiles[0].total_weight() == 7.0


def test_folded_whose_every_line_starts_with_a_hash_reads() -> None:
    """Folded output whose only root frame is named `#...` reads back (the sniffer used to take
    every line for a comment while the reader took them for samples)."""
    group = parse_profile(b"#root;f 2\n#root;g 1\n")
    assert group.profiles[0].total_weight() == 3.0
