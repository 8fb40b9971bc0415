"""speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json).

Reading takes every version speedscope has written: sampled profiles (stacks of frame
indices, root first, with a weight each; missing weights count 1 each) and evented ones
(open/close events), which become samples: each stretch between two event times during
which some frame is open is one sample, weighted by its length, timed at its start when the
unit is a time. The schema does not catch unbalanced or out-of-order events, indices out of
range or bad weights; speedscope itself fails on most of these with an exception, and so do
we, with a `ProfileError` saying what is wrong.

Writing produces one sampled profile per `Profile`, with only the frames the samples use,
each once (speedscope takes every entry of `shared.frames` as a distinct function). What
speedscope has no field for (sample times, pid/tid, the sample period, frame kinds, whether
the weights are on-CPU or off-CPU time) goes in
`"bpfscope"` keys, which the schema allows and speedscope ignores; reading honours them, so
our own files round-trip. Unlike speedscope, equal frames in `shared.frames` (same name,
file, line and column) are read as one function.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, TextIO

from collectors.formats import EXPORTER
from collectors.formats.errors import ProfileError
from collectors.formats.limits import StackBudget
from collectors.formats.locations import split_location
from collectors.profile import OFF_CPU, ON_CPU, Frame, FrameKind, Profile, ProfileGroup, Unit

NAME = "speedscope JSON"
SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"
EXTRA = "bpfscope"
"""The key our own data lives under, in the file and in each profile."""

_CHUNK = 8192
"""Samples encoded per write when streaming the big arrays."""

_NUMBER = (int, float)

_TIME_KINDS = (ON_CPU, OFF_CPU)

_EXACT = 2.0**53
"""Whole numbers below this are written as JSON integers (larger ones stay floats, `1e+300`)."""


def sniff_json(obj: object) -> bool:
    """True for a speedscope document: its `$schema`, or `profiles` beside `shared.frames`."""
    if not isinstance(obj, dict):
        return False
    schema = obj.get("$schema")
    if isinstance(schema, str) and schema.rstrip("/").endswith("speedscope.app/file-format-schema.json"):
        return True
    shared = obj.get("shared")
    return "profiles" in obj and isinstance(shared, dict) and "frames" in shared


# --- reading ---------------------------------------------------------------------------


def read_json(obj: object, name: str = "profile") -> ProfileGroup:
    """The profiles of a parsed speedscope document; `name` names the group when the file doesn't."""
    if not isinstance(obj, dict):
        raise ProfileError("a speedscope file must be a JSON object")
    shared = obj.get("shared")
    if not isinstance(shared, dict) or "frames" not in shared:
        raise ProfileError("the speedscope file has no `shared.frames` list")
    raw_frames = shared["frames"]
    if not isinstance(raw_frames, list):
        raise ProfileError("`shared.frames` must be a list")
    raw_profiles = obj.get("profiles")
    if not isinstance(raw_profiles, list):
        raise ProfileError("`profiles` must be a list" if "profiles" in obj
                           else "the speedscope file has no `profiles` list")
    exporter = obj.get("exporter")
    if exporter is not None and not isinstance(exporter, str):
        raise ProfileError("`exporter` must be a string")
    group_name = obj.get("name")
    if group_name is not None and not isinstance(group_name, str):
        raise ProfileError("the file's `name` must be a string")

    group = ProfileGroup(name=name, exporter=exporter)
    kinds = _frame_kinds(obj.get(EXTRA), len(raw_frames))
    fmap = [group.frames.intern(_frame(raw, i, kinds[i] if kinds else FrameKind.USER))
            for i, raw in enumerate(raw_frames)]
    budget = StackBudget()  # evented profiles only: sampled ones spell out every stack they hold
    for index, raw in enumerate(raw_profiles):
        _read_profile(group, raw, index, fmap, budget)

    # As speedscope: the file's name, else the first profile's, else the caller's.
    first = group.profiles[0].name if group.profiles else ""
    group.name = group_name or first or name
    group.active_index = _active_index(obj.get("activeProfileIndex"), len(group.profiles))
    return group


