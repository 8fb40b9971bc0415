"""Focus, hide, collapse and time slices: pure functions from a profile to a new profile.

Each transform maps every distinct stack once (a 100k-sample file has far fewer unique
stacks than samples) and then replays the samples, weights and times unchanged, so the
result is an ordinary `Profile` every view and writer understands. The new profile shares
the input's `FrameTable`; `collapse` interns one frame per pattern into it (interning only
ever adds, so the input profile is untouched).

Patterns match a frame when they are a case-insensitive substring of its name or file;
`re:` makes the rest a regular expression, searched in the name and in the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import filterfalse, groupby

from collectors.formats.errors import ProfileError
from collectors.profile import Frame, FrameTable, Profile, ProfileGroup

Stack = tuple[int, ...]
REGEX_PREFIX = "re:"


class TransformError(ProfileError):
    """A pattern or range the user gave cannot be applied (one sentence, no file name)."""


def frame_matcher(pattern: str) -> Callable[[Frame], bool]:
    """A predicate for `pattern`: substring (any case) of name or file, or `re:REGEX`."""
    if pattern.startswith(REGEX_PREFIX):
        source = pattern[len(REGEX_PREFIX):]
        try:
            regex = re.compile(source)
        except re.error as e:
            raise TransformError(f"{source!r} is not a valid regular expression ({e})") from None
        search = regex.search
        return lambda fr: search(fr.name) is not None or (fr.file is not None and search(fr.file) is not None)
    if not pattern:
        raise TransformError("an empty pattern would match every frame")
    needle = pattern.casefold()
    return lambda fr: needle in fr.name.casefold() or (fr.file is not None and needle in fr.file.casefold())


def matching_frames(frames: FrameTable, pattern: str) -> frozenset[int]:
    """Ids of the frames in `frames` that `pattern` matches."""
    match = frame_matcher(pattern)
    return frozenset(fid for fid, fr in enumerate(frames) if match(fr))


def _remap(profile: Profile, mapping: Callable[[Stack], Stack | None]) -> Profile:
    """A copy of `profile` with each stack replaced by `mapping(stack)`; None drops its samples."""
    out = profile.derive()
    new_sid: list[int | None] = []
    for stack in profile.stacks.stacks:
        mapped = mapping(stack)
        new_sid.append(None if mapped is None else out.stacks.intern(mapped))
    add = out.add_stack_sample
    if profile.times is None:
        for sid, w in zip(profile.sample_stacks, profile.weights, strict=True):
            target = new_sid[sid]
            if target is not None:
                add(target, w)
    else:
        for sid, w, t in zip(profile.sample_stacks, profile.weights, profile.times, strict=True):
            target = new_sid[sid]
            if target is not None:
                add(target, w, t)
    return out


def focus(profile: Profile, pattern: str) -> Profile:
    """Only the samples whose stack goes through a matching frame, re-rooted at the outermost one."""
    match = matching_frames(profile.frames, pattern)

    def reroot(stack: Stack) -> Stack | None:
        if match.isdisjoint(stack):
            return None
        return stack[min(map(stack.index, match.intersection(stack))):]

    return _remap(profile, reroot)


def hide(profile: Profile, pattern: str) -> Profile:
    """Matching frames removed from every stack: their self time goes to their caller.

    A sample whose frames all match keeps its weight on an empty stack, so percentages
    stay relative to the whole profile.
    """
    match = matching_frames(profile.frames, pattern)
    contains = match.__contains__

    def drop(stack: Stack) -> Stack:
        return stack if match.isdisjoint(stack) else tuple(filterfalse(contains, stack))

    return _remap(profile, drop)


def collapse(profile: Profile, pattern: str, label: str | None = None) -> Profile:
    """Each run of consecutive matching frames merged into one frame named `label`
    (default: the pattern, without its `re:`)."""
    match = matching_frames(profile.frames, pattern)
    if label is None:
        label = pattern[len(REGEX_PREFIX):] if pattern.startswith(REGEX_PREFIX) else pattern
    merged = profile.frames.intern(Frame(label))
    contains = match.__contains__

    def merge(stack: Stack) -> Stack:
        if match.isdisjoint(stack):
            return stack
        out: list[int] = []
        for matched, run in groupby(stack, contains):
            if matched:
                out.append(merged)
            else:
                out.extend(run)
        return tuple(out)

    return _remap(profile, merge)


def keep_only(profile: Profile, pattern: str) -> Profile:
    """Only matching frames kept in every stack ("my code"): the others are hidden, their
    self time going to the nearest kept caller.

    A sample with no matching frame keeps its weight on an empty stack, as with `hide`.
    """
    match = matching_frames(profile.frames, pattern)
    contains = match.__contains__

    def keep(stack: Stack) -> Stack:
        return tuple(filter(contains, stack))

    return _remap(profile, keep)


def extent_slice(profile: Profile, x0: Sequence[float], x1: Sequence[float],
                 start: float, end: float) -> Profile:
    """The samples whose extent `[x0[k], x1[k])` on some axis overlaps `[start, end)`.

    `x0`/`x1` hold one entry per sample of `profile` (a time-order tree's layout), so a range
    chosen on the flame chart selects the samples drawn in it, timed or not.
    """
    if len(x0) != profile.sample_count or len(x1) != profile.sample_count:
        raise ValueError("one extent per sample is needed")
    out = profile.derive()
    out.start_value = out.end_value = None  # in the profile's unit, no longer true of the slice
    add = out.add_stack_sample
    keep = [a < end and b > start for a, b in zip(x0, x1, strict=True)]
    if profile.times is None:
        for sid, w, kept in zip(profile.sample_stacks, profile.weights, keep, strict=True):
            if kept:
                add(sid, w)
    else:
        for sid, w, t, kept in zip(profile.sample_stacks, profile.weights, profile.times, keep, strict=True):
            if kept:
                add(sid, w, t)
    # Sample ids index the input's stacks: share them rather than re-intern (the table is append-only).
    out.stacks = profile.stacks
    return out


def time_slice(profile: Profile, start_s: float | None, end_s: float | None,
               origin: float | None = None) -> Profile:
    """The samples with `start_s <= time - origin < end_s` (None: unbounded on that side).

    `origin` defaults to the profile's first sample time, so the bounds are seconds into
    the profile. Profiles without sample times cannot be sliced: that is an error.
    """
    times = profile.times
    if times is None:
        if not profile.sample_count:
            return profile.derive()
        raise TransformError(f"profile {profile.name!r} has no sample times, so it cannot be sliced by time")
    if start_s is not None and end_s is not None and not start_s < end_s:
        raise TransformError(f"the time range is empty: {start_s:g} s is not before {end_s:g} s")
    base = (times[0] if times else 0.0) if origin is None else origin
    lo = -float("inf") if start_s is None else base + start_s
    hi = float("inf") if end_s is None else base + end_s
    out = profile.derive()
    out.start_value = out.end_value = None  # in the profile's unit, no longer true of the slice
    add = out.add_stack_sample
    for sid, w, t in zip(profile.sample_stacks, profile.weights, times, strict=True):
        if lo <= t < hi:
            add(sid, w, t)
    # Sample ids index the input's stacks: share them rather than re-intern (the table is append-only).
    out.stacks = profile.stacks
    return out


@dataclass(frozen=True)
class Filters:
    """What the headless commands apply to every profile of a file, in this order:
    time slice, collapse, mine (keep only), hide, focus."""

    focus: str | None = None
    hide: Sequence[str] = field(default_factory=tuple)
    collapse: Sequence[str] = field(default_factory=tuple)
    start_s: float | None = None
    end_s: float | None = None
    mine: Sequence[str] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.focus is not None or self.hide or self.collapse or self.mine
                    or self.start_s is not None or self.end_s is not None)


def group_start_time(group: ProfileGroup) -> float | None:
    """The earliest sample time of any profile in the group (threads share one clock)."""
    firsts = [p.times[0] for p in group.profiles if p.times]
    return min(firsts) if firsts else None


def apply_filters(group: ProfileGroup, filters: Filters) -> ProfileGroup:
    """A new group (sharing the frame table) with `filters` applied to every profile.

    Time bounds are seconds from the group's first sample. Profiles left without samples
    are dropped (at least one profile is kept).
    """
    for pattern in (*filter(None, [filters.focus]), *filters.hide, *filters.collapse, *filters.mine):
        frame_matcher(pattern)  # a bad pattern fails before any work
    timed = filters.start_s is not None or filters.end_s is not None
    origin = group_start_time(group) if timed else None
    profiles: list[Profile] = []
    for p in group.profiles:
        if timed:
            p = time_slice(p, filters.start_s, filters.end_s, origin)
        for pattern in filters.collapse:
            p = collapse(p, pattern)
        for pattern in filters.mine:
            p = keep_only(p, pattern)
        for pattern in filters.hide:
            p = hide(p, pattern)
        if filters.focus is not None:
            p = focus(p, filters.focus)
        profiles.append(p)
    out = ProfileGroup(name=group.name, frames=group.frames, profiles=profiles,
                       active_index=min(group.active_index, max(0, len(profiles) - 1)), exporter=group.exporter)
    out.drop_empty()
    return out
