"""The profile model: interned frames, stacks stored once in a prefix tree, samples in arrays.

A `ProfileGroup` is what one file (or one live session) holds: several `Profile`s (one per
thread, as in speedscope) sharing one `FrameTable`. A `Profile` stores each distinct stack
once in its `StackTable` (a tuple of frame ids, root first), and its samples as three
parallel arrays: the stack id, the weight and (optionally) the time in seconds. Memory
therefore grows with unique stacks; the per-sample cost is a few machine words.

Everything here is iterative: stacks 20,000 frames deep are normal input.
"""

from __future__ import annotations

import enum
import math
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


class FrameKind(enum.Enum):
    """What kind of code a frame is, where the source says."""

    USER = "user"
    KERNEL = "kernel"
    INTERPRETER = "interpreter"
    JIT = "jit"
    UNKNOWN = "unknown"


class Unit(enum.Enum):
    """A profile's value unit, named as speedscope's file format names them."""

    NONE = "none"
    NANOSECONDS = "nanoseconds"
    MICROSECONDS = "microseconds"
    MILLISECONDS = "milliseconds"
    SECONDS = "seconds"
    BYTES = "bytes"

    @property
    def seconds_per_unit(self) -> float | None:
        """How many seconds one unit is, or None when the unit is not a time."""
        return _SECONDS_PER_UNIT.get(self)

    @classmethod
    def parse(cls, text: str) -> Unit:
        try:
            return cls(text)
        except ValueError:
            raise ValueError(f"unknown unit {text!r}") from None


_SECONDS_PER_UNIT = {
    Unit.NANOSECONDS: 1e-9,
    Unit.MICROSECONDS: 1e-6,
    Unit.MILLISECONDS: 1e-3,
    Unit.SECONDS: 1.0,
}


@dataclass(frozen=True, slots=True)
class Frame:
    """One function (or code location) as the source names it."""

    name: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    kind: FrameKind = FrameKind.USER

    def location(self) -> str:
        """`file:line` (or just the file), empty when unknown."""
        if not self.file:
            return ""
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}"


class FrameTable:
    """Frames interned to small ints; equal frames get the same id."""

    __slots__ = ("_frames", "_index")

    def __init__(self) -> None:
        self._frames: list[Frame] = []
        self._index: dict[Frame, int] = {}

    def intern(self, frame: Frame) -> int:
        fid = self._index.get(frame)
        if fid is None:
            fid = len(self._frames)
            self._frames.append(frame)
            self._index[frame] = fid
        return fid

    def intern_name(self, name: str, file: str | None = None, kind: FrameKind = FrameKind.USER) -> int:
        return self.intern(Frame(name, file, None, None, kind))

    def __getitem__(self, fid: int) -> Frame:
        return self._frames[fid]

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[Frame]:
        return iter(self._frames)

    def find(self, frame: Frame) -> int | None:
        return self._index.get(frame)

    def copy(self) -> FrameTable:
        """A table of the same frames that later interning in this one does not change."""
        out = FrameTable()
        out._frames = self._frames.copy()
        out._index = self._index.copy()
        return out


class StackTable:
    """Every distinct stack stored once, as a tuple of frame ids root-first; samples refer to
    stacks by index. Tuples hash and compare in C, which is what makes a 100k-stack file
    load in well under a second; the empty tuple is the stack of an idle sample.
    """

    __slots__ = ("_index", "stacks")

    def __init__(self) -> None:
        self.stacks: list[tuple[int, ...]] = []
        self._index: dict[tuple[int, ...], int] = {}

    def __len__(self) -> int:
        return len(self.stacks)

    def __getitem__(self, sid: int) -> tuple[int, ...]:
        return self.stacks[sid]

    def intern(self, frames: Iterable[int]) -> int:
        """The id of a root-first stack of frame ids, added if new."""
        key = frames if isinstance(frames, tuple) else tuple(frames)
        sid = self._index.get(key)
        if sid is None:
            sid = len(self.stacks)
            self.stacks.append(key)
            self._index[key] = sid
        return sid

    def find(self, frames: tuple[int, ...]) -> int | None:
        return self._index.get(frames)

    def copy(self) -> StackTable:
        """A table of the same stacks (the tuples shared: they never change) that later
        interning in this one does not change."""
        out = StackTable()
        out.stacks = self.stacks.copy()
        out._index = self._index.copy()
        return out


