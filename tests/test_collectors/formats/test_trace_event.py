"""Chrome trace events: every case speedscope has results for reads as speedscope read it
(duration events, sampled stacks, Hermes traces, unclosed arrays), Chrome performance traces
go to the Chrome reader, same-instant reordering is exactly speedscope's, and malformed
traces are refused with one sentence. The comparison helpers live in test_chrome.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from collectors.formats import chrome, trace_event
from collectors.formats.errors import ProfileError
from collectors.profile import Frame, FrameKind, Profile, ProfileGroup
from tests.speedscope_expected import EXPECTED, PROFILES, expected_case
from tests.test_collectors.formats.test_chrome import assert_matches_speedscope, load_json, timeline

TRACES = PROFILES / "trace-event"
CASES = sorted(json.loads((EXPECTED / "trace-event.expected.json").read_text()))


def read(file: str) -> ProfileGroup:
    return trace_event.read_json(load_json(TRACES / file), file)


def samples(profile: Profile) -> list[tuple[str, float]]:
    """(stack as `a;b`, weight) per sample."""
    return [(";".join(profile.frames[f].name for f in stack), w) for stack, w in profile.iter_samples()]


def event(ph: str, name: str, ts: object, **more: Any) -> dict[str, Any]:
    return {"ph": ph, "name": name, "ts": ts, "pid": 1, "tid": 1, **more}


# --- sniffing --------------------------------------------------------------------------


def test_sniff_accepts_event_lists_and_trace_objects() -> None:
    """A list of events with `ph`, or an object with `traceEvents`, is a trace."""
    assert trace_event.sniff_json(load_json(TRACES / "simple.json"))
    assert trace_event.sniff_json(load_json(TRACES / "simple-object.json"))
    assert trace_event.sniff_json(load_json(TRACES / "simple-with-samples.json"))
    assert trace_event.sniff_json(load_json(PROFILES / "Chrome/69/simple.json"))


def test_sniff_rejects_other_json() -> None:
    """CPU profiles, empty lists, lists of non-events and scalars are not traces."""
    assert not trace_event.sniff_json(load_json(PROFILES / "Chrome/65/simple.cpuprofile"))
    assert not trace_event.sniff_json([])
    assert not trace_event.sniff_json([{"name": "a", "ts": 1}])
    assert not trace_event.sniff_json([1, 2])
    assert not trace_event.sniff_json({"traceEvents": "no"})
    assert not trace_event.sniff_json(None)


# --- reading against speedscope's own results ------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_fixture_matches_speedscope(case: str) -> None:
    """Profile names, per-frame self/total and the samples in time order (with idle gaps)
    are what speedscope's importer produced; the file is the one the case names."""
    expected = expected_case("trace-event", case)
    group = read(expected["group_name"])
    assert_matches_speedscope(group, expected)
    assert group.active_index == expected["index_to_view"]


def test_chrome_performance_traces_go_to_the_chrome_reader() -> None:
    """A trace holding `Profile`/`ProfileChunk` events is read as its CPU profile, exactly as
    the Chrome reader reads it, not as its duration events."""
    obj = load_json(PROFILES / "Chrome/69/simple.json")
    ours = trace_event.read_json(obj, "simple.json")
    direct = chrome.read_json(obj, "simple.json")
    assert [p.name for p in ours.profiles] == ["simple.json"]
    assert timeline(ours.profiles[0]) == timeline(direct.profiles[0])
    assert any(f.name == "(program)" for f in ours.frames)


def test_hermes_frames_carry_their_source_location() -> None:
    """A Hermes trace's frames are named by the event name, with `args.url`, `line`, `column`."""
    group = read("hermes-multiple-frames.json")
    url = "/Users/example/test_project/node_modules/metro-runtime/src/polyfills/require.js"
    assert Frame("beta", url, 54, 12, FrameKind.USER) in list(group.frames)
    assert samples(group.profiles[0]) == [("[root]", 1.0), ("[root];beta", 1.0), ("[root]", 2.0),
                                          ("[root];gamma;beta", 6.0), ("[root];gamma", 3.0), ("[root]", 1.0)]


def test_frame_names_include_args() -> None:
    """Outside Hermes traces a frame is `name {args as JSON}`, so calls with other args differ."""
    group = trace_event.read_json([event("X", "f", 0, dur=2, args={"n": 1, "s": "é"}),
                                   event("X", "f", 2, dur=1)])
    assert samples(group.profiles[0]) == [('f {"n":1,"s":"é"}', 2.0), ("f", 1.0)]


def test_samples_are_timed_on_the_trace_clock() -> None:
    """Times are seconds on the trace's own clock (not rebased); `start_value` is the first
    event's `ts` in µs."""
    group = trace_event.read_json([event("B", "a", 5_000_000), event("B", "b", 5_000_001),
                                   event("E", "b", 5_000_003), event("E", "a", 5_000_004)])
    p = group.profiles[0]
    assert p.times is not None
    assert list(p.times) == [5.0, 5.000001, 5.000003]
    assert (p.start_value, p.end_value) == (5_000_000, 5_000_004)
    assert type(p.start_value) is float and type(p.end_value) is float  # as the model declares
    assert (p.pid, p.tid) == (1, 1)


