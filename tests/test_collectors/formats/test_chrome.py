"""Chrome/Node `.cpuprofile` files and the CPU profiles inside Chrome traces: every fixture
speedscope has results for reads as speedscope read it, V8's special frames are placed as
speedscope places them, and malformed profiles are refused with one sentence.

Two ways we compare that differ from the shared helpers, for reasons worth knowing:
- speedscope shows time with no open frame as an empty stack; we add no sample for it (the
  samples' times show the gap), so `timeline` puts those gaps back before comparing;
- Chrome profiles hold frames that share a name and file but not a column, so frames are
  compared by name, file, line and column (`located_frames`), not by name and file.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from collectors.calltree import profile_function_totals
from collectors.formats import chrome, speedscope, trace_event
from collectors.formats.errors import ProfileError
from collectors.formats.text import decode_text
from collectors.profile import Frame, FrameKind, Profile, ProfileGroup
from collectors.units import format_value
from tests.speedscope_expected import EXPECTED, PROFILES, assert_frames_close, expected_case

CASES = [
    ("importFromChromeCPUProfile", "Chrome/65/simple.cpuprofile"),
    ("importFromV8Profiler Node 10", "node/10.11.0/example.cpuprofile"),
    ("importFromChromeTimeline Chrome 69", "Chrome/69/simple.json"),
    ("importFromChromeTimeline Chrome 116", "Chrome/116/Trace-20230603T221323.json"),
    ("importTraceEvents Chrome 141 profile with missing arg data", "Chrome/141/no-arg-data.json"),
]
MISSING = {
    # Cases whose profile files are not among the fixtures we have.
    "importFromChromeTimeline": "simple-timeline.json",
    "importFromChromeTimeline chunked": "simple-timeline.json",
    "importFromChromeTimeline Workers Chrome 66": "worker.json",
    "importFromChromeTimeline Workers Chrome 70": "worker.json",
}


# --- comparing with speedscope's results (also used by test_trace_event) ---------------


def load_json(path: Path) -> object:
    """A fixture parsed as the format detector parses it: JSON, or a repaired open array."""
    text = decode_text(path.read_bytes())
    try:
        result: object = json.loads(text)
    except json.JSONDecodeError:
        result = trace_event.parse_partial(text)
        assert result is not None, path
    return result


def timeline(profile: Profile) -> list[str]:
    """Our samples in time order as speedscope's dump shows them: `root;...;leaf weight`, with
    the idle time between samples (and before the first, from `start_value`) put back as an
    empty stack, and consecutive equal stacks merged."""
    assert profile.times is not None and profile.start_value is not None
    runs: list[tuple[tuple[int, ...], float]] = []
    end = profile.start_value  # µs
    stacks = profile.stacks.stacks
    for sid, weight, t in zip(profile.sample_stacks, profile.weights, profile.times, strict=True):
        gap = round(t * 1e6 - end, 3)
        if gap > 0:
            runs.append(((), gap))
        stack = stacks[sid]
        if runs and runs[-1][0] == stack:
            runs[-1] = (stack, runs[-1][1] + weight)
        else:
            runs.append((stack, weight))
        end = t * 1e6 + weight
    names = profile.frames
    return [f"{';'.join(names[f].name for f in s)} {format_value(w, profile.unit)}" for s, w in runs]


def located_frames(profile: Profile) -> dict[str, tuple[float, float]]:
    """(self, total) per frame, keyed by name, file, line and column."""
    totals = profile_function_totals(profile)
    out = {}
    for fid, total in totals.total.items():
        f = profile.frames[fid]
        out[_location_key(f.name, f.file, f.line, f.col)] = (totals.self_weight[fid], total)
    return out


def expected_profile(raw: dict[str, Any]) -> tuple[str, dict[str, tuple[float, float]], list[str]]:
    """(name, located frames, stacks) of one expected profile.

    The expected files were converted from jest snapshots, and strings holding a `"` kept the
    snapshot's quoting: a frame `A {"x":1}` reads `"A {"x":1}"` and a stack line ends in `",`.
    That is undone here. speedscope's line 0 (V8's -1, made 1-based) is "no line" for us.
    """
    frames = {}
    for f in raw.get("frames", []):
        if f["self"] or f["total"]:
            line = f.get("line") or None
            col = f.get("col") or None
            frames[_location_key(_unquote(f["name"]), f.get("file") or None, line, col)] = (
                float(f["self"]), float(f["total"]))
    stacks = [s[1:-2] if s.startswith('"') and s.endswith('",') else s for s in raw.get("stacks", [])]
    return raw["name"], frames, stacks


def _unquote(name: str) -> str:
    return name[1:-1] if len(name) > 1 and name.startswith('"') and name.endswith('"') else name


def _location_key(name: str, file: str | None, line: int | None, col: int | None) -> str:
    return f"{name} @ {file}:{line}:{col}"


def assert_matches_speedscope(group: ProfileGroup, expected: dict[str, Any]) -> None:
    assert group.name == expected["group_name"]
    assert [p.name for p in group.profiles] == [raw["name"] for raw in expected["profiles"]]
    for ours, raw in zip(group.profiles, expected["profiles"], strict=True):
        _, frames, stacks = expected_profile(raw)
        assert_frames_close(located_frames(ours), frames)
        if ours.sample_count:
            assert timeline(ours) == stacks
        else:
            assert stacks == []


# --- helpers for this file -------------------------------------------------------------


def read(rel: str) -> ProfileGroup:
    return chrome.read_json(load_json(PROFILES / rel), Path(rel).name)


def cpuprofile(nodes: list[dict[str, Any]], samples: list[int], deltas: list[int] | None = None,
               start: int = 1_000_000) -> dict[str, Any]:
    """A small `.cpuprofile`; each node is `{"id", "name", "parent"?}` shorthand."""
    full = [{"id": n["id"], "callFrame": {"functionName": n["name"], "url": n.get("url", "app.js"),
                                         "lineNumber": n["id"], "columnNumber": 0},
             **({"parent": n["parent"]} if "parent" in n else {})} for n in nodes]
    return {"nodes": full, "startTime": start, "endTime": start + 10_000, "samples": samples,
            "timeDeltas": deltas if deltas is not None else [100] * len(samples)}


ROOTED = [{"id": 1, "name": "(root)"}, {"id": 2, "name": "main", "parent": 1},
          {"id": 3, "name": "work", "parent": 2}, {"id": 4, "name": "(program)", "parent": 1},
          {"id": 5, "name": "(garbage collector)", "parent": 1}, {"id": 6, "name": "(idle)", "parent": 1}]


def names(profile: Profile) -> list[tuple[str, float]]:
    """(stack as `a;b`, weight) per sample."""
    return [(";".join(profile.frames[f].name for f in stack), w) for stack, w in profile.iter_samples()]


# --- sniffing --------------------------------------------------------------------------


def test_sniff_accepts_both_cpuprofile_shapes() -> None:
    """The Chrome 65 `.cpuprofile` and Node 10's older `head`/`timestamps` shape are recognised."""
    assert chrome.sniff_json(load_json(PROFILES / "Chrome/65/simple.cpuprofile"))
    assert chrome.sniff_json(load_json(PROFILES / "node/10.11.0/example.cpuprofile"))