def _frame_kinds(extra: object, count: int) -> list[FrameKind] | None:
    if extra is None:
        return None
    if not isinstance(extra, dict):
        raise ProfileError(f"the file's `{EXTRA}` entry must be an object")
    raw = extra.get("frameKinds")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != count:
        raise ProfileError(f"`{EXTRA}.frameKinds` must be a list as long as `shared.frames` ({count})")
    by_value = {k.value: k for k in FrameKind}
    # A kind a later version adds reads as UNKNOWN rather than failing the file.
    return [by_value.get(k, FrameKind.UNKNOWN) if isinstance(k, str) else FrameKind.UNKNOWN for k in raw]


def _frame(raw: object, index: int, kind: FrameKind) -> Frame:
    if not isinstance(raw, dict):
        raise ProfileError(f"frame {index} must be an object with a `name`")
    if "name" not in raw:
        raise ProfileError(f"frame {index} has no `name`")
    fname = raw["name"]
    if not isinstance(fname, str):
        raise ProfileError(f"frame {index} has a `name` that is not a string: {fname!r}")
    file = raw.get("file")
    if file is not None and not isinstance(file, str):
        raise ProfileError(f"frame {index} ({fname!r}) has a `file` that is not a string")
    line = _position(raw, "line", index)
    if file is None and line is None:
        # A name holding its location (speedscope's import of py-spy's folded or Chrome trace).
        where = split_location(fname)
        if where is not None:
            fname, file, line = where
    return Frame(fname, file, line, _position(raw, "col", index), kind)


