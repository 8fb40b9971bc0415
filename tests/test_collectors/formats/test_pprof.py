"""pprof reader and writer: speedscope's fixture, round trips, and damaged input."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from collectors.calltree import profile_function_totals
from collectors.formats import folded, pprof
from collectors.formats.errors import ProfileError
from collectors.formats.text import decode_text
from collectors.profile import Frame, FrameKind, ProfileGroup, Unit
from tests.speedscope_expected import (
    PROFILES,
    assert_frames_close,
    expected_case,
    expected_summary,
    summarize,
)

SIMPLE_PROF = PROFILES / "pprof" / "simple.prof"
SIMPLE_FOLDED = PROFILES / "stackcollapse" / "simple.txt"


def simple_bytes() -> bytes:
    return gzip.decompress(SIMPLE_PROF.read_bytes())


def read_simple() -> ProfileGroup:
    return pprof.read_bytes(simple_bytes(), "simple.prof")


def make_message(strings: list[str], *, functions: list[tuple[int, int]],
                 locations: list[tuple[int, list[int]]], samples: list[tuple[list[int], list[int]]],
                 sample_types: list[tuple[int, int]] | None = None, default_sample_type: int = 0) -> bytes:
    """A serialized Profile: functions are (id, name index); locations (id, function ids of
    its lines, innermost first); samples (location ids leaf first, values)."""
    m: Any = pprof.ProfileMessage()
    m.string_table.extend(strings)
    for type_index, unit_index in sample_types or [(1, 2)]:
        m.sample_type.add(type=type_index, unit=unit_index)
    m.default_sample_type = default_sample_type
    for fid, name in functions:
        m.function.add(id=fid, name=name)
    for lid, function_ids in locations:
        loc = m.location.add(id=lid)
        for f in function_ids:
            loc.line.add(function_id=f)
    for location_ids, values in samples:
        m.sample.add(location_id=location_ids, value=values)
    return bytes(m.SerializeToString())


def two_function_profile(**changes: Any) -> bytes:
    """main calls work: strings ["", samples, count, main, work]."""
    args: dict[str, Any] = {
        "functions": [(1, 3), (2, 4)],
        "locations": [(10, [1]), (20, [2])],
        "samples": [([20, 10], [5])],
    }
    args.update(changes)
    return make_message(["", "samples", "count", "main", "work"], **args)


# --- speedscope's fixture ---------------------------------------------------------------


def test_fixture_frames_match_speedscope() -> None:
    """Every function's self and total weight equals what speedscope's importer computed."""
    raw = expected_case("pprof", "importAsPprofProfile")["profiles"][0]
    ours = summarize(read_simple().profiles[0])
    assert_frames_close(ours.frames, expected_summary(raw).frames)


def test_fixture_stacks_match_speedscope() -> None:
    """The samples, in file order, are speedscope's stacks with the same weights and unit."""
    raw = expected_case("pprof", "importAsPprofProfile")["profiles"][0]
    ours = summarize(read_simple().profiles[0])
    theirs = expected_summary(raw)
    assert (ours.name, ours.stacks) == (theirs.name, theirs.stacks)


def test_fixture_frame_lines_match_speedscope() -> None:
    """A function's line is the one speedscope shows (the last line a location gives it)."""
    raw = expected_case("pprof", "importAsPprofProfile")["profiles"][0]
    theirs = {(f["name"], f["file"], f["line"]) for f in raw["frames"]}
    assert {(f.name, f.file, f.line) for f in read_simple().frames} == theirs


def test_fixture_has_nanosecond_unit_period_and_no_times() -> None:
    """cpu/nanoseconds (the last sample type) sets the unit; pprof has no per-sample times."""
    profile = read_simple().profiles[0]
    assert profile.unit is Unit.NANOSECONDS
    assert profile.times is None
    assert profile.sample_period == pytest.approx(0.01)


def test_sniff_accepts_the_fixture() -> None:
    """The gunzipped fixture is recognised as pprof."""
    assert pprof.sniff(simple_bytes())


def test_sniff_rejects_json_and_folded_text() -> None:
    """Text formats are not mistaken for pprof."""
    assert not pprof.sniff(json.dumps({"shared": {"frames": []}, "profiles": []}).encode())
    assert not pprof.sniff(SIMPLE_FOLDED.read_bytes())


def test_sniff_rejects_a_message_without_sample_types() -> None:
    """A protobuf that parses but has no sample type is not a profile."""
    m: Any = pprof.ProfileMessage()
    m.string_table.extend(["", "x"])
    assert not pprof.sniff(m.SerializeToString())


# --- reading semantics ------------------------------------------------------------------


def test_inlined_lines_become_frames_outermost_first() -> None:
    """A location with lines [inner, work] (inner inlined into work) is two frames, the last
    line being the caller: the stack reads main;work;inner."""
    data = make_message(["", "samples", "count", "main", "work", "inner"],
                        functions=[(1, 3), (2, 4), (3, 5)],
                        locations=[(10, [1]), (20, [3, 2])],
                        samples=[([20, 10], [1])])
    summary = summarize(pprof.read_bytes(data).profiles[0], weights=False)
    assert summary.stacks == ["main;work;inner"]