def test_sniff_leaves_traces_and_other_json_alone() -> None:
    """Chrome traces (read via trace events), speedscope files, heap profiles and scalars
    are not `.cpuprofile`s."""
    assert not chrome.sniff_json(load_json(PROFILES / "Chrome/69/simple.json"))
    assert not chrome.sniff_json(load_json(PROFILES / "Chrome/116/Trace-20230603T221323.json"))
    assert not chrome.sniff_json({"$schema": speedscope.SCHEMA_URL, "profiles": [], "shared": {"frames": []}})
    assert not chrome.sniff_json({"head": {"selfSize": 0}, "samples": []})
    assert not chrome.sniff_json([1, 2])
    assert not chrome.sniff_json("nodes")


# --- reading against speedscope's own results ------------------------------------------


@pytest.mark.parametrize(("case", "rel"), CASES)
def test_fixture_matches_speedscope(case: str, rel: str) -> None:
    """Profile names, per-frame self/total and the samples in time order (with idle gaps)
    are what speedscope's importer produced."""
    assert_matches_speedscope(read(rel), expected_case("chrome", case))


def test_every_expected_case_is_covered() -> None:
    """Each case in speedscope's results is tested here, or its profile file is not among the
    fixtures (so a fixture added later cannot be skipped silently)."""
    cases = set(json.loads((EXPECTED / "chrome.expected.json").read_text()))
    assert cases == {case for case, _ in CASES} | set(MISSING)
    for case, file in MISSING.items():
        assert expected_case("chrome", case)["group_name"] == file
        assert not list(PROFILES.rglob(file)), file


