"""Trees derived from a profile, as pure functions: what the three panes draw.

- `TimeOrderTree`: speedscope's "append order" tree, x = time. A node is a run of
  consecutive samples that share the same frames down to its depth (consecutive identical
  stacks merge); with timestamps, idle time between samples is a gap. `extended` grows one
  over the samples appended to its profile since (live), laying out only those.
- `GroupedTree` / `left_heavy`: speedscope's "grouped" tree, every path merged, children
  heaviest first.
- `function_totals`: self and total per function, a recursive function counted once per
  sample.
- `sandwich`: a function's callers (inverted, from its outermost occurrence) and callees;
  `stack_index` (frame -> the stacks through it) makes one cost only those stacks.
- `flatten_recursion`: repeated frames dropped from each stack (self times stay exact).

Both trees expand lazily: a node's children are computed the first time someone asks, so
a view that only draws what is wider than a terminal cell touches a small part of a
100k-stack profile. Every walk is iterative (stacks 20,000 frames deep are real).
"""

from __future__ import annotations

import functools
import statistics
import sys
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter
from typing import Protocol, Self, TypeVar
from weakref import WeakKeyDictionary

from collectors.profile import Profile

Stack = tuple[int, ...]


class _HasParent(Protocol):
    depth: int

    @property
    def parent(self) -> Self | None: ...


N = TypeVar("N", bound=_HasParent)


def _path_from_top(node: N) -> list[N]:
    """`node` and its ancestors, top frame first (the synthetic root, depth -1, left out)."""
    out: list[N] = []
    current: N | None = node
    while current is not None and current.depth >= 0:
        out.append(current)
        current = current.parent
    out.reverse()
    return out


# --- function totals ------------------------------------------------------------------


@dataclass(eq=False)
class FunctionTotals:
    """Self and total weight per frame id (recursion counted once per sample)."""

    self_weight: dict[int, float]
    total: dict[int, float]
    grand_total: float

    def hottest(self, by: str = "self") -> list[int]:
        """Frame ids sorted by `self` or `total`, heaviest first (ties by the other)."""
        s, t = self.self_weight, self.total
        if by == "total":
            return sorted(t, key=lambda f: (-t[f], -s[f], f))
        return sorted(t, key=lambda f: (-s[f], -t[f], f))


def function_totals(stacks: Sequence[Stack], weights: dict[int, float], grand_total: float) -> FunctionTotals:
    self_w: dict[int, float] = {}
    total: dict[int, float] = {}
    for sid, w in weights.items():
        stack = stacks[sid]
        if not stack:
            continue
        leaf = stack[-1]
        self_w[leaf] = self_w.get(leaf, 0.0) + w
        for f in set(stack) if len(stack) > 1 else stack:
            total[f] = total.get(f, 0.0) + w
    for f in total:
        self_w.setdefault(f, 0.0)
    return FunctionTotals(self_w, total, grand_total)


def profile_function_totals(profile: Profile) -> FunctionTotals:
    return function_totals(profile.stacks.stacks, profile.stack_weights(), profile.total_weight())


# --- grouped (left heavy) -------------------------------------------------------------


@dataclass(eq=False)
class GroupedNode:
    """A merged call path: `frame` at `depth`, spanning [start, start + total)."""

    frame: int
    depth: int
    start: float
    total: float
    self_weight: float
    parent: GroupedNode | None
    _members: _SortedMembers = field(repr=False)
    _lo: int = field(repr=False)
    _hi: int = field(repr=False)
    """The stacks through this path: `_members.stacks[_lo:_hi]`."""
    _children: list[GroupedNode] | None = field(default=None, repr=False)

    @property
    def end(self) -> float:
        return self.start + self.total

    @property
    def children(self) -> list[GroupedNode]:
        """Children heaviest first (ties keep first-seen order), computed on first use."""
        if self._children is None:
            self._children = _group_children(self)
        return self._children

    def path(self) -> list[GroupedNode]:
        """Nodes from the top frame down to this one (the root excluded)."""
        return _path_from_top(self)


