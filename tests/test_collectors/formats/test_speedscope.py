"""speedscope JSON: reading every fixture as speedscope does, rejecting what speedscope
cannot load, writing schema-valid files, and round-tripping our own data."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from collectors.calltree import profile_function_totals, time_order_runs
from collectors.formats import folded, speedscope
from collectors.formats.errors import ProfileError
from collectors.formats.text import decode_text
from collectors.profile import Frame, FrameKind, Profile, ProfileGroup, Unit
from tests.speedscope_expected import (
    FIXTURES,
    PROFILES,
    assert_frames_close,
    expected_case,
    expected_summary,
    summarize,
)

SPEEDSCOPE = PROFILES / "speedscope"
STACKCOLLAPSE = PROFILES / "stackcollapse"
EXPORTER = "bpfscope@0.1.0"

CASES = [
    ("importSpeedscopeProfiles 0.0.1 evented profile (no pretty print)",
     "0.0.1/simple-no-pretty-print.speedscope.json"),
    ("importSpeedscopeProfiles 0.0.1 evented profile", "0.0.1/simple.speedscope.json"),
    ("importSpeedscopeProfiles 0.1.2 sampled profile", "0.1.2/simple-sampled.speedscope.json"),
    ("importSpeedscopeProfiles 0.6.0 multiple profiles", "0.6.0/two-sampled.speedscope.json"),
]
FIXTURE_FILES = [path for _, path in CASES]


def load(path: Path) -> object:
    return json.loads(path.read_text())


def read_fixture(rel: str) -> ProfileGroup:
    return speedscope.read_json(load(SPEEDSCOPE / rel), Path(rel).name)


def read_folded(name: str) -> ProfileGroup:
    return folded.read(decode_text((STACKCOLLAPSE / name).read_bytes()), name)


def round_trip(group: ProfileGroup) -> ProfileGroup:
    return speedscope.read_json(json.loads(speedscope.dumps(group, EXPORTER)), "again")


def schema() -> dict[str, Any]:
    return json.loads((FIXTURES / "file-format-schema.json").read_text())  # type: ignore[no-any-return]


def minimal_sampled() -> dict[str, Any]:
    """A small valid document to break in one place per test."""
    return {
        "$schema": speedscope.SCHEMA_URL,
        "shared": {"frames": [{"name": "a"}, {"name": "b", "file": "b.py", "line": 3, "col": 1}]},
        "profiles": [{"type": "sampled", "name": "p", "unit": "none", "startValue": 0, "endValue": 3,
                      "samples": [[0], [0, 1]], "weights": [1, 2]}],
    }


def minimal_evented() -> dict[str, Any]:
    return {
        "$schema": speedscope.SCHEMA_URL,
        "shared": {"frames": [{"name": "a"}, {"name": "b"}]},
        "profiles": [{"type": "evented", "name": "p", "unit": "milliseconds", "startValue": 0, "endValue": 10,
                      "events": [{"type": "O", "frame": 0, "at": 0}, {"type": "O", "frame": 1, "at": 2},
                                 {"type": "C", "frame": 1, "at": 5}, {"type": "C", "frame": 0, "at": 6},
                                 {"type": "O", "frame": 0, "at": 8}, {"type": "C", "frame": 0, "at": 10}]}],
    }


def timed_group() -> ProfileGroup:
    """Our own data speedscope has no field for: times, pid/tid, period, frame kinds."""
    group = ProfileGroup(name="live")
    f = group.frames
    main = f.intern(Frame("main", "/bin/app", 10, None, FrameKind.USER))
    sys_read = f.intern(Frame("sys_read", None, None, None, FrameKind.KERNEL))
    jit = f.intern(Frame("jitted", None, None, None, FrameKind.JIT))
    p = group.new_profile("app (1234)", Unit.SECONDS)
    p.pid, p.tid, p.sample_period = 1234, 1235, 0.01
    p.add_sample((main,), 0.01, 100.0)
    p.add_sample((main, sys_read), 0.01, 100.01)
    p.add_sample((main, sys_read), 0.01, 100.02)
    p.add_sample((main, jit), 0.01, 100.5)
    q = group.new_profile("other", Unit.SECONDS)
    q.add_sample((main,), 0.5, 3.25)
    group.active_index = 1
    return group


# --- sniffing --------------------------------------------------------------------------


def test_sniff_accepts_every_fixture() -> None:
    """Every speedscope fixture is recognised from its parsed JSON."""
    for rel in FIXTURE_FILES:
        assert speedscope.sniff_json(load(SPEEDSCOPE / rel)), rel


def test_sniff_accepts_shared_frames_without_schema() -> None:
    """A document with `profiles` and `shared.frames` but no `$schema` is speedscope."""
    doc = minimal_sampled()
    del doc["$schema"]
    assert speedscope.sniff_json(doc)


def test_sniff_rejects_other_json() -> None:
    """Chrome profiles, trace events, lists and scalars are not speedscope."""
    assert not speedscope.sniff_json({"nodes": [], "samples": [], "timeDeltas": []})
    assert not speedscope.sniff_json([{"ph": "X"}])
    assert not speedscope.sniff_json({"profiles": []})
    assert not speedscope.sniff_json(3)


# --- reading against speedscope's own results ------------------------------------------


@pytest.mark.parametrize(("case", "rel"), CASES)
def test_fixture_matches_speedscope(case: str, rel: str) -> None:
    """Each profile's per-frame self/total and its time-order stacks (with weights) are speedscope's."""
    expected = expected_case("file-format", case)
    group = read_fixture(rel)
    assert len(group.profiles) == len(expected["profiles"])
    for ours, raw in zip(group.profiles, expected["profiles"], strict=True):
        got, want = summarize(ours), expected_summary(raw)
        assert got.name == want.name
        assert_frames_close(got.frames, want.frames)
        assert got.stacks == want.stacks


@pytest.mark.parametrize(("case", "rel"), CASES)
def test_fixture_group_name_and_active_profile(case: str, rel: str) -> None:
    """The group's name and the profile shown first are speedscope's."""
    expected = expected_case("file-format", case)
    group = read_fixture(rel)
    assert group.name == expected["group_name"]
    assert group.active_index == expected["index_to_view"]


def test_exporter_is_kept() -> None:
    """The file's `exporter` is kept on the group."""
    assert read_fixture("0.6.0/two-sampled.speedscope.json").exporter == "speedscope@0.6.0"