@pytest.mark.parametrize(("case", "rel"), CASES[:4])
def test_first_profile_shown_is_speedscopes(case: str, rel: str) -> None:
    """The profile shown first is the one speedscope shows."""
    assert read(rel).active_index == expected_case("chrome", case)["index_to_view"]


def test_main_thread_with_samples_is_shown_first() -> None:
    """Chrome 141 writes a second, empty profile for the renderer's main thread; speedscope
    shows that one (index 1), we show the main-thread profile that has samples."""
    group = read("Chrome/141/no-arg-data.json")
    assert expected_case("chrome", CASES[4][0])["index_to_view"] == 1
    assert group.active_index == 0
    assert group.profiles[0].sample_count > 0 and group.profiles[1].sample_count == 0


def test_trace_profiles_know_their_thread() -> None:
    """A profile from a trace has the pid and tid of its `Profile` event."""
    p = read("Chrome/116/Trace-20230603T221323.json").profiles[0]
    assert (p.pid, p.tid) == (6543, 259)


# --- frames and times ------------------------------------------------------------------


def test_lines_and_columns_are_one_based() -> None:
    """V8's 0-based line and column become 1-based, as speedscope shows them."""
    group = read("Chrome/65/simple.cpuprofile")
    assert Frame("a", None, 1, 11, FrameKind.USER) in list(group.frames)


def test_unnamed_functions_are_named_by_file_and_line() -> None:
    """An unnamed function is `(anonymous file:line)`, or `(anonymous)` without a url."""
    doc = cpuprofile([{"id": 1, "name": "(root)"}, {"id": 2, "name": "", "parent": 1, "url": "http://x/lib/app.js"},
                      {"id": 3, "name": "", "parent": 2, "url": ""}], [3, 3])
    group = chrome.read_json(doc)
    assert [f.name for f in group.frames] == ["(anonymous app.js:3)", "(anonymous)"]


def test_v8_pseudo_frames_are_unknown_kind() -> None:
    """`(program)` and `(garbage collector)` are V8's, not code: their kind is UNKNOWN."""
    group = chrome.read_json(cpuprofile(ROOTED, [2, 4, 5, 2]))
    kinds = {f.name: f.kind for f in group.frames}
    assert kinds == {"main": FrameKind.USER, "(program)": FrameKind.UNKNOWN,
                     "(garbage collector)": FrameKind.UNKNOWN}


def test_program_and_gc_sit_on_top_of_the_stack_before_them() -> None:
    """A `(program)` or `(garbage collector)` sample is drawn on top of the previous stack,
    and a sample of the stack's own node takes it off again."""
    p = chrome.read_json(cpuprofile(ROOTED, [3, 4, 5, 3, 2], [100, 100, 100, 100, 100])).profiles[0]
    assert names(p) == [("main;work", 100.0), ("main;work;(program)", 100.0),
                        ("main;work;(program);(garbage collector)", 100.0), ("main;work", 100.0)]


def test_idle_is_a_gap_not_a_sample() -> None:
    """Time in `(idle)` adds no sample: the next sample's time shows the gap."""
    p = chrome.read_json(cpuprofile(ROOTED, [2, 6, 6, 2, 3], [10, 100, 100, 100, 100], start=0)).profiles[0]
    assert names(p) == [("main", 100.0), ("main", 100.0)]
    assert p.times is not None
    assert [round(t * 1e6) for t in p.times] == [10, 310]


