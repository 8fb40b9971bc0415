"""What the app is looking at: which profile of the group, with recursion flattened or not,
and the trees derived from it (built on first use, cached per choice). No Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from collectors.calltree import (
    FunctionTotals,
    GroupedTree,
    Sandwich,
    TimeOrderTree,
    flatten_recursion,
    left_heavy,
    profile_function_totals,
    sandwich,
)
from collectors.profile import Profile, ProfileGroup, Unit, merge_profiles
from collectors.safe_text import printable
from collectors.units import format_value

MERGED = -1
"""The profile index meaning "all threads merged"."""


@dataclass(eq=False)
class Derived:
    """The trees and totals of one profile, each computed on first use."""

    profile: Profile
    _left_heavy: GroupedTree | None = None
    _time_order: TimeOrderTree | None = None
    _totals: FunctionTotals | None = None
    _sandwiches: dict[int, Sandwich] = field(default_factory=dict)
    _stack_weights: dict[int, float] | None = None

    @property
    def stack_weights(self) -> dict[int, float]:
        """Weight per stack id, summed once for every tree and sandwich of this profile."""
        if self._stack_weights is None:
            self._stack_weights = self.profile.stack_weights()
        return self._stack_weights

    @property
    def left_heavy(self) -> GroupedTree:
        if self._left_heavy is None:
            self._left_heavy = left_heavy(self.profile)
        return self._left_heavy

    @property
    def time_order(self) -> TimeOrderTree:
        if self._time_order is None:
            self._time_order = TimeOrderTree(self.profile)
        return self._time_order

    @property
    def totals_ready(self) -> bool:
        return self._totals is not None

    @property
    def totals(self) -> FunctionTotals:
        if self._totals is None:
            self._totals = profile_function_totals(self.profile)
        return self._totals

    def sandwich(self, frame: int) -> Sandwich:
        s = self._sandwiches.get(frame)
        if s is None:
            if len(self._sandwiches) > 32:
                self._sandwiches.clear()
            s = self._sandwiches[frame] = sandwich(self.profile, frame, self.stack_weights)
        return s


class Session:
    """The group, the chosen profile (an index or MERGED) and whether recursion is flattened."""

    def __init__(self, group: ProfileGroup, merged: Profile | None = None) -> None:
        """`merged`: a profile of all threads kept up to date by the caller (live sampling,
        where the group may still be empty); the session then opens on it."""
        if not group.profiles and merged is None:
            raise ValueError("a profile group with no profiles")
        self.group = group
        if merged is not None:
            self.index = MERGED
        else:
            self.index = group.active_index if 0 <= group.active_index < len(group.profiles) else 0
        self.flattened = False
        self._own_merged = merged is None
        self._merged: Profile | None = merged
        self._derived: dict[tuple[int, bool], Derived] = {}

    def invalidate(self) -> None:
        """Samples were added: forget the derived trees (each is rebuilt on its next use)."""
        self._derived.clear()
        if self._own_merged:
            self._merged = None

    @property
    def has_threads(self) -> bool:
        return len(self.group.profiles) > 1

    def base_profile(self, index: int | None = None) -> Profile:
        index = self.index if index is None else index
        if index == MERGED:
            if self._merged is None:
                self._merged = merge_profiles(self.group)
            return self._merged
        return self.group.profiles[index]

    @property
    def current(self) -> Derived:
        key = (self.index, self.flattened)
        d = self._derived.get(key)
        if d is None:
            base = self.base_profile()
            d = self._derived[key] = Derived(flatten_recursion(base) if self.flattened else base)
        return d

    @property
    def profile(self) -> Profile:
        return self.current.profile

    @property
    def unit(self) -> Unit:
        return self.profile.unit

    def format(self, value: float) -> str:
        return format_value(value, self.unit)

    def profile_label(self, index: int | None = None) -> str:
        index = self.index if index is None else index
        if index == MERGED:
            return "all threads merged"
        p = self.group.profiles[index]
        label = printable(p.name) or f"profile {index + 1}"
        if p.tid is not None and f"tid {p.tid}" not in label:
            label += f" (tid {p.tid})"
        return label

    def frame_name(self, fid: int) -> str:
        return printable(self.group.frames[fid].name)


def name_matcher(pattern: str, regex: bool) -> Callable[[str], bool] | None:
    """A case-insensitive test for names; None for an empty pattern. Raises re.error."""
    if not pattern:
        return None
    if regex:
        compiled = re.compile(pattern, re.IGNORECASE)
        return lambda name: compiled.search(name) is not None
    needle = pattern.casefold()
    return lambda name: needle in name.casefold()


def matching_frames(group: ProfileGroup, profile_frames: set[int] | None,
                    test: Callable[[str], bool]) -> set[int]:
    """Frame ids whose name passes `test` (among `profile_frames` when given)."""
    frames = group.frames
    ids = profile_frames if profile_frames is not None else range(len(frames))
    return {fid for fid in ids if test(frames[fid].name)}