def test_incomplete_trace_is_rejected() -> None:
    """Frames left open at the end (speedscope: "non-empty stack") are an error naming the frame."""
    with pytest.raises(ProfileError, match=r"still open.*'A'"):
        speedscope.read_json(load(SPEEDSCOPE / "invalid/incomplete-trace.json"))


def test_out_of_order_events_are_rejected() -> None:
    """Closing B while A is on top (speedscope: "Tried to leave frame B while frame A was at the
    top at 4") is an error naming both frames and the time."""
    with pytest.raises(ProfileError, match=r"closes frame 'B' at 4 while frame 'A'"):
        speedscope.read_json(load(SPEEDSCOPE / "invalid/out-of-order-events.json"))


def test_missing_weights_count_one_each() -> None:
    """A sampled profile without `weights` weighs each sample 1."""
    doc = minimal_sampled()
    del doc["profiles"][0]["weights"]
    p = speedscope.read_json(doc).profiles[0]
    assert list(p.weights) == [1.0, 1.0]


def test_frame_fields_are_read() -> None:
    """A frame's name, file, line and column are kept."""
    group = speedscope.read_json(minimal_sampled())
    assert group.frames[group.profiles[0].stacks[1][1]] == Frame("b", "b.py", 3, 1)


def test_evented_time_unit_gives_times_and_skips_idle() -> None:
    """Evented intervals become samples weighted by their length, timed in seconds at their
    start; a stretch with no open frame is no sample."""
    p = speedscope.read_json(minimal_evented()).profiles[0]
    stacks = [p.frames[s[-1]].name for s, _ in p.iter_samples()]
    assert stacks == ["a", "b", "a", "a"]
    assert list(p.weights) == [2.0, 3.0, 1.0, 2.0]
    assert p.times is not None
    assert [round(t, 9) for t in p.times] == [0.0, 0.002, 0.005, 0.008]


def test_evented_events_at_the_same_time_make_no_sample() -> None:
    """A frame opened and closed at the same instant adds no zero-weight sample."""
    doc = minimal_evented()
    doc["profiles"][0]["events"][1:3] = [{"type": "O", "frame": 1, "at": 2},
                                         {"type": "C", "frame": 1, "at": 2}]
    p = speedscope.read_json(doc).profiles[0]
    assert all(w > 0 for w in p.weights)
    assert not any(len(s) == 2 for s, _ in p.iter_samples())