def test_numeric_string_timestamps_are_read() -> None:
    """`ts` written as a string of digits (as Hermes does) is a number."""
    group = trace_event.read_json([event("X", "a", "10", dur=5)])
    assert samples(group.profiles[0]) == [("a", 5.0)]


def test_events_without_pid_and_tid_are_one_thread() -> None:
    """A trace that never says pid or tid is one profile, `pid 0, tid 0`."""
    group = trace_event.read_json([{"ph": "X", "name": "a", "ts": 0, "dur": 1},
                                   {"ph": "X", "name": "b", "ts": 1, "dur": 1}])
    assert [p.name for p in group.profiles] == ["pid 0, tid 0"]


def test_sampled_stacks_are_taken_in_time_order() -> None:
    """Samples listed out of time order are sorted (speedscope would get negative weights)."""
    doc = {"traceEvents": [{"ph": "M", "name": "thread_name", "pid": 1, "tid": 2, "args": {"name": "js"}}],
           "stackFrames": {"1": {"name": "main", "category": "JS"},
                           "2": {"name": "work", "category": "JS", "parent": 1}},
           "samples": [{"pid": 1, "tid": 2, "ts": "30", "sf": 1}, {"pid": 1, "tid": 2, "ts": "10", "sf": 2},
                       {"pid": 1, "tid": 2, "ts": "20", "sf": 1}]}
    group = trace_event.read_json(doc, "h.json")
    assert [p.name for p in group.profiles] == ["js (pid 1, tid 2)"]
    assert samples(group.profiles[0]) == [("main;work", 10.0), ("main", 10.0)]


def test_twenty_thousand_nested_begin_events_load() -> None:
    """20,000 nested `B` events (closed at one instant, innermost first) load without
    recursion into one sample 20,000 frames deep."""
    n = 20_000
    events = [event("B", f"f{i}", 0) for i in range(n)] + [event("E", f"f{i}", 10) for i in reversed(range(n))]
    p = trace_event.read_json(events).profiles[0]
    assert [(len(s), w) for s, w in p.iter_samples()] == [(n, 10.0)]


def test_twenty_thousand_nested_x_events_ending_together_load() -> None:
    """20,000 `X` events spanning the same instants nest in file order, so their ends queue
    outermost first: the worst order for matching each end to the top frame. They still load
    (quickly: a scan per end, as speedscope does, would take minutes)."""
    n = 20_000
    events = [event("X", f"f{i}", 0, dur=10, args={"i": i}) for i in range(n)]
    p = trace_event.read_json(events).profiles[0]
    assert [(len(s), w) for s, w in p.iter_samples()] == [(n, 10.0)]


# --- same-instant reordering is exactly speedscope's -----------------------------------