def test_default_sample_type_is_chosen_by_name() -> None:
    """`default_sample_type` is the string index of a type's name, not a position."""
    data = make_message(["", "alloc_space", "bytes", "inuse_space", "samples", "count", "main"],
                        sample_types=[(4, 5), (1, 2), (3, 2)], default_sample_type=1,
                        functions=[(1, 6)], locations=[(10, [1])], samples=[([10], [1, 2048, 7])])
    profile = pprof.read_bytes(data).profiles[0]
    assert (profile.unit, profile.total_weight()) == (Unit.BYTES, 2048.0)


def test_without_default_the_last_sample_type_is_used() -> None:
    """With no default, the last sample type gives the weights (speedscope's choice)."""
    data = make_message(["", "samples", "count", "cpu", "milliseconds", "main"],
                        sample_types=[(1, 2), (3, 4)],
                        functions=[(1, 5)], locations=[(10, [1])], samples=[([10], [3, 30])])
    profile = pprof.read_bytes(data).profiles[0]
    assert (profile.unit, profile.total_weight()) == (Unit.MILLISECONDS, 30.0)


def test_unsymbolized_location_is_named_by_address() -> None:
    """A location with no lines keeps its time as a frame named by its address."""
    m: Any = pprof.ProfileMessage()
    m.string_table.extend(["", "samples", "count"])
    m.sample_type.add(type=1, unit=2)
    m.location.add(id=1, address=0x401000)
    m.sample.add(location_id=[1], value=[4])
    profile = pprof.read_bytes(m.SerializeToString()).profiles[0]
    assert summarize(profile).stacks == ["0x401000 4"]


# --- damaged input ----------------------------------------------------------------------


def test_corrupt_bytes_raise() -> None:
    """Bytes that are not a protobuf are a ProfileError."""
    with pytest.raises(ProfileError):
        pprof.read_bytes(b"\xff" * 32)