@dataclass(eq=False)
class Profile:
    """One thread's (or one profile's) samples, in time order."""

    name: str
    frames: FrameTable
    unit: Unit = Unit.NONE
    stacks: StackTable = field(default_factory=StackTable)
    sample_stacks: array[int] = field(default_factory=lambda: array("i"))
    weights: array[float] = field(default_factory=lambda: array("d"))
    times: array[float] | None = None
    """Per-sample start time in seconds, when the source has timestamps."""
    pid: int | None = None
    tid: int | None = None
    start_value: float | None = None
    end_value: float | None = None
    sample_period: float | None = None
    """Seconds one sample stands for, when known (live capture at F Hz: 1/F)."""
    time_kind: str | None = None
    """What the weights measure, when a capture says: ON_CPU (sampled while running) or
    OFF_CPU (time spent switched out: blocked, sleeping, waiting); None for plain profiles."""

    def add_sample(self, stack: Iterable[int], weight: float = 1.0, time: float | None = None) -> None:
        """Append a sample given its frame ids root-first."""
        self.add_stack_sample(self.stacks.intern(stack), weight, time)

    def add_stack_sample(self, sid: int, weight: float, time: float | None = None) -> None:
        """Append a sample whose stack is already interned in `self.stacks`.

        Without timestamps, a sample with the same stack as the one before is merged into
        it: time order only ever shows them as one run, so there is nothing to keep apart.
        """
        if not (0.0 <= weight < math.inf):
            raise ValueError(f"sample weight must be a finite number >= 0, not {weight!r}")
        if time is None:
            if self.times is not None:
                raise ValueError("a sample without a time in a profile with times")
            n = len(self.sample_stacks)
            if n and self.sample_stacks[n - 1] == sid:
                self.weights[n - 1] += weight
                return
        else:
            if not math.isfinite(time):
                raise ValueError(f"sample time must be finite, not {time!r}")
            if self.times is None:
                if self.sample_stacks:
                    raise ValueError("a sample with a time in a profile without times")
                self.times = array("d")
            self.times.append(time)
        self.sample_stacks.append(sid)
        self.weights.append(weight)

    @property
    def sample_count(self) -> int:
        return len(self.sample_stacks)

    def __repr__(self) -> str:
        # Not the dataclass's: that one prints every sample (Textual names a worker after the
        # repr of its arguments: 0.1 s on the UI thread for a profile of 200k samples).
        return f"Profile({self.name!r}, {self.sample_count} samples, {len(self.stacks)} stacks)"

    def total_weight(self) -> float:
        return math.fsum(self.weights)

    def iter_samples(self) -> Iterator[tuple[tuple[int, ...], float]]:
        """(frame ids root-first, weight) for each sample in order."""
        stacks = self.stacks.stacks
        for sid, w in zip(self.sample_stacks, self.weights, strict=True):
            yield stacks[sid], w

    def stack_weights(self) -> dict[int, float]:
        """Weight per stack id, summed over samples (first-seen order)."""
        out: dict[int, float] = {}
        get = out.get
        for sid, w in zip(self.sample_stacks, self.weights, strict=True):
            out[sid] = get(sid, 0.0) + w
        return out

    def copy(self, frames: FrameTable | None = None) -> Profile:
        """A profile of the same samples that samples added to this one do not change: the
        arrays and the stack table copied (a memcpy and a list copy), stack tuples and frames
        shared (they never change). `frames`: the copy's frame table (default: this one's).
        Live sampling hands such copies to the UI thread while it goes on adding samples."""
        out = self.derive()
        out.frames = self.frames if frames is None else frames
        out.stacks = self.stacks.copy()
        out.sample_stacks = self.sample_stacks[:]
        out.weights = self.weights[:]
        out.times = None if self.times is None else self.times[:]
        return out

    def derive(self, name: str | None = None) -> Profile:
        """An empty profile with this one's metadata (for filtered or transformed copies)."""
        return Profile(name=self.name if name is None else name, frames=self.frames, unit=self.unit,
                       pid=self.pid, tid=self.tid, start_value=self.start_value,
                       end_value=self.end_value, sample_period=self.sample_period,
                       time_kind=self.time_kind)


ON_CPU = "on-cpu"
OFF_CPU = "off-cpu"


@dataclass(eq=False)
class ProfileGroup:
    """What one file or session holds: profiles sharing one frame table."""

    name: str
    frames: FrameTable = field(default_factory=FrameTable)
    profiles: list[Profile] = field(default_factory=list)
    active_index: int = 0
    exporter: str | None = None

    def new_profile(self, name: str, unit: Unit = Unit.NONE) -> Profile:
        p = Profile(name=name, frames=self.frames, unit=unit)
        self.profiles.append(p)
        return p

    def copy(self) -> ProfileGroup:
        """The group as it is now, sharing nothing that later samples change (see `Profile.copy`)."""
        frames = self.frames.copy()
        return ProfileGroup(self.name, frames, [p.copy(frames) for p in self.profiles], self.active_index,
                            self.exporter)

    def drop_empty(self) -> None:
        """Remove profiles with no samples (keeping at least one)."""
        active = self.profiles[self.active_index] if self.profiles else None
        kept = [p for p in self.profiles if p.sample_count]
        if kept:
            self.profiles = kept
        self.active_index = self.profiles.index(active) if active in self.profiles else 0

    @property
    def unit(self) -> Unit:
        return self.profiles[0].unit if self.profiles else Unit.NONE


def merge_profiles(group: ProfileGroup, name: str = "all threads") -> Profile:
    """One profile holding every sample of the group (for "all threads merged").

    When every profile has timestamps the samples are interleaved by time; otherwise the
    profiles are concatenated in order.
    """
    units = {p.unit for p in group.profiles}
    unit = units.pop() if len(units) == 1 else Unit.NONE
    kinds = {p.time_kind for p in group.profiles}
    merged = Profile(name=name, frames=group.frames, unit=unit,
                     time_kind=kinds.pop() if len(kinds) == 1 else None)
    timed = bool(group.profiles) and all(p.times is not None for p in group.profiles)
    if timed:
        rows: list[tuple[float, int, tuple[int, ...], float]] = []
        for pi, p in enumerate(group.profiles):
            assert p.times is not None
            stacks = p.stacks.stacks
            rows.extend((t, pi, stacks[sid], w)
                        for sid, w, t in zip(p.sample_stacks, p.weights, p.times, strict=True))
        rows.sort(key=lambda r: (r[0], r[1]))
        for t, _, stack, w in rows:
            merged.add_sample(stack, w, t)
        periods = {p.sample_period for p in group.profiles}
        merged.sample_period = periods.pop() if len(periods) == 1 else None
    else:
        for p in group.profiles:
            for stack, w in p.iter_samples():
                merged.add_sample(stack, w)
    return merged