class _SortedMembers:
    """A tree's (stack, weight) members sorted by stack, so that the stacks through any call
    path are one contiguous run and a node's children are found by bisection and C-level
    slices, instead of a Python loop over every stack below the node at each depth (which
    made a zoom into a big node cost tens of ms); `first` is each member's position in the
    input, for speedscope's tie order (first seen first)."""

    __slots__ = ("first", "stacks", "weights")

    def __init__(self, members: list[tuple[Stack, float]]) -> None:
        stacks = [m[0] for m in members]
        try:
            # Big-endian bytes sort as the tuples do, but compare with one memcmp instead of an
            # element-by-element walk down a long shared prefix (3x faster on 100k stacks).
            keys = list(map(bytes, map(_uint_array, stacks))) if not _LITTLE_ENDIAN else \
                list(map(_sort_key, stacks))
        except OverflowError:  # an id that is not a 32-bit unsigned int: sort the tuples
            order = sorted(range(len(stacks)), key=stacks.__getitem__)
        else:
            order = sorted(range(len(stacks)), key=keys.__getitem__)
            del keys
        weights = [m[1] for m in members]
        self.stacks = list(map(stacks.__getitem__, order))
        self.weights = list(map(weights.__getitem__, order))
        self.first = order


_LITTLE_ENDIAN = sys.byteorder == "little"
_uint_array = functools.partial(array, "I")


def _sort_key(stack: Stack) -> bytes:
    a = array("I", stack)
    a.byteswap()
    return a.tobytes()


def _group_children(node: GroupedNode) -> list[GroupedNode]:
    m = node._members
    stacks, weights, first = m.stacks, m.weights, m.first
    lo, hi = node._lo, node._hi
    if lo >= hi:
        return []
    d = node.depth + 1
    # Every stack in [lo, hi) shares the node's path (its first d frames), so they sort by
    # frame d alone: the node's own stacks (its path exactly) first, then each child's run.
    # Keyed bisection compares one frame, not the whole shared prefix: comparing tuples made
    # a walk down a deep path (a 10,000-deep recursion) quadratic in its depth.
    i = lo
    while i < hi and len(stacks[i]) == d:
        i += 1
    at_d = itemgetter(d)
    groups: list[tuple[float, int, int, int, int]] = []
    while i < hi:
        f = stacks[i][d]
        j = i + 1 if i + 1 == hi else bisect_left(stacks, f + 1, i, hi, key=at_d)
        groups.append((sum(weights[i:j]), min(first[i:j]), f, i, j))
        i = j
    groups.sort(key=lambda g: (-g[0], g[1]))
    out: list[GroupedNode] = []
    x = node.start
    for total, _, f, i, j in groups:
        if total <= 0:
            continue
        own = i
        while own < j and len(stacks[own]) == d + 1:
            own += 1
        out.append(GroupedNode(f, d, x, total, sum(weights[i:own]), node, m, i, j))
        x += total
    return out


class GroupedTree:
    """speedscope's grouped call tree over weighted stacks, expanded lazily."""

    def __init__(self, members: list[tuple[Stack, float]]) -> None:
        total = sum(w for _, w in members)
        idle = sum(w for s, w in members if not s)
        self.root = GroupedNode(-1, -1, 0.0, total, idle, None, _SortedMembers(members), 0, len(members))

    @property
    def total(self) -> float:
        return self.root.total

    def walk(self, min_width: float = 0.0) -> Iterator[GroupedNode]:
        """Pre-order, left to right, skipping (with their subtrees) nodes narrower than min_width."""
        todo = list(reversed(self.root.children))
        while todo:
            n = todo.pop()
            if n.total < min_width:
                continue
            yield n
            todo.extend(reversed(n.children))


def left_heavy(profile: Profile) -> GroupedTree:
    stacks = profile.stacks.stacks
    return GroupedTree([(stacks[sid], w) for sid, w in profile.stack_weights().items()])


# --- time order (append order) --------------------------------------------------------

_HANDOFF = threading.Lock()
"""Guards which tree extended from another takes that one's arrays (only one may)."""

_CHILDREN = threading.Lock()
"""Guards storing a node's children: a node shared by two trees (see `TimeOrderTree.extended`)
may be expanded by two threads at once, and both must then get the same list."""


