"""What the app is looking at: which profile of the group, which kind of time, with recursion
flattened or not, the filter chips (`tui.chips`) and time range (undoable), and the views
derived from all that (`tui.derived.Derived`, built on first use, cached per choice). No
Textual here.

The pipeline, in order: the chosen profile (a thread, or all merged; on-CPU, off-CPU or
both) → recursion flattened → each chip's transform (`collectors.transforms`) → the
*timeline* the Time Order pane draws → the time range → what Left Heavy and Sandwich draw.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from collectors.calltree import GroupedTree, TimeOrderTree, flatten_recursion
from collectors.profile import OFF_CPU, ON_CPU, Profile, ProfileGroup, Unit, merge_profiles
from collectors.safe_text import printable
from collectors.transforms import extent_slice
from collectors.units import format_value
from tui.chips import Chip, apply_chips
from tui.derived import Derived

MERGED = -1
"""The profile index meaning "all threads merged"."""

WALL = "wall"
"""The time kind meaning on-CPU and off-CPU added (wall-clock time)."""
TIME_KINDS = (ON_CPU, OFF_CPU, WALL)
TIME_KIND_LABELS = {ON_CPU: "on-CPU time", OFF_CPU: "off-CPU time", WALL: "on+off-CPU (wall) time"}

_KIND_SUFFIX = re.compile(r"\s*\(?\b(on|off)-CPU\)?$", re.IGNORECASE)
MAX_CACHED = 8
"""Derived views kept (undo and redo within these are instant); each holds a transformed
copy of the profile's stacks (some 30 MB for 100k stacks), hence few."""


@dataclass(frozen=True)
class ViewState:
    """What undo and redo step through: the chips, in the order applied, and the time range.

    The range is on the Time Order axis of the profile before the chips: seconds from its
    first sample when timed (so a chip that drops the first samples does not move it), else
    cumulative weight (which a `focus` chip does change: the range then stays where it was
    on the new, shorter axis)."""

    chips: tuple[Chip, ...] = ()
    time_range: tuple[float, float] | None = None


ViewKey = tuple[int, str | None, bool, tuple[Chip, ...], tuple[float, float] | None]
"""(profile index, time kind, flattened, chips, time range): what a `Derived` depends on."""


