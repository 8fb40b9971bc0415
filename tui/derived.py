"""The trees and totals derived from one profile (a view of the session), each built on
first use and kept: Left Heavy (top-down or inverted), Time Order, the function totals,
sandwiches and the total weight. No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collectors.calltree import (
    FunctionTotals,
    GroupedTree,
    Sandwich,
    TimeOrderTree,
    function_totals,
    sandwich,
)
from collectors.profile import Profile


def bottom_up_tree(profile: Profile, weights: dict[int, float]) -> GroupedTree:
    """The bottom-up tree: roots are the leaf functions, children their callers."""
    stacks = profile.stacks.stacks
    return GroupedTree([(stacks[sid][::-1], w) for sid, w in weights.items()])


@dataclass(eq=False)
class Derived:
    """The trees and totals of one profile, each computed on first use. `timeline`: the
    unsliced view whose time order the Time Order pane shows (None: this one). `grow_from`:
    a time order tree built over fewer samples of this same profile (live), which its time
    order extends rather than lays out every sample again."""

    profile: Profile
    timeline: Derived | None = None
    grow_from: TimeOrderTree | None = field(default=None, repr=False)
    _left_heavy: GroupedTree | None = None
    _bottom_up: GroupedTree | None = None
    _time_order: TimeOrderTree | None = None
    _totals: FunctionTotals | None = None
    _sandwiches: dict[int, Sandwich] = field(default_factory=dict)
    _stack_weights: dict[int, float] | None = None
    _total: tuple[int, float, float] | None = None

    @property
    def total_weight(self) -> float:
        """The profile's total weight, summed once: the header and details lines are redrawn
        on every key, and summing 100k weights each time costs milliseconds. A live profile
        grows between rebuilds (it only appends samples or adds to its last weight), so the
        sum is redone when (sample count, last weight) changed, as the header always showed
        the samples gathered so far."""
        weights = self.profile.weights
        n = len(weights)
        last = weights[n - 1] if n else 0.0
        memo = self._total
        if memo is None or memo[0] != n or memo[1] != last:
            memo = self._total = (n, last, self.profile.total_weight())
        return memo[2]

    def seed(self, stack_weights: dict[int, float] | None = None, time_order: TimeOrderTree | None = None) -> None:
        """Start from parts built elsewhere (live: on the worker, from the running sums and
        the grown Time Order tree): the weight per stack of this very profile, its Time Order tree."""
        if stack_weights is not None:
            self._stack_weights = stack_weights
        if time_order is not None:
            self._time_order = time_order

    @property
    def time_order_ready(self) -> bool:
        """Whether the Time Order tree this view shows is built (a sliced view: its timeline's)."""
        if self.timeline is not None:
            return self.timeline.time_order_ready
        return self._time_order is not None

    @property
    def stack_weights(self) -> dict[int, float]:
        """Weight per stack id, summed once for every tree and sandwich of this profile."""
        if self._stack_weights is None:
            self._stack_weights = self.profile.stack_weights()
        return self._stack_weights

    @property
    def left_heavy(self) -> GroupedTree:
        if self._left_heavy is None:
            # `left_heavy(profile)`, from the weights already summed (live: kept up to date).
            stacks = self.profile.stacks.stacks
            self._left_heavy = GroupedTree([(stacks[sid], w) for sid, w in self.stack_weights.items()])
        return self._left_heavy

    @property
    def bottom_up(self) -> GroupedTree:
        """The bottom-up (inverted) flame graph's tree."""
        if self._bottom_up is None:
            self._bottom_up = bottom_up_tree(self.profile, self.stack_weights)
        return self._bottom_up

    @property
    def time_order(self) -> TimeOrderTree:
        if self.timeline is not None:
            return self.timeline.time_order
        if self._time_order is None:
            earlier, self.grow_from = self.grow_from, None
            self._time_order = TimeOrderTree(self.profile) if earlier is None else earlier.extended(self.profile)
        return self._time_order

    @property
    def totals_ready(self) -> bool:
        return self._totals is not None

    @property
    def totals(self) -> FunctionTotals:
        if self._totals is None:
            self._totals = function_totals(self.profile.stacks.stacks, self.stack_weights, self.total_weight)
        return self._totals

    def sandwich(self, frame: int) -> Sandwich:
        s = self._sandwiches.get(frame)
        if s is None:
            if len(self._sandwiches) > 32:
                self._sandwiches.clear()
            s = self._sandwiches[frame] = sandwich(self.profile, frame, self.stack_weights)
        return s