@dataclass(eq=False, slots=True)
class TimeNode:
    """A run of samples [first, last) sharing frames down to `depth`; x from start to end.

    A node never changes once made (its children are computed once, on first use): a tree
    grown from another shares every node of the earlier tree whose samples all came before
    the new ones (`TimeOrderTree.extended`), so a node has no parent pointer (which tree's
    would it be?); `TimeOrderTree.parent` finds it."""

    frame: int
    depth: int
    first: int
    last: int
    start: float
    end: float
    total: float
    self_weight: float
    _children: list[TimeNode] | None = field(default=None, repr=False)
    _seed: TimeNode | None = field(default=None, repr=False)
    """In a tree grown from another: that tree's node with the same first sample and depth,
    its children computed, which this node's children start from (dropped once they are)."""

    @property
    def width(self) -> float:
        return self.end - self.start

    def _as_seed(self) -> TimeNode | None:
        """What a node of a grown tree standing for this one starts its children from."""
        return self if self._children is not None else self._seed


def _first(node: TimeNode) -> int:
    return node.first


class TimeOrderTree:
    """The flame chart's tree. x is time in seconds when the profile has timestamps,
    cumulative weight otherwise.

    `lcp[k]` is how many leading frames sample k shares with sample k-1 (0 after a gap), so
    the children of a run at depth d split exactly where `lcp[k] <= d`.
    """

    def __init__(self, profile: Profile) -> None:
        table = profile.stacks.stacks
        self.stacks = list(map(table.__getitem__, profile.sample_stacks))
        self.weights = profile.weights
        n = len(self.stacks)
        self.x0 = array("d", bytes(8 * n))
        self.x1 = array("d", bytes(8 * n))
        self.lcp = array("i", bytes(4 * n))
        self.timed = profile.times is not None
        self._profile = profile
        self._owns_layout = True
        """The arrays are this tree's to grow: no tree extended from it has taken them."""
        self._duration = _sample_duration(profile)
        self._to_seconds = profile.unit.seconds_per_unit
        self._total = self._idle = 0.0
        self._layout(profile, 0)
        self._set_root()

    def _set_root(self) -> None:
        self._parents: dict[TimeNode, TimeNode] = {}
        """Parents found so far (`parent`): this tree's own, as a shared node has one per tree."""
        n = len(self.stacks)
        end = self.x1[n - 1] if n else 0.0
        self._last_weight = self.weights[n - 1] if n else 0.0
        self.root = TimeNode(-1, -1, 0, n, 0.0, end, self._total, self._idle)

    @property
    def sample_count(self) -> int:
        """The samples this tree lays out (its arrays may be longer: see `extended`)."""
        return self.root.last

    def extents(self) -> tuple[array[float], array[float]]:
        """Each sample's x from and to (`x0`, `x1` cut to this tree's samples)."""
        n = self.root.last
        if len(self.x0) == n:
            return self.x0, self.x1
        return self.x0[:n], self.x1[:n]

    def extended(self, profile: Profile) -> TimeOrderTree:
        """The tree of `profile` when this one was built over an earlier state of it (the same
        object, samples only appended since): the layout of the samples already laid out is
        kept and only the new ones are laid out, which gives exactly what `TimeOrderTree(profile)`
        gives. Anything else (another profile, a sample changed, a sample duration that depends
        on every sample): a full build.

        The grown tree shares this one's nodes wherever it can: a node whose samples all came
        before the new ones is the same in both (with its children, computed once by whichever
        tree asks first), and only the runs the new samples continue (the last child at each
        depth, down from the root) are new nodes, which start their children from this tree's
        (`_carry`). Growing is then proportional to the new samples and to the nodes expanded
        on that right edge, not to the samples laid out before, and this tree stays as it was:
        a thread may go on reading it (live sampling hands it to the UI thread) while another
        grows its successor.

        The first tree extended from this one takes its arrays and appends to them (copying
        them would cost as much as the samples already laid out): this tree reads only its
        first `sample_count` samples of them, as it did. Later extensions of this tree copy
        its part. Thread-safe."""
        n = self.root.last
        if not n or not self._extends(profile, n):
            return TimeOrderTree(profile)
        with _HANDOFF:
            owned, self._owns_layout = self._owns_layout, False
        tree = TimeOrderTree.__new__(TimeOrderTree)
        tree._owns_layout = True
        if owned:  # the new tree grows these lists in place: this one reads only its first n
            tree.stacks, tree.x0, tree.x1, tree.lcp = self.stacks, self.x0, self.x1, self.lcp
        else:  # already handed on (and maybe grown since): copy this tree's part
            tree.stacks, tree.x0, tree.x1, tree.lcp = self.stacks[:n], self.x0[:n], self.x1[:n], self.lcp[:n]
        m = profile.sample_count - n
        table = profile.stacks.stacks
        tree.stacks.extend(map(table.__getitem__, profile.sample_stacks[n:]))
        tree.weights = profile.weights
        tree.x0.frombytes(bytes(8 * m))
        tree.x1.frombytes(bytes(8 * m))
        tree.lcp.frombytes(bytes(4 * m))
        tree.timed = self.timed
        tree._profile = profile
        tree._duration, tree._to_seconds = self._duration, self._to_seconds
        tree._total, tree._idle = self._total, self._idle
        tree._layout(profile, n)
        tree._set_root()
        tree.root._seed = self.root._as_seed()
        return tree

    def _extends(self, profile: Profile, n: int) -> bool:
        """Whether `profile` is this tree's profile with samples appended and the same axis."""
        if profile is not self._profile or profile.sample_count < n or (profile.times is not None) != self.timed:
            return False
        if profile.weights[n - 1] != self._last_weight:
            return False  # without times, a sample like the last one adds to its weight
        if profile.unit.seconds_per_unit != self._to_seconds:
            return False
        if self.timed and not profile.sample_period and self._to_seconds is None:
            return False  # the median gap between samples: recomputing it costs a full build
        return _sample_duration(profile) == self._duration

    def _layout(self, profile: Profile, begin: int) -> None:
        """Lay out samples `begin`.. after the ones before (x, lcp, and the root's totals)."""
        times = profile.times
        x0, x1, lcp, stacks, weights = self.x0, self.x1, self.lcp, self.stacks, self.weights
        x = x1[begin - 1] if begin else 0.0
        total, idle = self._total, self._idle
        duration = self._duration
        to_seconds = self._to_seconds
        t0 = times[0] if times else 0.0
        prev: Stack = stacks[begin - 1] if begin else ()
        for k in range(begin, len(stacks)):
            stack = stacks[k]
            w = weights[k]
            total += w
            if not stack:
                idle += w
            contiguous = True
            if times is not None:
                width = duration if duration is not None else w * (to_seconds or 0.0)
                start = times[k] - t0
                if abs(start - x) > 0.5 * width + 1e-12:
                    contiguous = False
                else:
                    start = x
            else:
                start, width = x, w
            x0[k] = start
            x = start + width
            x1[k] = x
            if contiguous and k:
                if stack == prev:
                    lcp[k] = len(stack)
                else:
                    m = min(len(stack), len(prev))
                    i = 0
                    while i < m and stack[i] == prev[i]:
                        i += 1
                    lcp[k] = i
            prev = stack
        self._total, self._idle = total, idle

    @property
    def width(self) -> float:
        return self.root.end

    def children(self, node: TimeNode) -> list[TimeNode]:
        kids = node._children
        if kids is not None:
            return kids
        d = node.depth + 1
        out: list[TimeNode] = []
        stacks, lcp, weights, x0, x1 = self.stacks, self.lcp, self.weights, self.x0, self.x1
        seed = node._seed
        k = node.first if seed is None else self._carry(node, seed, out)
        last = node.last
        while k < last:
            stack = stacks[k]
            if len(stack) <= d:
                k += 1
                continue
            j = k + 1
            while j < last and lcp[j] > d:
                j += 1
            total = 0.0
            self_w = 0.0
            for i in range(k, j):
                total += weights[i]
                if len(stacks[i]) == d + 1:
                    self_w += weights[i]
            out.append(TimeNode(stack[d], d, k, j, x0[k], x1[j - 1], total, self_w))
            k = j
        with _CHILDREN:  # another thread may have expanded it meanwhile: one list for both
            kids = node._children
            if kids is None:
                kids = node._children = out
                node._seed = None
        return kids

    def _carry(self, node: TimeNode, seed: TimeNode, out: list[TimeNode]) -> int:
        """Put in `out` the children of `node` that `seed` (the node of an earlier tree over a
        prefix of these samples, same first sample and depth) already had, and return where
        the rest of the scan starts. Every child but the last ended at a sample laid out back
        then: it is final, and shared as it is. The last one is shared too unless the samples
        that now follow it continue it, when it is a new node grown by them, starting its own
        children from it."""
        kids = seed._children
        assert kids is not None
        if not kids:
            return seed.last  # every sample of the seed is too shallow to make a child
        out.extend(kids[:-1])
        c = kids[-1]
        d, j, last = c.depth, c.last, node.last
        lcp, stacks, weights = self.lcp, self.stacks, self.weights
        while j < last and lcp[j] > d:
            j += 1
        if j == c.last:
            out.append(c)
            return j
        total, self_w = c.total, c.self_weight
        for i in range(c.last, j):  # in order, as a fresh scan adds them
            total += weights[i]
            if len(stacks[i]) == d + 1:
                self_w += weights[i]
        out.append(TimeNode(c.frame, d, c.first, j, c.start, self.x1[j - 1], total, self_w, None, c._as_seed()))
        return j

    def parent(self, node: TimeNode) -> TimeNode | None:
        """The node `node` is a child of (None for the root): remembered from an earlier `path`
        or `parent`, else found by `path`."""
        if node.depth < 0:
            return None
        found = self._parents.get(node)
        if found is None:
            path = self.path(node)  # remembers the parent of each node on it: walking up costs one lookup a step
            found = path[-2] if len(path) > 1 else self.root
        return found

    def path(self, node: TimeNode) -> list[TimeNode]:
        """Nodes from the top frame down to `node` (the root excluded): up through the parents
        found before, then, for the rest, down from the root by bisection (remembering them)."""
        if node.depth < 0:
            return []
        parents = self._parents
        chain = [node]
        cur = node
        while cur.depth > 0:
            above = parents.get(cur)
            if above is None:
                break
            chain.append(above)
            cur = above
        chain.reverse()
        if cur.depth <= 0:
            return chain
        top: list[TimeNode] = []
        above = self.root
        while above.depth < cur.depth - 1:
            kid = self._child_holding(above, cur.first)
            if kid is None:
                raise ValueError("the node is not in this tree")
            parents[kid] = above
            above = kid
            top.append(above)
        if self._child_holding(above, cur.first) is cur:  # (a node of another tree gets the path of its place here)
            parents[cur] = above
        return top + chain

    def _child_holding(self, node: TimeNode, sample: int) -> TimeNode | None:
        """The child of `node` whose run starts at or before `sample`, the last such (children
        are in sample order)."""
        kids = self.children(node)
        i = bisect_right(kids, sample, key=_first) - 1
        return kids[i] if i >= 0 else None

    def walk(self, min_width: float = 0.0) -> Iterator[TimeNode]:
        todo = list(reversed(self.children(self.root)))
        while todo:
            n = todo.pop()
            if n.width < min_width:
                continue
            yield n
            todo.extend(reversed(self.children(n)))


