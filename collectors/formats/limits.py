"""Bounds on what a file may make bpfscope allocate or compute, beyond its own size.

Readers hold a file in memory, so memory proportional to the file's size is expected. What is
not: a small file whose numbers or structure multiply, such as a trace 20,000 frames deep that
opens and closes one frame at a time (20,000 distinct stacks of 10,000 frames on average: 1.6
GB of tuples from a 2 MB file), or a pprof location with thousands of inlined lines that every
sample repeats. Those are refused with a `ProfileError` once they pass these limits.
"""

from __future__ import annotations

from collections.abc import Iterable

from collectors.formats.errors import ProfileError
from collectors.profile import Profile, StackTable

MAX_STACK_FRAMES = 64_000_000
"""Frame ids all the distinct stacks of one file may hold together (about 512 MB of tuples).
A 100k-stack perf capture 50 frames deep holds 5 million."""

MAX_STACK_WORK = 300_000_000
"""Frames a reader may copy and compare in all while turning events or samples into stacks
(about three seconds): a trace 20,000 frames deep whose top frame changes 100,000 times is
two gigaframes of work from a 3 MB file."""

MAX_TIME = 1e18
"""The largest time or duration a reader takes, in the file's own unit (1e18 µs is 31,700
years): beyond it sums of times stop being exact or overflow, so such a value is damage."""


class StackBudget:
    """Counts the frame ids a file's distinct stacks hold, across all its profiles."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_STACK_FRAMES if limit is None else limit
        self.used = 0

    def spend(self, frames: int) -> None:
        self.used += frames
        if self.used > self.limit:
            raise ProfileError(f"its distinct stacks hold more than {self.limit:,} frames in all "
                               "(a trace that deep and that varied is refused rather than run out of memory)")

    def attach(self, profile: Profile) -> Profile:
        """Give `profile` (still without stacks) a stack table that spends from this budget."""
        if len(profile.stacks):
            raise ValueError("attach a budget before any stack is interned")
        profile.stacks = BoundedStackTable(self)
        return profile


class WorkBudget:
    """Counts the frames a reader copies while building stacks, for readers whose work per
    event grows with the stack's depth."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_STACK_WORK if limit is None else limit
        self.used = 0

    def spend(self, frames: int) -> None:
        self.used += frames
        if self.used > self.limit:
            raise ProfileError(f"its stacks are so deep and change so often that reading it means copying more "
                               f"than {self.limit:,} frames; bpfscope refuses it rather than hang")


class BoundedStackTable(StackTable):
    """A `StackTable` that spends from a `StackBudget` for each new stack."""

    __slots__ = ("_budget",)

    def __init__(self, budget: StackBudget) -> None:
        super().__init__()
        self._budget = budget

    def intern(self, frames: Iterable[int]) -> int:
        key = frames if isinstance(frames, tuple) else tuple(frames)
        sid = self._index.get(key)
        if sid is None:
            self._budget.spend(len(key))
            sid = len(self.stacks)
            self.stacks.append(key)
            self._index[key] = sid
        return sid


def check_time(value: float, what: str) -> float:
    """`value` if it is a finite time within `MAX_TIME` either way, else a ProfileError."""
    if not (-MAX_TIME <= value <= MAX_TIME):
        raise ProfileError(f"{what} is out of range (beyond ±{MAX_TIME:g}, more than any real time)")
    return value