def test_deep_evented_stack_reads_without_recursion() -> None:
    """20,000 nested frames open and close without recursion limits."""
    depth = 20_000
    events = [{"type": "O", "frame": 0, "at": 0}] * depth + [{"type": "C", "frame": 0, "at": 1}] * depth
    profile = {"type": "evented", "name": "deep", "unit": "none", "startValue": 0, "endValue": 1,
               "events": events}
    doc = {"shared": {"frames": [{"name": "f"}]}, "profiles": [profile]}
    p = speedscope.read_json(doc).profiles[0]
    assert [len(s) for s, _ in p.iter_samples()] == [depth]


# --- bad documents ---------------------------------------------------------------------


def _set(path: str, value: Any) -> Any:
    """A mutation setting `value` at a `/`-separated path (`~` deletes the key)."""

    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value == "~":
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


BAD_SAMPLED = {
    "profiles not a list": (_set("profiles", {"0": {}}), "`profiles` must be a list"),
    "no profiles": (_set("profiles", "~"), "no `profiles`"),
    "no shared frames": (_set("shared", "~"), "shared.frames"),
    "frame not an object": (_set("shared/frames/0", "a"), "frame 0"),
    "frame without name": (_set("shared/frames/0", {"file": "x"}), "frame 0 has no `name`"),
    "frame name not a string": (_set("shared/frames/0/name", 7), "frame 0 has a `name` that is not a string"),
    "frame file not a string": (_set("shared/frames/1/file", ["b.py"]), "`file` that is not a string"),
    "frame line not a number": (_set("shared/frames/1/line", "3"), "`line`"),
    "unknown unit": (_set("profiles/0/unit", "furlongs"), "unknown unit 'furlongs'"),
    "unknown type": (_set("profiles/0/type", "instant"), "unknown type 'instant'"),
    "profile not an object": (_set("profiles/0", []), "profile 0 must be an object"),
    "no name": (_set("profiles/0/name", "~"), "no `name`"),
    "no unit": (_set("profiles/0/unit", "~"), "no `unit`"),
    "no type": (_set("profiles/0/type", "~"), "no `type`"),
    "no samples": (_set("profiles/0/samples", "~"), "no `samples`"),
    "no startValue": (_set("profiles/0/startValue", "~"), "no `startValue`"),
    "endValue not a number": (_set("profiles/0/endValue", "3"), "`endValue` must be a number"),
    "samples not a list": (_set("profiles/0/samples", {"0": [0]}), "`samples` must be a list"),
    "sample not a list": (_set("profiles/0/samples/1", 1), "sample 1 is not a list"),
    "index out of range": (_set("profiles/0/samples/1", [0, 2]), "refers to frame 2, but there are 2 frames"),
    "negative index": (_set("profiles/0/samples/1", [-1]), "refers to frame -1"),
    "index not a number": (_set("profiles/0/samples/1", ["0"]), "not a whole number"),
    "negative weight": (_set("profiles/0/weights/1", -2), "weight -2"),
    "NaN weight": (_set("profiles/0/weights/1", math.nan), "weight nan"),
    "infinite weight": (_set("profiles/0/weights/1", math.inf), "weight inf"),
    "string weight": (_set("profiles/0/weights/1", "2"), "not a number: '2'"),
    "weights too short": (_set("profiles/0/weights", [1]), "1 weights for 2 samples"),
    "weights not a list": (_set("profiles/0/weights", 3), "`weights` must be a list"),
    "bad frame kinds": (_set("bpfscope", {"frameKinds": ["user"]}), "frameKinds"),
    "bad times": (_set("profiles/0/bpfscope", {"times": [0.0]}), "times"),
    "exporter not a string": (_set("exporter", 1), "`exporter`"),
}


@pytest.mark.parametrize("kind", sorted(BAD_SAMPLED))
def test_bad_sampled_document_raises(kind: str) -> None:
    """Each way a sampled document can be wrong is a ProfileError saying what is wrong."""
    mutate, message = BAD_SAMPLED[kind]
    doc = minimal_sampled()
    mutate(doc)
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        speedscope.read_json(doc)


def test_document_not_an_object_raises() -> None:
    """A JSON list is not a speedscope file."""
    with pytest.raises(ProfileError, match="JSON object"):
        speedscope.read_json([])