def test_truncated_protobuf_raises() -> None:
    """The fixture cut in half does not decode."""
    data = simple_bytes()
    with pytest.raises(ProfileError, match="truncated or corrupt"):
        pprof.read_bytes(data[: len(data) // 2])


def test_bad_string_index_raises() -> None:
    """A function name pointing past the string table is a ProfileError."""
    with pytest.raises(ProfileError, match="string index 99"):
        pprof.read_bytes(two_function_profile(functions=[(1, 3), (2, 99)]))


def test_missing_location_raises() -> None:
    """A sample naming a location that does not exist is a ProfileError."""
    with pytest.raises(ProfileError, match="location 30"):
        pprof.read_bytes(two_function_profile(samples=[([30, 10], [5])]))


def test_missing_function_raises() -> None:
    """A line naming a function that does not exist is a ProfileError."""
    with pytest.raises(ProfileError, match="function 7"):
        pprof.read_bytes(two_function_profile(locations=[(10, [1]), (20, [7])]))


def test_negative_value_raises() -> None:
    """A negative sample value (a diff profile) is refused."""
    with pytest.raises(ProfileError, match="negative"):
        pprof.read_bytes(two_function_profile(samples=[([20, 10], [-5])]))


def test_value_count_must_match_sample_types() -> None:
    """A sample with more values than sample types is a ProfileError."""
    with pytest.raises(ProfileError, match="2 values"):
        pprof.read_bytes(two_function_profile(samples=[([20, 10], [5, 6])]))


def test_error_messages_are_one_sentence() -> None:
    """Errors are one line with no traceback-ish text (the caller adds the file name)."""
    with pytest.raises(ProfileError) as info:
        pprof.read_bytes(b"\xff" * 32)
    assert "\n" not in str(info.value)


# --- writing ----------------------------------------------------------------------------


def round_trip(group: ProfileGroup) -> ProfileGroup:
    return pprof.read_bytes(gzip.decompress(pprof.write(group)), group.name)


def test_written_bytes_are_gzipped_pprof() -> None:
    """write() gives gzip, and the inside parses with our Profile class as a valid profile."""
    data = pprof.write(read_simple())
    assert data[:2] == b"\x1f\x8b"
    m: Any = pprof.ProfileMessage.FromString(gzip.decompress(data))
    strings = list(m.string_table)
    assert strings[0] == ""
    assert [(strings[t.type], strings[t.unit]) for t in m.sample_type] == [("cpu", "nanoseconds")]
    location_ids = {loc.id for loc in m.location}
    function_ids = {f.id for f in m.function}
    assert 0 not in location_ids and 0 not in function_ids
    assert all(set(s.location_id) <= location_ids for s in m.sample)
    assert all(ln.function_id in function_ids for loc in m.location for ln in loc.line)


def test_fixture_round_trip_keeps_totals_and_stacks() -> None:
    """pprof -> write -> read gives the same function totals and stacks."""
    group = read_simple()
    before, after = summarize(group.profiles[0]), summarize(round_trip(group).profiles[0])
    assert_frames_close(after.frames, before.frames)
    assert after.stacks == before.stacks


def test_folded_round_trip_keeps_totals_and_stacks() -> None:
    """A folded file written as pprof reads back with the same totals and stacks, as counts."""
    group = folded.read(decode_text(SIMPLE_FOLDED.read_bytes()), "simple.txt")
    back = round_trip(group)
    assert back.profiles[0].unit is Unit.NONE
    before, after = summarize(group.profiles[0]), summarize(back.profiles[0])
    assert_frames_close(after.frames, before.frames)
    assert after.stacks == before.stacks


def two_thread_group() -> ProfileGroup:
    group = ProfileGroup(name="threads")
    main, work = group.frames.intern(Frame("main")), group.frames.intern(Frame("work", "w.c", 3))
    for tid, weights in ((101, (1.0, 2.0)), (102, (4.0,))):
        p = group.new_profile(f"thread {tid}", Unit.NONE)
        p.tid = tid
        for w in weights:
            p.add_sample((main, work) if w != 2.0 else (main,), w)
    return group


def test_two_threads_round_trip_as_two_profiles() -> None:
    """Each thread's samples come back as a profile of their own, with its name, tid and totals."""
    back = round_trip(two_thread_group())
    assert [(p.name, p.tid) for p in back.profiles] == [("thread 101", 101), ("thread 102", 102)]
    names = [{back.frames[fid].name: w for fid, w in profile_function_totals(p).total.items()}
             for p in back.profiles]
    assert names == [{"main": 3.0, "work": 1.0}, {"main": 4.0, "work": 4.0}]


def test_samples_carry_thread_labels() -> None:
    """Each sample has a `thread` label holding its profile's tid and a `thread_name` with its name."""
    m: Any = pprof.ProfileMessage.FromString(gzip.decompress(pprof.write(two_thread_group())))
    strings = list(m.string_table)
    labels = [[(strings[lb.key], lb.num or strings[lb.str]) for lb in s.label] for s in m.sample]
    assert labels == [[("thread", 101), ("thread_name", "thread 101")]] * 2 + [
        [("thread", 102), ("thread_name", "thread 102")]]


def test_unlabelled_samples_stay_one_profile() -> None:
    """A pprof file without thread labels (Go's, say) is one profile named after the file."""
    group = ProfileGroup(name="one")
    p = group.new_profile("one", Unit.NONE)
    p.add_sample((group.frames.intern(Frame("f")),), 2.0)
    back = round_trip(group)
    assert [(q.name, q.tid, q.total_weight()) for q in back.profiles] == [("one", None, 2.0)]


def test_time_units_are_written_as_nanoseconds() -> None:
    """A milliseconds profile is written as cpu/nanoseconds with weights scaled by 1e6."""
    group = ProfileGroup(name="ms")
    p = group.new_profile("ms", Unit.MILLISECONDS)
    p.add_sample((group.frames.intern(Frame("f")),), 1.5)
    back = round_trip(group).profiles[0]
    assert (back.unit, back.total_weight()) == (Unit.NANOSECONDS, 1_500_000.0)


def test_bytes_are_written_as_space() -> None:
    """A bytes profile is written as space/bytes and reads back in bytes."""
    group = ProfileGroup(name="heap")
    p = group.new_profile("heap", Unit.BYTES)
    p.add_sample((group.frames.intern(Frame("malloc")),), 4096)
    m: Any = pprof.ProfileMessage.FromString(gzip.decompress(pprof.write(group)))
    assert [(m.string_table[t.type], m.string_table[t.unit]) for t in m.sample_type] == [("space", "bytes")]
    assert round_trip(group).profiles[0].unit is Unit.BYTES


def test_kernel_frames_keep_their_kind() -> None:
    """Kernel frames are written under a [kernel.kallsyms] mapping and read back as kernel."""
    group = ProfileGroup(name="k")
    p = group.new_profile("k")
    user = group.frames.intern(Frame("main"))
    kernel = group.frames.intern(Frame("do_syscall_64", kind=FrameKind.KERNEL))
    p.add_sample((user, kernel), 1)
    kinds = {f.name: f.kind for f in round_trip(group).frames}
    assert kinds == {"main": FrameKind.USER, "do_syscall_64": FrameKind.KERNEL}


def test_mixed_units_are_refused() -> None:
    """Bytes and time cannot share one pprof sample type."""
    group = ProfileGroup(name="mixed")
    group.new_profile("a", Unit.BYTES)
    group.new_profile("b", Unit.SECONDS)
    with pytest.raises(ProfileError, match="different units"):
        pprof.write(group)


def test_sample_period_round_trips() -> None:
    """A count profile sampled at 99 Hz keeps its period as the pprof cpu period."""
    group = ProfileGroup(name="live")
    p = group.new_profile("live")
    p.sample_period = 1 / 99
    p.add_sample((group.frames.intern(Frame("f")),), 3)
    back = round_trip(group).profiles[0]
    assert back.unit is Unit.NONE
    assert back.sample_period == pytest.approx(1 / 99)