def _sample_duration(profile: Profile) -> float | None:
    """Seconds one sample lasts on the time axis (None: its weight is its duration)."""
    if profile.times is None:
        return None
    if profile.sample_period:
        return profile.sample_period
    if profile.unit.seconds_per_unit is not None:
        return None
    times = profile.times
    gaps = [b - a for a, b in pairwise(times) if b > a]
    return statistics.median(gaps) if gaps else 1.0


def time_order_runs(profile: Profile) -> list[tuple[Stack, float]]:
    """Samples in time order with consecutive identical stacks merged (speedscope's view of
    "the same stacks in time order"; a gap in time does not split a run here)."""
    out: list[tuple[Stack, float]] = []
    for stack, w in profile.iter_samples():
        if out and out[-1][0] == stack:
            out[-1] = (stack, out[-1][1] + w)
        else:
            out.append((stack, w))
    return out


# --- sandwich -------------------------------------------------------------------------


@dataclass(eq=False)
class Sandwich:
    """A function's callers (root = the function, children = its callers) and callees."""

    frame: int
    callers: GroupedTree
    callees: GroupedTree


class StackIndex:
    """The stacks through each frame: a sandwich then reads only those, not every stack.

    Built from stack weights (a dict kept by the caller) in their order, so a sandwich made
    with the index lists its members exactly as a scan of the weights would (ties in the
    trees keep first-seen order). About as costly as `function_totals` (0.25 s for 100k
    stacks): build it on a worker for large profiles.
    """

    __slots__ = ("_through", "weights")

    def __init__(self, stacks: Sequence[Stack], weights: dict[int, float]) -> None:
        through: dict[int, list[int]] = {}
        get = through.get
        for sid in weights:
            for f in set(stacks[sid]):
                ids = get(f)
                if ids is None:
                    through[f] = [sid]
                else:
                    ids.append(sid)
        self.weights = weights
        # Half the memory of lists of ints, converted in C.
        self._through = {f: array("i", ids) for f, ids in through.items()}

    def stacks_through(self, frame: int) -> Sequence[int]:
        """Stack ids containing `frame`, in the weights' order."""
        return self._through.get(frame, ())