def test_samples_are_timed_on_the_trace_clock() -> None:
    """Times are seconds from the profile's `startTime` clock; `start_value` is that start (µs)."""
    p = read("Chrome/65/simple.cpuprofile").profiles[0]
    assert p.start_value == 163140599286
    assert p.times is not None
    assert math.isclose(p.times[0], (163140599286 + 11575) / 1e6, abs_tol=1e-9)


def test_last_sample_only_marks_the_end() -> None:
    """Each run lasts until the next run; the last sample weighs nothing (as in speedscope)."""
    p = chrome.read_json(cpuprofile(ROOTED, [2, 2, 3], [0, 40, 60])).profiles[0]
    assert names(p) == [("main", 100.0)]


def test_negative_time_delta_never_moves_time_back() -> None:
    """A negative time delta (clock skew) cannot make a run start before the one before it."""
    p = chrome.read_json(cpuprofile(ROOTED, [2, 3, 2, 3], [0, 100, -500, 600])).profiles[0]
    # Runs start at 0, 100, 100 (not -400) and 200: `main;work` gets no time at all.
    assert names(p) == [("main", 100.0), ("main", 100.0)]


def test_sample_of_an_unknown_node_changes_nothing() -> None:
    """A sample naming a node that does not exist is skipped; the stack before it goes on."""
    p = chrome.read_json(cpuprofile(ROOTED, [3, 99, 2, 2])).profiles[0]
    assert names(p) == [("main;work", 200.0), ("main", 100.0)]


def test_children_lists_and_parent_links_give_the_same_tree() -> None:
    """Nodes may say who their `children` are (older Chrome) or who their `parent` is."""
    by_parent = cpuprofile(ROOTED, [3, 2, 3])
    by_children = json.loads(json.dumps(by_parent))
    for node in by_children["nodes"]:
        node.pop("parent", None)
    by_children["nodes"][0]["children"] = [2, 4, 5, 6]
    by_children["nodes"][1]["children"] = [3]
    assert names(chrome.read_json(by_parent).profiles[0]) == names(chrome.read_json(by_children).profiles[0])


def test_twenty_thousand_deep_stack_loads() -> None:
    """A 20,000-node chain is read without recursion: one sample 20,000 frames deep."""
    nodes = [{"id": i, "callFrame": {"functionName": f"f{i}"}, **({"parent": i - 1} if i > 1 else {})}
             for i in range(1, 20_001)]
    group = chrome.read_json({"nodes": nodes, "startTime": 0, "endTime": 10, "samples": [20_000, 1],
                              "timeDeltas": [0, 5]})
    assert [len(s) for s, _ in group.profiles[0].iter_samples()] == [20_000]


def test_old_node_shape_with_a_deep_head_tree_loads() -> None:
    """Node 8's nested `head` tree is flattened without recursion."""
    head: dict[str, Any] = {"functionName": "(root)", "id": 1, "children": []}
    node = head
    for i in range(2, 5_002):
        child: dict[str, Any] = {"functionName": f"f{i}", "id": i, "url": "", "lineNumber": 1, "children": []}
        node["children"].append(child)
        node = child
    doc = {"head": head, "startTime": 1, "endTime": 2, "samples": [5_001, 1],
           "timestamps": [1_000_000, 1_000_050]}
    p = chrome.read_json(doc).profiles[0]
    assert [(len(s), w) for s, w in p.iter_samples()] == [(5_000, 50.0)]


# --- the fast path gives exactly speedscope's stacks -----------------------------------