def _position(raw: dict[str, Any], key: str, index: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise ProfileError(f"frame {index} has a `{key}` that is not a whole number: {value!r}")


def _active_index(value: object, count: int) -> int:
    if value is None:
        return 0
    if type(value) not in _NUMBER:
        raise ProfileError("`activeProfileIndex` must be a number")
    assert isinstance(value, int | float)
    # speedscope shows the first profile when the index points nowhere; so do we.
    if not math.isfinite(value) or value != int(value) or not 0 <= value < count:
        return 0
    return int(value)


def _read_profile(group: ProfileGroup, raw: object, index: int, fmap: list[int], budget: StackBudget) -> None:
    if not isinstance(raw, dict):
        raise ProfileError(f"profile {index} must be an object")
    where = f"profile {index}"
    pname = _require(raw, "name", where)
    if not isinstance(pname, str):
        raise ProfileError(f"{where} has a `name` that is not a string")
    where = f"profile {index} ({pname!r})"
    ptype = _require(raw, "type", where)
    unit_text = _require(raw, "unit", where)
    try:
        unit = Unit.parse(unit_text) if isinstance(unit_text, str) else None
    except ValueError:
        unit = None
    if unit is None:
        raise ProfileError(f"{where} has unknown unit {unit_text!r}")
    start = _number(_require(raw, "startValue", where), f"{where}: `startValue`")
    end = _number(_require(raw, "endValue", where), f"{where}: `endValue`")
    if ptype not in ("sampled", "evented"):
        raise ProfileError(f"{where} has unknown type {ptype!r} (expected \"sampled\" or \"evented\")")

    profile = group.new_profile(pname, unit)
    if ptype == "evented":
        budget.attach(profile)
    profile.start_value, profile.end_value = start, end
    extra = raw.get(EXTRA)
    if extra is not None and not isinstance(extra, dict):
        raise ProfileError(f"{where}: `{EXTRA}` must be an object")
    extra = extra or {}
    profile.pid = _optional_int(extra.get("pid"), f"{where}: `{EXTRA}.pid`")
    profile.tid = _optional_int(extra.get("tid"), f"{where}: `{EXTRA}.tid`")
    period = extra.get("samplePeriod")
    if period is not None:
        profile.sample_period = _number(period, f"{where}: `{EXTRA}.samplePeriod`")
        if profile.sample_period <= 0:
            raise ProfileError(f"{where}: `{EXTRA}.samplePeriod` must be positive")
    time_kind = extra.get("timeKind")
    if time_kind is not None and time_kind not in _TIME_KINDS:
        raise ProfileError(f"{where}: `{EXTRA}.timeKind` must be \"{ON_CPU}\" or \"{OFF_CPU}\", not {time_kind!r}")
    profile.time_kind = time_kind
    if ptype == "sampled":
        _read_sampled(profile, raw, where, fmap, extra.get("times"))
    else:
        _read_evented(profile, raw, where, fmap)


def _require(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw:
        raise ProfileError(f"{where} has no `{key}`")
    return raw[key]


def _number(value: object, what: str) -> float:
    if type(value) not in _NUMBER:
        raise ProfileError(f"{what} must be a number, not {value!r}")
    assert isinstance(value, int | float)
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise ProfileError(f"{what} must be a finite number, not {value!r}")
    return result


def _optional_int(value: object, what: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        raise ProfileError(f"{what} must be a whole number, not {value!r}")
    assert isinstance(value, int)
    return value


def _read_sampled(profile: Profile, raw: dict[str, Any], where: str, fmap: list[int], times: object) -> None:
    samples = _require(raw, "samples", where)
    if not isinstance(samples, list):
        raise ProfileError(f"{where}: `samples` must be a list")
    n = len(samples)
    weights = raw.get("weights")
    if weights is None:
        weights = [1] * n
    elif not isinstance(weights, list):
        raise ProfileError(f"{where}: `weights` must be a list")
    elif len(weights) != n:
        raise ProfileError(f"{where} has {len(weights)} weights for {n} samples")
    elif not set(map(type, weights)) <= {int, float}:
        bad = next(w for w in weights if type(w) not in _NUMBER)
        raise ProfileError(f"{where} has a weight that is not a number: {bad!r}")
    time_list = _sample_times(times, n, where)

    # Hot loop: a sample's stack is looked up by its tuple of raw indices; only a stack not
    # seen before is checked and mapped to frame ids.
    sid_of: dict[tuple[Any, ...], int] = {}
    get = sid_of.get
    intern = profile.stacks.intern
    add = profile.add_stack_sample
    nframes = len(fmap)
    fmap_get = fmap.__getitem__
    for k, stack in enumerate(samples):
        if type(stack) is not list:
            raise ProfileError(f"{where}: sample {k} is not a list of frame indices")
        key = tuple(stack)
        sid = get(key)
        if sid is None:
            indices = _checked_indices(key, nframes, f"{where}: sample {k}")
            sid = sid_of[key] = intern(tuple(map(fmap_get, indices)))
        w = weights[k]
        if not 0 <= w < math.inf:
            raise ProfileError(f"{where}: sample {k} has weight {w!r}, which is not a finite number >= 0")
        try:
            add(sid, w, None if time_list is None else time_list[k])
        except OverflowError:
            raise ProfileError(f"{where}: sample {k} has weight {w!r}, which is too large") from None


def _sample_times(times: object, n: int, where: str) -> list[float] | None:
    if times is None:
        return None
    what = f"{where}: `{EXTRA}.times`"
    if not isinstance(times, list) or len(times) != n:
        raise ProfileError(f"{what} must be a list with one time per sample ({n})")
    try:
        if set(map(type, times)) <= {int, float} and all(map(math.isfinite, times)):
            return times
    except OverflowError:
        pass
    raise ProfileError(f"{what} must hold finite numbers of seconds")


def _checked_indices(key: tuple[Any, ...], nframes: int, what: str) -> tuple[int, ...]:
    """`key` as frame indices, or a ProfileError saying which entry is not one."""
    if not set(map(type, key)) <= {int}:
        fixed = []
        for i in key:
            if type(i) is float and i.is_integer():
                fixed.append(int(i))
            elif type(i) is int:
                fixed.append(i)
            else:
                raise ProfileError(f"{what} has a frame index that is not a whole number: {i!r}")
        key = tuple(fixed)
    if key and (min(key) < 0 or max(key) >= nframes):
        bad = next(i for i in key if not 0 <= i < nframes)
        raise ProfileError(f"{what} refers to frame {bad}, but there are {nframes} frames")
    return key


def _read_evented(profile: Profile, raw: dict[str, Any], where: str, fmap: list[int]) -> None:
    events = _require(raw, "events", where)
    if not isinstance(events, list):
        raise ProfileError(f"{where}: `events` must be a list")
    to_seconds = profile.unit.seconds_per_unit
    intern = profile.stacks.intern
    add = profile.add_stack_sample
    nframes = len(fmap)
    frame_names = profile.frames

    # The open frames as raw indices, and a node id per distinct open path (a prefix tree),
    # so a stack tuple is only built the first time its path is seen: deep traces stay linear.
    open_frames: list[int] = []
    nodes: list[int] = [0]
    child: dict[tuple[int, int], int] = {}
    node_sid: dict[int, int] = {}
    prev_at: float | None = None
    for k, ev in enumerate(events):
        if not isinstance(ev, dict):
            raise ProfileError(f"{where}: event {k} must be an object")
        etype = ev.get("type")
        if etype not in ("O", "C"):
            raise ProfileError(f"{where}: event {k} has unknown type {etype!r} (expected \"O\" or \"C\")")
        if "frame" not in ev or "at" not in ev:
            raise ProfileError(f"{where}: event {k} needs both `frame` and `at`")
        (fi,) = _checked_indices((ev["frame"],), nframes, f"{where}: event {k}")
        at = _number(ev["at"], f"{where}: event {k}: `at`")
        if prev_at is not None and at != prev_at:
            if at < prev_at:
                raise ProfileError(f"{where}: event {k} is at {_num(at)}, before the event preceding it "
                                   f"at {_num(prev_at)} (events must be in time order)")
            if open_frames:
                top = nodes[-1]
                sid = node_sid.get(top)
                if sid is None:
                    sid = node_sid[top] = intern(tuple(map(fmap.__getitem__, open_frames)))
                add(sid, at - prev_at, None if to_seconds is None else prev_at * to_seconds)
        prev_at = at
        if etype == "O":
            key = (nodes[-1], fi)
            opened = child.get(key)
            if opened is None:
                opened = child[key] = len(child) + 1
            nodes.append(opened)
            open_frames.append(fi)
        else:
            if not open_frames:
                raise ProfileError(f"{where}: event {k} closes frame {frame_names[fmap[fi]].name!r} "
                                   f"at {_num(at)} when no frame is open")
            if open_frames[-1] != fi:
                raise ProfileError(f"{where}: event {k} closes frame {frame_names[fmap[fi]].name!r} at "
                                   f"{_num(at)} while frame {frame_names[fmap[open_frames[-1]]].name!r} "
                                   "is the innermost open one (events out of order)")
            open_frames.pop()
            nodes.pop()
    if open_frames:
        raise ProfileError(f"{where} ends with {len(open_frames)} frame(s) still open, innermost "
                           f"{frame_names[fmap[open_frames[-1]]].name!r} (an incomplete trace)")


def _num(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


# --- writing ---------------------------------------------------------------------------


def save(group: ProfileGroup, out: BinaryIO) -> None:
    """The registry's writer: UTF-8 JSON to a binary stream."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=False)
    write(group, text, EXPORTER)
    text.flush()
    text.detach()


def dumps(group: ProfileGroup, exporter: str) -> str:
    """The speedscope document for `group`, as one string."""
    buf = io.StringIO()
    write(group, buf, exporter)
    return buf.getvalue()


def write(group: ProfileGroup, out: TextIO, exporter: str) -> None:
    """Write `group` as a speedscope document (valid against its schema) to `out`."""
    enc = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode

    # Only the frames some sample uses, each once, in frame-id order.
    used: set[int] = set()
    referenced: list[list[int]] = []
    for p in group.profiles:
        stacks = p.stacks.stacks
        sids = sorted(set(p.sample_stacks))
        referenced.append(sids)
        for sid in sids:
            used.update(stacks[sid])
    order = sorted(used)
    remap = [-1] * len(group.frames)
    for i, fid in enumerate(order):
        remap[fid] = i
    frames = [_frame_json(group.frames[fid]) for fid in order]

    head: dict[str, Any] = {"$schema": SCHEMA_URL, "exporter": exporter, "name": group.name or "profile"}
    active = group.active_index if 0 <= group.active_index < len(group.profiles) else 0
    head["activeProfileIndex"] = active
    head["shared"] = {"frames": frames}
    kinds = [group.frames[fid].kind for fid in order]
    if any(k is not FrameKind.USER for k in kinds):
        head[EXTRA] = {"frameKinds": [k.value for k in kinds]}
    out.write(enc(head)[:-1])
    out.write(',"profiles":[')
    for i, p in enumerate(group.profiles):
        if i:
            out.write(",")
        _write_profile(p, referenced[i], remap, out, enc)
    out.write("]}\n")


def _frame_json(frame: Frame) -> dict[str, Any]:
    d: dict[str, Any] = {"name": frame.name}
    if frame.file is not None:
        d["file"] = frame.file
    if frame.line is not None:
        d["line"] = frame.line
    if frame.col is not None:
        d["col"] = frame.col
    return d


def _write_profile(p: Profile, sids: list[int], remap: list[int], out: TextIO,
                   enc: Callable[[object], str]) -> None:
    total = p.total_weight()
    start = p.start_value if p.start_value is not None else 0.0
    end = p.end_value if p.end_value is not None else start + total
    if not math.isfinite(end):  # a start near the float limit: the schema only needs a number
        end = start
    head: dict[str, Any] = {"type": "sampled", "name": p.name, "unit": p.unit.value,
                            "startValue": _compact(start), "endValue": _compact(end)}
    extra: dict[str, Any] = {}
    if p.times is not None:
        extra["times"] = p.times.tolist()
    if p.pid is not None:
        extra["pid"] = p.pid
    if p.tid is not None:
        extra["tid"] = p.tid
    if p.sample_period is not None and p.sample_period > 0:  # the reader takes nothing else
        extra["samplePeriod"] = p.sample_period
    if p.time_kind in _TIME_KINDS:
        extra["timeKind"] = p.time_kind
    if extra:
        head[EXTRA] = extra
    out.write(enc(head)[:-1])

    # Each distinct stack is encoded once (C-level map over its frame ids); samples then
    # only join the encoded strings, a chunk at a time so no giant string is built.
    stacks = p.stacks.stacks
    remap_get = remap.__getitem__
    encoded = {sid: f"[{','.join(map(str, map(remap_get, stacks[sid])))}]" for sid in sids}
    out.write(',"samples":[')
    sample_stacks = p.sample_stacks
    for chunk_start in range(0, len(sample_stacks), _CHUNK):
        if chunk_start:
            out.write(",")
        out.write(",".join(map(encoded.__getitem__, sample_stacks[chunk_start:chunk_start + _CHUNK])))
    out.write('],"weights":')
    out.write(enc(_compact_list(p.weights)))
    out.write("}")


def _compact(value: float) -> float | int:
    return int(value) if value.is_integer() and abs(value) < _EXACT else value


def _compact_list(values: Sequence[float]) -> list[float] | list[int]:
    """Weights as ints where all are whole (the usual case), floats kept where not."""
    floats = list(values)
    if all(map(float.is_integer, floats)) and max(floats, default=0.0) < _EXACT:
        return list(map(int, floats))
    return [int(v) if v.is_integer() and v < _EXACT else v for v in floats]