def speedscope_durations(events: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """speedscope's B/E/X handling, transliterated directly (quadratic; for small traces):
    (open frame keys as `a;b`, length) for each stretch with something open."""

    def key(ev: dict[str, Any]) -> str:
        args = ev.get("args")
        return str(ev["name"]) + (" " + json.dumps(args, separators=(",", ":")) if args else "")

    base = min(ev["ts"] for ev in events)
    begins: list[tuple[float, str, str]] = []
    ends: list[tuple[float, str, str]] = []
    xs = []
    for ev in events:
        t = ev["ts"] - base
        if ev["ph"] == "B":
            begins.append((t, key(ev), ev["name"]))
        elif ev["ph"] == "E":
            ends.append((t, key(ev), ev["name"]))
        else:
            xs.append((t, ev["dur"], key(ev), ev["name"]))
    xs.sort(key=lambda x: (x[0], -x[1]))
    for t, dur, k, name in xs:
        begins.append((t, k, name))
        ends.append((t + dur, k, name))
    begins.sort(key=lambda b: b[0])
    ends.sort(key=lambda e: e[0])
    stack: list[tuple[float, str, str]] = []
    last = 0.0
    out: list[tuple[str, float]] = []
    while begins or ends:
        if not ends or (begins and (begins[0][0] < ends[0][0] or (
                begins[0][0] == ends[0][0] and begins[0][1] == ends[0][1]))):
            b = begins.pop(0)
            if b[0] > last and stack:
                out.append((";".join(s[1] for s in stack), b[0] - last))
            last = b[0]
            stack.append(b)
            continue
        if stack:
            top = stack[-1]
            same_time = [i for i in range(1, len(ends)) if ends[i][0] == ends[0][0]]
            match = next((i for i in same_time if ends[i][1] == top[1]), None)
            if match is None:
                match = next((i for i in same_time if ends[i][2] == top[2]), None)
            if match is not None:
                ends[0], ends[match] = ends[match], ends[0]
        e = ends.pop(0)
        if not stack or e[2] != stack[-1][2]:
            continue
        if e[0] > last:
            out.append((";".join(s[1] for s in stack), e[0] - last))
        last = e[0]
        stack.pop()
    return out


def merged(rows: list[tuple[str, float]]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for stack, w in rows:
        if out and out[-1][0] == stack:
            out[-1] = (stack, out[-1][1] + w)
        else:
            out.append((stack, w))
    return out


def random_trace(rng: random.Random) -> list[dict[str, Any]]:
    events = []
    for _ in range(rng.randint(1, 14)):
        ph = rng.choice("BEX")
        more: dict[str, Any] = {}
        args = rng.choice([None, {"x": 1}, {"x": 2}])
        if args:
            more["args"] = args
        if ph == "X":
            more["dur"] = rng.randint(0, 4)
        events.append(event(ph, rng.choice("abc"), rng.randint(0, 5), **more))
    return events


def test_ordering_matches_a_direct_transliteration_of_speedscope() -> None:
    """On 3,000 random traces of B, E and X events crowded onto a few instants, with repeated
    names and differing args, our (heap-based) end matching gives speedscope's stacks."""
    rng = random.Random(31337)
    for _ in range(3_000):
        events = random_trace(rng)
        group = trace_event.read_json(json.loads(json.dumps(events)))
        assert merged(samples(group.profiles[0])) == merged(speedscope_durations(events)), events


# --- unclosed arrays -------------------------------------------------------------------


@pytest.mark.parametrize("file", ["simple-partial.json", "simple-partial-trailing-comma.json",
                                  "simple-partial-whitespace.json"])
def test_unclosed_array_is_repaired(file: str) -> None:
    """A trace cut off without `]` (with or without a trailing comma or padding) gives the
    same events as the complete file."""
    text = (TRACES / file).read_text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert trace_event.parse_partial(text) == json.loads((TRACES / "simple.json").read_text())


def test_trailing_comma_before_the_bracket_is_forgiven() -> None:
    """`[..., {...},]` parses; a complete valid array is returned as it is."""
    assert trace_event.parse_partial('[{"ph": "X"},\n]') == [{"ph": "X"}]
    assert trace_event.parse_partial(' [1, 2] ') == [1, 2]


@pytest.mark.parametrize("text", ['{"traceEvents": [', "hello", '[{"ph": "B", "na', "[1 2", "", "[1]]"])
def test_text_that_is_not_an_unclosed_array_is_refused(text: str) -> None:
    """Objects, non-JSON and arrays cut inside an event give None."""
    assert trace_event.parse_partial(text) is None


# --- malformed input -------------------------------------------------------------------


@pytest.mark.parametrize(("trace", "message"), [
    ([event("B", "a", 0), 3], "trace event 1 is not an object"),
    ([event("B", "a", 0), {"name": "b", "ts": 1}], "trace event 1 has no `ph`"),
    ([event("B", "a", "soon")], r"trace event 0 \('B'\) has a `ts` that is not a number"),
    ([event("E", "a", None)], r"trace event 0 \('E'\) has a `ts` that is not a number"),
    ([event("X", "a", float("inf"), dur=1)], "`ts` that is not a number"),
    ([event("X", "a", 0, dur=-1)], "negative duration"),
    ([event("X", "a", 0, dur="1")], "`dur` that is not a number"),
    ([event("X", "a", 0, pid=[1])], "`pid` that is neither a number nor a string"),
    ([{"ph": "M", "name": "thread_name", "args": {"name": "t"}}, event("i", "tick", 0)],
     "no duration events"),
    ({"traceEvents": "none"}, "not Chrome trace events"),
])
def test_malformed_trace_is_rejected(trace: object, message: str) -> None:
    """Each kind of damage is a ProfileError saying what is wrong."""
    with pytest.raises(ProfileError, match=message):
        trace_event.read_json(trace)


@pytest.mark.parametrize(("frames", "sample_sf", "message"), [
    ({"1": {"name": "a"}}, 2, "sample 0 refers to stack frame '2'"),
    ({"1": {"name": "a", "parent": 5}}, 1, "parent '5' is not in `stackFrames`"),
    ({"1": {"name": "a", "parent": 2}, "2": {"name": "b", "parent": 1}}, 1, "form a loop"),
])
def test_malformed_sampled_stacks_are_rejected(frames: dict[str, Any], sample_sf: int, message: str) -> None:
    """A sample or parent naming a missing stack frame, or parents in a loop, is an error."""
    doc = {"traceEvents": [{"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "p"}}],
           "stackFrames": frames, "samples": [{"pid": 1, "tid": 1, "ts": 0, "sf": sample_sf}]}
    with pytest.raises(ProfileError, match=message):
        trace_event.read_json(doc)


def test_every_case_names_an_existing_file() -> None:
    """Each case of speedscope's results names a trace we have (none is silently skipped)."""
    missing = [c for c in CASES if not (TRACES / expected_case("trace-event", c)["group_name"]).is_file()]
    assert CASES and missing == []