def speedscope_stacks(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    """speedscope's stack walk, transliterated directly (quadratic; for small profiles): for
    each run of samples, the frames open after it."""
    nodes = {n["id"]: n for n in doc["nodes"]}
    parent = {n["id"]: n["parent"] for n in doc["nodes"] if n.get("parent") in nodes}

    def name(n: int) -> str:
        return str(nodes[n]["callFrame"]["functionName"])

    def up(n: int, prev: list[int]) -> int | None:
        if name(n) in ("(program)", "(garbage collector)"):
            return prev[-1] if prev else None
        return parent.get(n)

    def hidden(n: int) -> bool:
        cf = nodes[n]["callFrame"]
        return name(n) in ("(root)", "(idle)") or cf.get("url") == "native dummy.js"

    prev: list[int] = []
    out = []
    last = None
    for nid in doc["samples"]:
        if nid == last or nid not in nodes:
            last = nid if nid in nodes else last
            continue
        last = nid
        lca: int | None = nid
        while lca is not None and lca not in prev:
            lca = up(lca, prev)
        while prev and prev[-1] != lca:
            prev.pop()
        opening = []
        node: int | None = nid
        while node is not None and node != lca and not hidden(node):
            opening.append(node)
            node = up(node, prev)
        prev = prev + opening[::-1]
        out.append(tuple(name(n) for n in prev))
    return out


def our_stacks(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    """Our stack after each run of samples (the walk, without the sample bookkeeping)."""
    group = ProfileGroup("x")
    profile = group.new_profile("x")
    tree = chrome._tree(doc["nodes"])
    walker = chrome._Walker(tree, chrome._FrameCache(profile, tree.call_frames))
    out = []
    last = None
    for nid in doc["samples"]:
        if nid == last or nid not in tree.call_frames:
            last = nid if nid in tree.call_frames else last
            continue
        last = nid
        out.append(tuple(group.frames[f].name for f in walker.step(nid)))
    return out


def random_profile(rng: random.Random) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": 1, "callFrame": {"functionName": "(root)"}}]
    for i in range(2, rng.randint(2, 25)):
        roll = rng.random()
        cf: dict[str, Any] = {"functionName": f"f{i % 5}", "url": "a.js"}
        if roll < 0.12:
            cf = {"functionName": "(program)"}
        elif roll < 0.2:
            cf = {"functionName": "(garbage collector)"}
        elif roll < 0.26:
            cf = {"functionName": "(idle)"}
        elif roll < 0.34:
            cf = {"functionName": "", "url": "native dummy.js"}
        node: dict[str, Any] = {"id": i, "callFrame": cf}
        if rng.random() > 0.05:
            node["parent"] = rng.randint(1, i - 1)
        nodes.append(node)
    rng.shuffle(nodes)
    samples = [rng.randint(1, len(nodes) + 2) for _ in range(rng.randint(1, 40))]
    return {"nodes": nodes, "samples": samples}


def test_stacks_match_a_direct_transliteration_of_speedscope() -> None:
    """On 1,000 random trees mixing `(program)`, GC, `(idle)`, mid-stack `native dummy.js`
    frames and unknown nodes, our (memoised) walk gives speedscope's stack after every run."""
    rng = random.Random(20240601)
    for _ in range(1_000):
        doc = random_profile(rng)
        assert our_stacks(doc) == speedscope_stacks(doc), doc


# --- Chrome traces ---------------------------------------------------------------------


def test_chunks_of_an_unknown_profile_are_skipped() -> None:
    """A `ProfileChunk` whose `Profile` never began is ignored; with no `Profile` at all the
    trace has no CPU profile, which is an error."""
    chunk = {"name": "ProfileChunk", "ph": "P", "pid": 1, "tid": 1, "ts": 5, "id": "0x9",
             "args": {"data": {"cpuProfile": {"nodes": [], "samples": [1]}, "timeDeltas": [1]}}}
    begin = {"name": "Profile", "ph": "P", "pid": 1, "tid": 1, "ts": 1, "id": "0x1",
             "args": {"data": {"startTime": 1}}}
    group = chrome.read_timeline([begin, chunk], "t.json")
    assert [p.sample_count for p in group.profiles] == [0]
    with pytest.raises(ProfileError, match="no CPU profile"):
        chrome.read_timeline([chunk], "t.json")


def test_whole_profile_in_one_cpuprofile_event() -> None:
    """Before Chrome 66 a trace held the profile in one `CpuProfile` event: it reads as the
    same `.cpuprofile` would."""
    doc = cpuprofile(ROOTED, [3, 4, 2, 6, 2])
    trace = [{"name": "CpuProfile", "ph": "I", "pid": 3, "tid": 4, "ts": 0, "args": {"data": {"cpuProfile": doc}}}]
    group = chrome.read_timeline(trace, "t.json")
    assert names(group.profiles[0]) == names(chrome.read_json(doc).profiles[0])
    assert (group.profiles[0].pid, group.profiles[0].tid) == (3, 4)


def test_chunks_are_joined_in_time_order() -> None:
    """Chunks are taken by `ts`, not file order, and several profiles are named by thread."""
    nodes = [{"id": 1, "callFrame": {"functionName": "(root)"}},
             {"id": 2, "callFrame": {"functionName": "a"}, "parent": 1},
             {"id": 3, "callFrame": {"functionName": "b"}, "parent": 1}]
    events = [
        {"name": "thread_name", "ph": "M", "pid": 1, "tid": 7, "args": {"name": "Main"}},
        {"name": "ProfileChunk", "ph": "P", "pid": 1, "tid": 9, "ts": 30, "id": "0x1",
         "args": {"data": {"cpuProfile": {"samples": [3, 3]}, "timeDeltas": [10, 10]}}},
        {"name": "ProfileChunk", "ph": "P", "pid": 1, "tid": 9, "ts": 20, "id": "0x1",
         "args": {"data": {"cpuProfile": {"nodes": nodes, "samples": [2, 2]}, "timeDeltas": [5, 10]}}},
        {"name": "Profile", "ph": "P", "pid": 1, "tid": 7, "ts": 10, "id": "0x1",
         "args": {"data": {"startTime": 100}}},
        {"name": "Profile", "ph": "P", "pid": 1, "tid": 8, "ts": 11, "id": "0x2",
         "args": {"data": {"startTime": 100}}},
    ]
    group = chrome.read_timeline(events, "t.json")
    assert [p.name for p in group.profiles] == ["t.json - Main", "t.json"]
    assert names(group.profiles[0]) == [("a", 20.0), ("b", 10.0)]


# --- malformed input -------------------------------------------------------------------


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["nodes"].__setitem__(0, 3), "node 0 is not an object"),
    (lambda d: d["nodes"][1].__setitem__("id", "2"), "node 1 has an `id` that is not a whole number"),
    (lambda d: d["nodes"][1].pop("callFrame"), "node 2 has no `callFrame`"),
    (lambda d: d["nodes"][1]["callFrame"].__setitem__("functionName", 5),
     "`functionName` that is not a string"),
    (lambda d: d["nodes"][1].__setitem__("children", 3), "`children` that is not a list"),
    (lambda d: d["timeDeltas"].pop(), "3 samples but only 2 time deltas"),
    (lambda d: d["timeDeltas"].__setitem__(1, "5"), "time delta 1 is not a number"),
    (lambda d: d["timeDeltas"].__setitem__(1, float("nan")), "time delta 1 is not a number"),
    (lambda d: d["samples"].__setitem__(1, None), "sample 1 is not a node id"),
    (lambda d: d.__setitem__("samples", {}), "`samples` that is not a list"),
    (lambda d: d.__setitem__("startTime", "now"), "`startTime` is not a number"),
])
def test_malformed_profile_is_rejected(mutate: Any, message: str) -> None:
    """Each kind of damage is a ProfileError saying what is wrong."""
    doc = cpuprofile(ROOTED, [2, 3, 2])
    mutate(doc)
    with pytest.raises(ProfileError, match=message):
        chrome.read_json(doc)


def test_parent_loop_is_rejected() -> None:
    """Parent links that go round in a circle are an error, not an endless loop."""
    doc = cpuprofile([{"id": 1, "name": "a", "parent": 2}, {"id": 2, "name": "b", "parent": 1}], [1, 2])
    with pytest.raises(ProfileError, match="form a loop"):
        chrome.read_json(doc)


def test_other_json_is_rejected() -> None:
    """JSON that is neither a `.cpuprofile` nor a trace with CPU profile events is an error."""
    with pytest.raises(ProfileError, match="not a Chrome CPU profile"):
        chrome.read_json({"traceEvents": [{"ph": "X", "name": "a", "ts": 0}]})