BAD_EVENTED = {
    "time going backwards": (_set("profiles/0/events/2/at", 1), "before the event preceding it"),
    "closing a frame not on top": (_set("profiles/0/events/2/frame", 0),
                                   "closes frame 'a' .* while frame 'b'"),
    "closing with nothing open": (_set("profiles/0/events/4/type", "C"), "when no frame is open"),
    "left open": (_set("profiles/0/events/5", {"type": "O", "frame": 1, "at": 10}), "still open"),
    "unknown event type": (_set("profiles/0/events/0/type", "X"), "unknown type 'X'"),
    "event without at": (_set("profiles/0/events/0/at", "~"), "`frame` and `at`"),
    "at not a number": (_set("profiles/0/events/0/at", "0"), "`at` must be a number"),
    "event frame out of range": (_set("profiles/0/events/0/frame", 5), "refers to frame 5"),
    "events not a list": (_set("profiles/0/events", {}), "`events` must be a list"),
    "no events": (_set("profiles/0/events", "~"), "no `events`"),
}


@pytest.mark.parametrize("kind", sorted(BAD_EVENTED))
def test_bad_evented_document_raises(kind: str) -> None:
    """Each way an evented profile can be unbalanced, out of order or malformed is a ProfileError."""
    mutate, message = BAD_EVENTED[kind]
    doc = minimal_evented()
    mutate(doc)
    with pytest.raises(ProfileError, match=message):
        speedscope.read_json(doc)


# --- writing ---------------------------------------------------------------------------


def export_cases() -> list[tuple[str, ProfileGroup]]:
    cases = [(rel, read_fixture(rel)) for rel in FIXTURE_FILES]
    cases += [(name, read_folded(name)) for name in ("simple.txt", "perf-vertx-stacks-01-collapsed-all.txt")]
    cases.append(("timed", timed_group()))
    return cases


@pytest.mark.parametrize(("label", "group"), export_cases(), ids=lambda x: x if isinstance(x, str) else "")
def test_export_is_valid_against_the_schema(label: str, group: ProfileGroup) -> None:
    """What we write validates against speedscope's published file-format schema."""
    doc = json.loads(speedscope.dumps(group, EXPORTER))
    jsonschema.validate(doc, schema())
    assert doc["$schema"] == speedscope.SCHEMA_URL


def test_export_keeps_group_metadata() -> None:
    """Name, active profile and our exporter string are written."""
    doc = json.loads(speedscope.dumps(read_fixture("0.6.0/two-sampled.speedscope.json"), EXPORTER))
    assert (doc["name"], doc["activeProfileIndex"], doc["exporter"]) == ("Two Samples", 1, EXPORTER)
    assert [p["type"] for p in doc["profiles"]] == ["sampled", "sampled"]


def test_export_start_and_end_default_to_zero_and_total() -> None:
    """A profile with no start/end value spans 0 to its total weight."""
    doc = json.loads(speedscope.dumps(read_folded("simple.txt"), EXPORTER))
    p = doc["profiles"][0]
    assert (p["startValue"], p["endValue"]) == (0, 14)


def test_export_frames_are_deduplicated() -> None:
    """Only frames some sample uses are exported, each exactly once."""
    group = ProfileGroup(name="g")
    unused = group.frames.intern(Frame("unused"))
    a, b = group.frames.intern(Frame("a")), group.frames.intern(Frame("b"))
    for name in ("one", "two"):
        p = group.new_profile(name)
        p.add_sample((a, b), 1)
        p.add_sample((a, a, b), 1)
    p.stacks.intern((unused,))  # a stack no sample refers to
    doc = json.loads(speedscope.dumps(group, EXPORTER))
    names = [f["name"] for f in doc["shared"]["frames"]]
    assert sorted(names) == ["a", "b"]
    index = {n: i for i, n in enumerate(names)}
    assert doc["profiles"][1]["samples"] == [[index["a"], index["b"]], [index["a"], index["a"], index["b"]]]


def test_export_frames_from_a_big_fixture_are_unique() -> None:
    """A real profile's export lists no frame twice."""
    doc = json.loads(speedscope.dumps(read_folded("perf-vertx-stacks-01-collapsed-all.txt"), EXPORTER))
    frames = [json.dumps(f, sort_keys=True) for f in doc["shared"]["frames"]]
    assert len(frames) == len(set(frames))


def test_export_writes_whole_weights_as_integers() -> None:
    """Whole weights are JSON integers; a fractional weight keeps its fraction."""
    group = ProfileGroup(name="g")
    a, b = group.frames.intern(Frame("a")), group.frames.intern(Frame("b"))
    p = group.new_profile("p")
    p.add_sample((a,), 2)
    p.add_sample((b,), 0.5)
    text = speedscope.dumps(group, EXPORTER)
    assert '"weights":[2,0.5]' in text