_INDEXES: WeakKeyDictionary[Profile, StackIndex] = WeakKeyDictionary()
"""The last index built per profile (dropped with the profile); valid for its weights dict only."""


def stack_index(profile: Profile, weights: dict[int, float]) -> StackIndex:
    """The index of `profile` for this `weights` dict, built once and remembered, so later
    `sandwich(profile, frame, weights)` calls use it. Safe to call from a worker thread."""
    index = cached_stack_index(profile, weights)
    if index is None:
        index = StackIndex(profile.stacks.stacks, weights)
        _INDEXES[profile] = index
    return index


def cached_stack_index(profile: Profile, weights: dict[int, float]) -> StackIndex | None:
    """The remembered index of `profile` when it was built from this very `weights` dict."""
    index = _INDEXES.get(profile)
    return index if index is not None and index.weights is weights else None


def sandwich(profile: Profile, frame: int, weights: dict[int, float] | None = None,
             index: StackIndex | None = None) -> Sandwich:
    """`frame`'s callers and callees. `weights`: `profile.stack_weights()` if the caller keeps
    it (summing every sample is most of the work when moving from function to function).
    With an index (given, or remembered by `stack_index` for these weights) only the stacks
    through `frame` are read; without one, every stack is scanned. The result is the same."""
    stacks = profile.stacks.stacks
    if index is None and weights is not None:
        index = cached_stack_index(profile, weights)
    members: Iterable[tuple[Stack, float]]
    if index is not None:
        w_of = index.weights
        members = ((stacks[sid], w_of[sid]) for sid in index.stacks_through(frame))
    else:
        all_w = profile.stack_weights() if weights is None else weights
        members = ((stacks[sid], w) for sid, w in all_w.items() if frame in stacks[sid])
    callers: list[tuple[Stack, float]] = []
    callees: list[tuple[Stack, float]] = []
    for stack, w in members:
        i = stack.index(frame)  # the outermost occurrence
        callers.append((stack[i::-1], w))
        callees.append((stack[i:], w))
    return Sandwich(frame, GroupedTree(callers), GroupedTree(callees))


# --- recursion flattening -------------------------------------------------------------


def flatten_recursion(profile: Profile) -> Profile:
    """A copy where a frame already on the stack is not pushed again (speedscope's `r`)."""
    flat = profile.derive()
    stacks = profile.stacks.stacks
    mapping: dict[int, int] = {}
    times = profile.times
    for k, (sid, w) in enumerate(zip(profile.sample_stacks, profile.weights, strict=True)):
        m = mapping.get(sid)
        if m is None:
            m = flat.stacks.intern(tuple(dict.fromkeys(stacks[sid])))
            mapping[sid] = m
        flat.add_stack_sample(m, w, times[k] if times is not None else None)
    return flat
