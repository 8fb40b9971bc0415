"""pprof profiles (`perftools.profiles.Profile`, gzipped protobuf): Go, gperftools, pprof-rs, ...

The message schema is built here from a `FileDescriptorProto` (fields and numbers as in
pprof's `profile.proto`) in a private descriptor pool, so neither `protoc` nor generated
code is needed and nothing clashes with another copy of the schema; the `protobuf`
library does all the decoding.

Reading follows speedscope's importer: one profile, weighted by the default sample type
(else the last one), in that type's unit; a frame is a function (name, file, and the line
speedscope shows: the last line a location gives it), so a function with many call sites
is one frame; samples in file order with no times (pprof has none). Deliberately unlike
speedscope: every `Line` of a location is a frame (the last line is the caller the earlier
ones were inlined into), as `pprof` itself shows them, where speedscope keeps only the
last; `default_sample_type` is matched by name, as the proto defines it, not used as a
position; a location with no function is a frame named by its address instead of being
dropped; and damage (bad string index, missing location or function, negative values, a
wrong number of values) is an error rather than silently skipped.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

from collectors.formats.errors import ProfileError
from collectors.formats.limits import StackBudget
from collectors.formats.text import gunzip_if_needed
from collectors.profile import Frame, FrameKind, Profile, ProfileGroup, Unit

NAME = "pprof"

_F = descriptor_pb2.FieldDescriptorProto
_INT64, _UINT64, _BOOL = _F.TYPE_INT64, _F.TYPE_UINT64, _F.TYPE_BOOL
_STRING, _MESSAGE = _F.TYPE_STRING, _F.TYPE_MESSAGE
_ONE, _MANY = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED

# (message, [(field name, number, type, label, message type name or "")]), as in profile.proto.
_SCHEMA: list[tuple[str, list[tuple[str, int, int, int, str]]]] = [
    ("Profile", [
        ("sample_type", 1, _MESSAGE, _MANY, "ValueType"),
        ("sample", 2, _MESSAGE, _MANY, "Sample"),
        ("mapping", 3, _MESSAGE, _MANY, "Mapping"),
        ("location", 4, _MESSAGE, _MANY, "Location"),
        ("function", 5, _MESSAGE, _MANY, "Function"),
        ("string_table", 6, _STRING, _MANY, ""),
        ("drop_frames", 7, _INT64, _ONE, ""),
        ("keep_frames", 8, _INT64, _ONE, ""),
        ("time_nanos", 9, _INT64, _ONE, ""),
        ("duration_nanos", 10, _INT64, _ONE, ""),
        ("period_type", 11, _MESSAGE, _ONE, "ValueType"),
        ("period", 12, _INT64, _ONE, ""),
        ("comment", 13, _INT64, _MANY, ""),
        ("default_sample_type", 14, _INT64, _ONE, ""),
        ("doc_url", 15, _INT64, _ONE, ""),
    ]),
    ("ValueType", [
        ("type", 1, _INT64, _ONE, ""),
        ("unit", 2, _INT64, _ONE, ""),
    ]),
    ("Sample", [
        ("location_id", 1, _UINT64, _MANY, ""),
        ("value", 2, _INT64, _MANY, ""),
        ("label", 3, _MESSAGE, _MANY, "Label"),
    ]),
    ("Label", [
        ("key", 1, _INT64, _ONE, ""),
        ("str", 2, _INT64, _ONE, ""),
        ("num", 3, _INT64, _ONE, ""),
        ("num_unit", 4, _INT64, _ONE, ""),
    ]),
    ("Mapping", [
        ("id", 1, _UINT64, _ONE, ""),
        ("memory_start", 2, _UINT64, _ONE, ""),
        ("memory_limit", 3, _UINT64, _ONE, ""),
        ("file_offset", 4, _UINT64, _ONE, ""),
        ("filename", 5, _INT64, _ONE, ""),
        ("build_id", 6, _INT64, _ONE, ""),
        ("has_functions", 7, _BOOL, _ONE, ""),
        ("has_filenames", 8, _BOOL, _ONE, ""),
        ("has_line_numbers", 9, _BOOL, _ONE, ""),
        ("has_inline_frames", 10, _BOOL, _ONE, ""),
    ]),
    ("Location", [
        ("id", 1, _UINT64, _ONE, ""),
        ("mapping_id", 2, _UINT64, _ONE, ""),
        ("address", 3, _UINT64, _ONE, ""),
        ("line", 4, _MESSAGE, _MANY, "Line"),
        ("is_folded", 5, _BOOL, _ONE, ""),
    ]),
    ("Line", [
        ("function_id", 1, _UINT64, _ONE, ""),
        ("line", 2, _INT64, _ONE, ""),
        ("column", 3, _INT64, _ONE, ""),
    ]),
    ("Function", [
        ("id", 1, _UINT64, _ONE, ""),
        ("name", 2, _INT64, _ONE, ""),
        ("system_name", 3, _INT64, _ONE, ""),
        ("filename", 4, _INT64, _ONE, ""),
        ("start_line", 5, _INT64, _ONE, ""),
    ]),
]

_PACKAGE = "perftools.profiles"


def _build_profile_class() -> type[Message]:
    fdp = descriptor_pb2.FileDescriptorProto(name="bpfscope/pprof/profile.proto", package=_PACKAGE,
                                             syntax="proto3")
    for message_name, fields in _SCHEMA:
        mdp = fdp.message_type.add(name=message_name)
        for field_name, number, ftype, label, type_name in fields:
            f = mdp.field.add(name=field_name, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = f".{_PACKAGE}.{type_name}"
    # A private pool: another copy of profile.proto (from some other library) in the default
    # pool would otherwise be a duplicate-symbol error.
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.Profile"))


ProfileMessage = _build_profile_class()
"""The `perftools.profiles.Profile` message class (fields as in pprof's profile.proto)."""

_TIME_UNITS = {
    "nanoseconds": Unit.NANOSECONDS,
    "microseconds": Unit.MICROSECONDS,
    "milliseconds": Unit.MILLISECONDS,
    "seconds": Unit.SECONDS,
}
_KERNEL_MAPPING = "[kernel.kallsyms]"
_INT64_MAX = (1 << 63) - 1


# --- reading --------------------------------------------------------------------------


def sniff(data: bytes) -> bool:
    """True when `data` (already gunzipped) parses as a Profile with a string table that
    starts with "" and at least one sample type."""
    try:
        message: Any = ProfileMessage.FromString(data)
    except (DecodeError, ValueError):
        return False
    return bool(message.sample_type) and bool(message.string_table) and message.string_table[0] == ""


def read_bytes(data: bytes, name: str = "profile") -> ProfileGroup:
    """One profile from a (gunzipped) pprof file, weighted by its default sample type."""
    data = gunzip_if_needed(data)
    try:
        message: Any = ProfileMessage.FromString(data)
    except (DecodeError, ValueError):
        raise ProfileError("not a valid pprof protobuf (truncated or corrupt)") from None
    strings: Sequence[str] = message.string_table
    if not strings or strings[0] != "":
        raise ProfileError("not a pprof profile (its string table does not start with an empty string)")
    types = message.sample_type
    if not types:
        raise ProfileError("the pprof profile has no sample types")
    index = _sample_type_index(message, strings)
    unit_name = _string(strings, types[index].unit)
    unit = Unit.BYTES if unit_name == "bytes" else _TIME_UNITS.get(unit_name, Unit.NONE)

    group = ProfileGroup(name=name)
    # A location with many inlined lines, repeated in every sample, multiplies: hence a budget.
    budget = StackBudget()
    period = _sample_period(message, strings)
    thread_key = _string_index(strings, THREAD_LABEL)
    name_key = _string_index(strings, THREAD_NAME_LABEL)
    profiles: dict[tuple[int, str] | None, Profile] = {}

    def profile_for(sample: Any | None) -> Profile:
        """One profile per thread label (as we write them), else one for the file."""
        key: tuple[int, str] | None = None
        if thread_key is not None and sample is not None:
            tid = next((lb.num for lb in sample.label if lb.key == thread_key), None)
            if tid is not None:
                tname = next((_string(strings, lb.str) for lb in sample.label if lb.key == name_key), "")
                key = (tid, tname)
        profile = profiles.get(key)
        if profile is None:
            title = name if key is None else (key[1] or f"{name} (tid {key[0]})")
            profile = profiles[key] = budget.attach(group.new_profile(title, unit))
            profile.sample_period = period
            if key is not None:
                profile.tid = key[0]
        return profile

    location_frames = _location_frames(message, strings, group)
    _add_samples(message, profile_for, location_frames, index, len(types))
    if not group.profiles:
        profile_for(None)
    return group


THREAD_LABEL = "thread"
THREAD_NAME_LABEL = "thread_name"


def _string_index(strings: Sequence[str], text: str) -> int | None:
    for i, candidate in enumerate(strings):
        if candidate == text:
            return i
    return None


def _string(strings: Sequence[str], index: int) -> str:
    if not 0 <= index < len(strings):
        raise ProfileError(f"string index {index} is outside the string table ({len(strings)} strings)")
    return strings[index]


def _sample_type_index(message: Any, strings: Sequence[str]) -> int:
    """The sample type to show: `default_sample_type` names one by type, else the last.

    speedscope reads `default_sample_type` as an index into the sample types; the proto
    says it is the string index of a type's name (Go's heap profiles set "inuse_space").
    """
    types = message.sample_type
    default = message.default_sample_type
    if default:
        wanted = _string(strings, default)
        for i, vt in enumerate(types):
            if _string(strings, vt.type) == wanted:
                return i
    return len(types) - 1


def _sample_period(message: Any, strings: Sequence[str]) -> float | None:
    if message.period <= 0 or not message.HasField("period_type"):
        return None
    unit = _TIME_UNITS.get(_string(strings, message.period_type.unit))
    if unit is None:
        return None
    seconds = unit.seconds_per_unit
    assert seconds is not None
    return float(message.period) * seconds


def _location_frames(message: Any, strings: Sequence[str], group: ProfileGroup) -> dict[int, tuple[int, ...]]:
    """Frame ids root-first per location id (inlined functions make a location several frames)."""
    functions = {f.id: f for f in message.function}
    mappings = {m.id: m for m in message.mapping}

    # A function is one frame; like speedscope, its line is the last positive line a
    # location gives it (Go leaves start_line 0), else its start line.
    places: dict[int, tuple[int, int]] = {}
    for loc in message.location:
        for ln in loc.line:
            if ln.line > 0:
                places[ln.function_id] = (ln.line, ln.column)

    intern = group.frames.intern
    frame_of_function: dict[tuple[int, FrameKind], int] = {}

    def function_frame(function_id: int, kind: FrameKind) -> int:
        fid = frame_of_function.get((function_id, kind))
        if fid is None:
            f = functions.get(function_id)
            if f is None:
                raise ProfileError(f"a location refers to function {function_id}, which the profile lacks")
            fname = _string(strings, f.name) or _string(strings, f.system_name) or "(unknown)"
            file = _string(strings, f.filename) or None
            line, col = places.get(function_id, (f.start_line, 0))
            fid = intern(Frame(fname, file, line if line > 0 else None, col if col > 0 else None, kind))
            frame_of_function[(function_id, kind)] = fid
        return fid

    out: dict[int, tuple[int, ...]] = {}
    for loc in message.location:
        mapping = mappings.get(loc.mapping_id) if loc.mapping_id else None
        binary = _string(strings, mapping.filename) if mapping is not None else ""
        kind = FrameKind.KERNEL if binary.startswith("[kernel") else FrameKind.USER
        # line[0] is the innermost (inlined) function and the last line its caller.
        ids = [function_frame(ln.function_id, kind) for ln in reversed(loc.line) if ln.function_id]
        if not ids:
            # Not symbolized: pprof shows the address, which beats dropping the frame (and
            # giving its time to the caller) as speedscope does.
            label = f"0x{loc.address:x}" if loc.address else "(unknown)"
            ids = [intern(Frame(label, binary or None, None, None, kind))]
        out[loc.id] = tuple(ids)
    return out


def _add_samples(message: Any, profile_for: Callable[[Any], Profile], location_frames: dict[int, tuple[int, ...]],
                 index: int, n_types: int) -> None:
    single = all(len(ids) == 1 for ids in location_frames.values())
    leaf_first: dict[int, int] = {loc: ids[0] for loc, ids in location_frames.items()} if single else {}
    # Samples repeat stacks: resolve each distinct list of location ids once (per profile:
    # each has its own stack table).
    stack_of: dict[tuple[int, tuple[int, ...]], int] = {}
    for sample in message.sample:
        values = sample.value
        if len(values) != n_types:
            raise ProfileError(f"a sample has {len(values)} values for the profile's {n_types} sample types")
        value = values[index]
        if value < 0:
            raise ProfileError(f"a sample has the negative value {value} (diff profiles are not supported)")
        profile = profile_for(sample)
        key = tuple(sample.location_id)
        sid = stack_of.get((id(profile), key))
        if sid is None:
            try:
                if single:
                    stack = tuple(map(leaf_first.__getitem__, reversed(key)))
                else:
                    stack = tuple(f for loc in reversed(key) for f in location_frames[loc])
            except KeyError as e:
                problem = f"a sample refers to location {e.args[0]}, which the profile lacks"
                raise ProfileError(problem) from None
            sid = stack_of[(id(profile), key)] = profile.stacks.intern(stack)
        profile.add_stack_sample(sid, float(value))


# --- writing --------------------------------------------------------------------------


def save(group: ProfileGroup, out: BinaryIO) -> None:
    """The registry's writer."""
    out.write(write(group))


def write(group: ProfileGroup) -> bytes:
    """The group as one gzipped pprof profile: every profile's samples, in order, with a
    `thread` label holding the tid when a profile has one."""
    sample_type, unit = _written_type(group)
    message: Any = ProfileMessage()
    strings: dict[str, int] = {"": 0}

    def s(text: str) -> int:
        i = strings.get(text)
        if i is None:
            i = strings[text] = len(strings)
        return i

    message.sample_type.add(type=s(sample_type), unit=s(unit))
    periods = {p.sample_period for p in group.profiles}
    period = periods.pop() if len(periods) == 1 else None
    if period and period * 1e9 < _INT64_MAX:
        # As Go writes CPU profiles: the sampling interval in CPU nanoseconds.
        message.period_type.type = s("cpu")
        message.period_type.unit = s("nanoseconds")
        message.period = round(period * 1e9)

    used: set[int] = set()
    thread_key = s(THREAD_LABEL)
    name_key = s(THREAD_NAME_LABEL)
    for profile in group.profiles:
        tid = profile.tid if profile.tid is not None and -_INT64_MAX <= profile.tid <= _INT64_MAX else None
        # Time units are all written as nanoseconds.
        per = profile.unit.seconds_per_unit
        scale = 1.0 if per is None else per * 1e9
        locations_of: dict[int, list[int]] = {}
        stacks = profile.stacks.stacks
        for sid, weight in zip(profile.sample_stacks, profile.weights, strict=True):
            locations = locations_of.get(sid)
            if locations is None:
                stack = stacks[sid]
                used.update(stack)
                # Location (and function) ids are frame ids + 1: id 0 means "none" in pprof.
                locations = locations_of[sid] = list(map((1).__add__, reversed(stack)))
            scaled = weight * scale
            if not scaled < _INT64_MAX:  # also catches infinity, which round() cannot take
                raise ProfileError(f"the weight {weight} is too large for a pprof value")
            sample = message.sample.add(location_id=locations, value=[round(scaled)])
            if tid is not None:
                sample.label.add(key=thread_key, num=tid)
                sample.label.add(key=name_key, str=s(profile.name))

    kernel_mapping = 0
    frames = group.frames
    for fid in sorted(used):
        frame = frames[fid]
        # Lines and ids from another file can be any size; pprof's fields are int64.
        line = frame.line if frame.line is not None and 0 < frame.line <= _INT64_MAX else 0
        col = frame.col if frame.col is not None and 0 < frame.col <= _INT64_MAX else 0
        message.function.add(id=fid + 1, name=s(frame.name), system_name=s(frame.name),
                             filename=s(frame.file) if frame.file else 0, start_line=line)
        loc = message.location.add(id=fid + 1)
        loc.line.add(function_id=fid + 1, line=line, column=col)
        if frame.kind is FrameKind.KERNEL:
            if not kernel_mapping:
                kernel_mapping = 1
                message.mapping.add(id=1, filename=s(_KERNEL_MAPPING), has_functions=True)
            loc.mapping_id = kernel_mapping
    message.string_table.extend(strings)
    return gzip.compress(message.SerializeToString(), mtime=0)


def _written_type(group: ProfileGroup) -> tuple[str, str]:
    """The (sample type, unit) the group's samples are written as."""
    units = {p.unit for p in group.profiles} or {Unit.NONE}
    if units == {Unit.BYTES}:
        return "space", "bytes"
    if units == {Unit.NONE}:
        return "samples", "count"
    if all(u.seconds_per_unit is not None for u in units):
        return "cpu", "nanoseconds"
    names = ", ".join(sorted(u.value for u in units))
    raise ProfileError(f"profiles in different units ({names}) cannot share one pprof file")