def test_export_frame_kinds_only_when_some_frame_is_not_user() -> None:
    """`bpfscope.frameKinds` is written for a profile with kernel frames, not for an all-user one."""
    plain = json.loads(speedscope.dumps(read_folded("simple.txt"), EXPORTER))
    assert "frameKinds" not in plain.get("bpfscope", {})
    doc = json.loads(speedscope.dumps(timed_group(), EXPORTER))
    assert len(doc["bpfscope"]["frameKinds"]) == len(doc["shared"]["frames"])
    assert "kernel" in doc["bpfscope"]["frameKinds"]


def test_write_streams_to_a_text_file(tmp_path: Path) -> None:
    """`write` on a real file gives a document whose samples, decoded by hand, are the ones put in."""
    out = tmp_path / "timed.speedscope.json"
    with out.open("w", encoding="utf-8") as f:
        speedscope.write(timed_group(), f, EXPORTER)
    doc = json.loads(out.read_text(encoding="utf-8"))
    names = [frame["name"] for frame in doc["shared"]["frames"]]
    decoded = [
        (p["name"], p["unit"], [";".join(names[i] for i in stack) for stack in p["samples"]], p["weights"])
        for p in doc["profiles"]
    ]
    assert decoded == [
        ("app (1234)", "seconds", ["main", "main;sys_read", "main;sys_read", "main;jitted"], [0.01] * 4),
        ("other", "seconds", ["main"], [0.5]),
    ]
    assert (doc["activeProfileIndex"], doc["exporter"]) == (1, EXPORTER)


# --- round trips -----------------------------------------------------------------------


def assert_same_profile(a: Profile, b: Profile) -> None:
    """Same name, unit, per-function totals and time-order stacks (by frame identity)."""
    assert (a.name, a.unit) == (b.name, b.unit)

    def by_frame(p: Profile) -> dict[Frame, tuple[float, float]]:
        t = profile_function_totals(p)
        return {p.frames[f]: (t.self_weight[f], t.total[f]) for f in t.total}

    assert by_frame(a) == by_frame(b)

    def runs(p: Profile) -> list[tuple[tuple[Frame, ...], float]]:
        return [(tuple(p.frames[f] for f in s), w) for s, w in time_order_runs(p)]

    assert runs(a) == runs(b)


@pytest.mark.parametrize("rel", FIXTURE_FILES)
def test_round_trip_of_speedscope_fixtures(rel: str) -> None:
    """read → write → read keeps every profile's totals and time-order stacks, and the group's metadata."""
    group = read_fixture(rel)
    again = round_trip(group)
    assert (again.name, again.active_index) == (group.name, group.active_index)
    assert again.exporter == EXPORTER
    for a, b in zip(group.profiles, again.profiles, strict=True):
        assert_same_profile(a, b)


@pytest.mark.parametrize("name", ["simple.txt", "recursion.txt", "perf-vertx-stacks-01-collapsed-all.txt"])
def test_round_trip_of_folded_fixtures(name: str) -> None:
    """A folded file written as speedscope and read back has the same totals, stacks and frame kinds."""
    group = read_folded(name)
    again = round_trip(group)
    assert_same_profile(group.profiles[0], again.profiles[0])
    kinds = {f.name: f.kind for f in group.frames}
    assert {f.name: f.kind for f in again.frames} == kinds


def test_round_trip_keeps_times_pid_tid_period_and_kinds() -> None:
    """Our `bpfscope` extras come back: sample times, pid, tid, sample period and frame kinds."""
    group = timed_group()
    again = round_trip(group)
    assert again.active_index == 1
    for a, b in zip(group.profiles, again.profiles, strict=True):
        assert_same_profile(a, b)
        assert b.times is not None and a.times is not None
        assert list(b.times) == list(a.times)
        assert (b.pid, b.tid, b.sample_period) == (a.pid, a.tid, a.sample_period)
    assert {(f.name, f.kind) for f in again.frames} == {(f.name, f.kind) for f in group.frames}


def test_round_trip_of_evented_time_profile_keeps_times() -> None:
    """An evented profile with a time unit, converted to samples, keeps its times through a write."""
    group = speedscope.read_json(minimal_evented())
    again = round_trip(group)
    a, b = group.profiles[0], again.profiles[0]
    assert_same_profile(a, b)
    assert a.times is not None and b.times is not None
    assert list(b.times) == list(a.times)