class Session:
    """The group, the chosen profile (an index or MERGED), the time kind, recursion
    flattening, the bottom-up toggle and the undoable filter chips and time range."""

    def __init__(self, group: ProfileGroup, merged: Profile | None = None) -> None:
        """`merged`: a profile of all threads kept up to date by the caller (live sampling,
        where the group may still be empty); the session then opens on it."""
        if not group.profiles and merged is None:
            raise ValueError("a profile group with no profiles")
        self.group = group
        self._kind_choice: str | None = None
        self._external_merged = merged
        if merged is not None:
            self.index = MERGED
        else:
            self.index = group.active_index if 0 <= group.active_index < len(group.profiles) else 0
            entries = self._entries(self.time_kind)
            if not any(self.index in e for e in entries):
                self.index = MERGED if len(entries) > 1 else 0
            else:
                self.index = next(i for i, e in enumerate(entries) if self.index in e)
        self.flattened = False
        self.bottom_up = False
        """Left Heavy shows the bottom-up tree (leaf functions as roots)."""
        self.view = ViewState()
        self._undo: list[ViewState] = []
        self._redo: list[ViewState] = []
        self.pending = False
        """The app derives the current view on a worker: until it is ready, `current` gives
        the view shown before (so the UI thread never waits for a transform)."""
        self._shown: Derived | None = None
        self._bases: dict[tuple[str | None, int, bool], Profile] = {}
        self._derived: dict[ViewKey, Derived] = {}
        self._series: dict[tuple[str | None, bool, tuple[Chip, ...]], list[tuple[str, Profile]]] = {}
        self._live_tree: TimeOrderTree | None = None
        """The latest time order tree built over the live merged profile, unfiltered: after
        `invalidate`, the next one extends it with the samples added since."""

    def invalidate(self) -> None:
        """Samples were added: forget the derived trees (each is rebuilt on its next use).
        The chips, the range and their undo history stay. The live profile's unfiltered time
        order is the exception: the next one lays out only the samples added since."""
        live = self._external_merged
        if live is not None:
            for d in (*self._derived.values(), self._shown):
                tree = None if d is None or d.profile is not live else d._time_order
                if tree is not None and (self._live_tree is None or tree.root.last > self._live_tree.root.last):
                    self._live_tree = tree
        self._derived.clear()
        self._bases.clear()
        self._series.clear()
        self._shown = None

    def adopt(self, other: Session) -> None:
        """Show `other`'s data from now on: a later copy of the same live group (the same
        profiles grown, perhaps new threads) with the views a worker derived from it
        (`tui.live_aggregate`). This session's choices (profile, time kind, flattening,
        inversion), chips, range and undo history stay; while `pending`, `current` gives the
        view shown before until the one they ask for is derived."""
        self.group = other.group
        self._external_merged = other._external_merged
        self._derived, self._bases, self._series = other._derived, other._bases, other._series
        self._live_tree = None

    def show_meanwhile(self, d: Derived) -> None:
        """While `pending`, `current` gives `d` (a view derived before) rather than derive one."""
        self._shown = d

    def preset_merged(self, kind: str | None, seed: Callable[[Derived], None]) -> None:
        """Derive the unfiltered view of the caller's merged profile for `kind` (when that
        view is of the merged profile itself), passing it to `seed` first: parts built
        elsewhere, from what the caller keeps up to date (live: the running sums)."""
        merged = self._external_merged
        key: ViewKey = (MERGED, kind, False, (), None)
        if merged is None or key in self._derived or self._base(MERGED, kind, False) is not merged:
            return
        d = Derived(merged)
        seed(d)
        self._store(key, d)

    # --- which profiles --------------------------------------------------------------------

    def time_kinds(self) -> list[str]:
        """The kinds `w` cycles through (empty when no profile says what its time is)."""
        kinds = {p.time_kind for p in self.group.profiles}
        if kinds <= {None}:
            return []
        on = bool(kinds & {ON_CPU, None})
        off = OFF_CPU in kinds
        return [k for k, present in ((ON_CPU, on), (OFF_CPU, off), (WALL, on and off)) if present]

    @property
    def time_kind(self) -> str | None:
        """ON_CPU, OFF_CPU or WALL when the group's profiles say; None for plain profiles.

        Live (a merged profile kept by the caller, which adds every thread's on-CPU and
        off-CPU samples) opens on WALL, the kind that profile is; a file on on-CPU time."""
        kinds = self.time_kinds()
        if not kinds:
            return None
        if self._kind_choice in kinds:
            return self._kind_choice
        return WALL if self._external_merged is not None and WALL in kinds else kinds[0]

    def cycle_time_kind(self) -> str | None:
        """Step to the next kind (on-CPU → off-CPU → on+off), keeping the thread if it has
        that kind; returns the new kind (None: the group has no kinds)."""
        kinds = self.time_kinds()
        if not kinds:
            return None
        old = self.time_kind
        old_tids = self._entry_tids(old, self.index)
        new = kinds[(kinds.index(old) + 1) % len(kinds)] if old in kinds else kinds[0]
        self._kind_choice = new
        if self.index != MERGED:
            entries = self._entries(new)
            match = [i for i, e in enumerate(entries) if old_tids & self._tids(e)]
            self.index = match[0] if match else (MERGED if len(entries) > 1 else 0)
        return new

    def kind_label(self) -> str | None:
        kind = self.time_kind
        return None if kind is None else TIME_KIND_LABELS[kind]

    def _entries(self, kind: str | None) -> list[list[int]]:
        """Group profile indices behind each choice of `t` for `kind` (on+off: a thread's
        on-CPU and off-CPU profiles together)."""
        profiles = self.group.profiles
        if kind is None:
            return [[i] for i in range(len(profiles))]
        if kind != WALL:
            wanted = {ON_CPU, None} if kind == ON_CPU else {OFF_CPU}
            return [[i] for i, p in enumerate(profiles) if p.time_kind in wanted]
        by_thread: dict[object, list[int]] = {}
        for i, p in enumerate(profiles):
            key: object = (p.pid, p.tid) if p.tid is not None else i
            by_thread.setdefault(key, []).append(i)
        return list(by_thread.values())

    def _tids(self, entry: Sequence[int]) -> set[int]:
        return {t for t in (self.group.profiles[i].tid for i in entry) if t is not None}

    def _entry_tids(self, kind: str | None, index: int) -> set[int]:
        entries = self._entries(kind)
        return self._tids(entries[index]) if 0 <= index < len(entries) else set()

    @property
    def profile_count(self) -> int:
        """How many profiles `t` lists (all merged aside) for the current kind."""
        return len(self._entries(self.time_kind))

    @property
    def has_threads(self) -> bool:
        return self.profile_count > 1

    def choices(self) -> list[tuple[int, str]]:
        """What `t` lists: (index, label) for each profile, then all merged."""
        return [(i, self.profile_label(i)) for i in range(self.profile_count)] + [
            (MERGED, self.profile_label(MERGED))
        ]

    def base_profile(self, index: int | None = None) -> Profile:
        return self._base(self.index if index is None else index, self.time_kind, False)

    def _base(self, index: int, kind: str | None, flattened: bool) -> Profile:
        """Profile `index` of `kind` (merged when it is several), recursion flattened or not."""
        cached = self._bases.get((kind, index, flattened))
        if cached is not None:
            return cached
        if flattened:
            base = flatten_recursion(self._base(index, kind, False))
        else:
            entries = self._entries(kind)
            chosen = [i for e in entries for i in e] if index == MERGED else (
                entries[index] if 0 <= index < len(entries) else [])
            if index == MERGED and self._external_merged is not None and len(chosen) == len(self.group.profiles):
                return self._external_merged
            if index != MERGED and len(chosen) == 1:
                return self.group.profiles[chosen[0]]
            sub = ProfileGroup(self.group.name, frames=self.group.frames,
                               profiles=[self.group.profiles[i] for i in chosen])
            base = merge_profiles(sub, "all threads" if index == MERGED else self._label(index, kind))
        self._bases[(kind, index, flattened)] = base
        return base

    # --- the derived view ------------------------------------------------------------------

    @property
    def key(self) -> ViewKey:
        return (self.index, self.time_kind, self.flattened, self.view.chips, self.view.time_range)

    def is_ready(self, key: ViewKey | None = None, bottom_up: bool | None = None) -> bool:
        """Whether the view for `key` (default: the current one) and its Left Heavy tree
        (bottom-up when `bottom_up`, default: as now) are computed."""
        d = self._derived.get(self.key if key is None else key)
        if d is None:
            return False
        return (d._bottom_up if (self.bottom_up if bottom_up is None else bottom_up) else d._left_heavy) is not None

    def derive(self, key: ViewKey) -> Derived:
        """The view for `key`, computed if need be (safe on a worker thread: it only adds to
        the cache, and the frame table only ever grows)."""
        d = self._derived.get(key)
        if d is not None:
            return d
        index, kind, flattened, chips, time_range = key
        if time_range is not None:
            timeline = self.derive((index, kind, flattened, chips, None))
            tree = timeline.time_order
            shift = self._range_shift(index, kind, flattened, chips)
            x0, x1 = tree.extents()
            d = Derived(extent_slice(timeline.profile, x0, x1, time_range[0] - shift, time_range[1] - shift),
                        timeline=timeline)
        else:
            d = Derived(apply_chips(self._base(index, kind, flattened), chips))
            if d.profile is self._external_merged:
                d.grow_from = self._live_tree
        self._store(key, d)
        return d

    def _store(self, key: ViewKey, d: Derived) -> None:
        cache = self._derived
        while len(cache) >= MAX_CACHED:
            cache.pop(next(iter(cache)))
        cache[key] = d

    def prepare(self, key: ViewKey, bottom_up: bool, series: bool = False) -> Derived:
        """Compute everything the first screen of `key` needs (for a worker thread): the
        view, its Left Heavy tree's top, and with `series` the density strip's rows."""
        d = self.derive(key)
        tree = d.bottom_up if bottom_up else d.left_heavy
        _ = tree.root.children
        if series and d.time_order.timed:
            self.thread_series(key)
        return d

    @property
    def current(self) -> Derived:
        d = self._derived.get(self.key)
        if d is None:
            if self.pending and self._shown is not None:
                return self._shown
            d = self.derive(self.key)
        self._shown = d
        return d

    def thread_series(self, key: ViewKey | None = None) -> list[tuple[str, Profile]]:
        """(label, profile) per thread of the Time Order pane's view (default: the current
        one), chips applied: the rows of the density strip. Only `focus` drops samples (the
        others keep every sample's time and weight), so without one the threads' own
        profiles serve."""
        index, kind, flattened, chips, _ = self.key if key is None else key
        if index != MERGED:
            return [(self._label(index, kind), self.derive((index, kind, flattened, chips, None)).profile)]
        cache_key = (kind, flattened, chips)
        series = self._series.get(cache_key)
        if series is None:
            dropping = any(c.kind == "focus" for c in chips)
            series = [(self._label(i, kind),
                       apply_chips(self._base(i, kind, flattened), chips) if dropping else self._base(i, kind, False))
                      for i in range(len(self._entries(kind)))]
            if len(self._series) >= 4:
                self._series.clear()
            self._series[cache_key] = series
        return series

    @property
    def flame_tree(self) -> GroupedTree:
        """The Left Heavy pane's tree: merged heaviest first, or bottom-up (`bottom_up`)
        (while `pending`, a tree already built rather than build one on the UI thread)."""
        d = self.current
        if self.pending:
            ready = d._bottom_up if self.bottom_up else d._left_heavy
            fallback = d._left_heavy or d._bottom_up
            if ready is None and fallback is not None:
                return fallback
        return d.bottom_up if self.bottom_up else d.left_heavy

    @property
    def profile(self) -> Profile:
        return self.current.profile

    @property
    def unit(self) -> Unit:
        return self.profile.unit

    def format(self, value: float) -> str:
        """A weight in the profile's unit; nothing at all is `0` (not `0.00ns`)."""
        return "0" if value == 0 else format_value(value, self.unit)

    # --- chips, range, undo ----------------------------------------------------------------

    def apply(self, view: ViewState) -> bool:
        """Make `view` current (undoable); False when nothing changed."""
        if view == self.view:
            return False
        self._undo.append(self.view)
        self._redo.clear()
        self.view = view
        return True

    def add_chip(self, chip: Chip) -> bool:
        return self.apply(replace(self.view, chips=(*self.view.chips, chip)))

    def remove_chip(self, index: int) -> bool:
        chips = self.view.chips
        if not 0 <= index < len(chips):
            return False
        return self.apply(replace(self.view, chips=chips[:index] + chips[index + 1:]))

    def _range_shift(self, index: int, kind: str | None, flattened: bool, chips: tuple[Chip, ...]) -> float:
        """Seconds from the first sample before the chips to the first after them (0 untimed)."""
        base = self._base(index, kind, flattened)
        if not chips or not base.times:
            return 0.0
        timeline = self.derive((index, kind, flattened, chips, None)).profile
        return timeline.times[0] - base.times[0] if timeline.times else 0.0

    def set_range(self, time_range: tuple[float, float] | None) -> bool:
        """Set (undoably) the range selected on the Time Order pane, in its x units."""
        if time_range is not None:
            if not time_range[0] < time_range[1]:
                return False
            index, kind, flattened, chips, _ = self.key
            shift = self._range_shift(index, kind, flattened, chips)
            time_range = (time_range[0] + shift, time_range[1] + shift)
        return self.apply(replace(self.view, time_range=time_range))

    def timeline_range(self) -> tuple[float, float] | None:
        """The range in the Time Order pane's x units (what its graph draws)."""
        r = self.view.time_range
        if r is None:
            return None
        index, kind, flattened, chips, _ = self.key
        shift = self._range_shift(index, kind, flattened, chips)
        return r[0] - shift, r[1] - shift

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.view)
        self.view = self._undo.pop()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.view)
        self.view = self._redo.pop()
        return True

    def range_label(self) -> str | None:
        """The time range as the header shows it ("1.20 s – 3.40 s"), None without one."""
        r = self.view.time_range
        if r is None:
            return None
        a, b = r
        timeline = self.current.timeline or self.current
        if timeline.profile.times is not None:
            return f"{a:.2f} s – {b:.2f} s"
        if self.unit is Unit.NONE:
            return f"samples {a:.0f} – {b:.0f}"
        return f"{self.format(a)} – {self.format(b)}"

    # --- labels ------------------------------------------------------------------------------

    def profile_label(self, index: int | None = None) -> str:
        return self._label(self.index if index is None else index, self.time_kind)

    def _label(self, index: int, kind: str | None) -> str:
        if index == MERGED:
            return "all threads merged"
        entries = self._entries(kind)
        if not 0 <= index < len(entries):
            return f"profile {index + 1}"
        entry = entries[index]
        names = [printable(self.group.profiles[i].name) for i in entry]
        if len(entry) > 1:  # a thread's on-CPU and off-CPU profiles: name the thread once
            names = [_KIND_SUFFIX.sub("", n) for n in names]
        names = list(dict.fromkeys(names))
        label = " + ".join(n for n in names if n) or f"profile {entry[0] + 1}"
        tid = self.group.profiles[entry[0]].tid
        if tid is not None and not re.search(rf"\btid:?\s*{tid}\b", label):
            label += f" (tid {tid})"
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
