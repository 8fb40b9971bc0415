"""Comparing two profiles, in percent of each one's total.

Two captures rarely have the same length or sample rate, so a weight is only comparable as
a share: in percent of all the weight of its own profile. Functions are matched across
files by (name, file): frame ids and line numbers mean nothing from one file to the other.
Two recordings of one program by two tools (bcc's folded stacks have no files, `perf
script` names each binary) or of two builds (`/opt/x/burn` and `burn_nofp`) name the same
functions with different files, so `match_functions` then matches what is left by name
alone, when the name is unique on both sides (see there).

- `diff_functions`: per function (self and total), for `bpfscope diff` and the Sandwich;
  `only_in_base`: the functions that vanished (the Sandwich lists them too).
- `PathDiff` / `NodeShares`: per call path (a flame graph node), matched by the (name, file)
  of every frame on the path, for colouring the NEW flame graph by how each share changed.
- `profile_slice`: a profile's samples from one index to another (a live baseline splits
  the samples at the mark).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, overload

from collectors.calltree import GroupedNode, GroupedTree
from collectors.profile import FrameTable, Profile, ProfileGroup

FunctionKey = tuple[str, str | None]


@dataclass(frozen=True)
class FunctionShares:
    """Self and total percent per (name, file) of one group (recursion counted once per sample)."""

    self_pct: dict[FunctionKey, float]
    total_pct: dict[FunctionKey, float]


def function_shares(group: ProfileGroup) -> FunctionShares:
    """Every profile (thread) of the group together."""
    return profiles_shares(group.frames, group.profiles)


def profiles_shares(frames: FrameTable, profiles: Iterable[Profile]) -> FunctionShares:
    """Shares of these profiles together (one profile: the view the TUI compares)."""
    profiles = list(profiles)
    key_of = [(fr.name, fr.file) for fr in frames]
    if len(set(key_of)) == len(key_of):
        # One frame per key (the usual case): add up by frame id, without mapping every frame.
        self_f, total_f = _add_up(profiles, None)
        self_w = {key_of[f]: w for f, w in self_f.items()}
        total_w = {key_of[f]: w for f, w in total_f.items()}
    else:
        self_w, total_w = _add_up(profiles, key_of)
    grand = math.fsum(w for p in profiles for w in p.weights)
    scale = 100.0 / grand if grand > 0 else 0.0
    return FunctionShares({k: self_w.get(k, 0.0) * scale for k in total_w},
                          {k: v * scale for k, v in total_w.items()})


def only_in_base(base: FunctionShares, new_keys: Collection[FunctionKey]) -> list[FunctionKey]:
    """The functions of `base` (those with a share) not among `new_keys`: what vanished, so
    what got faster is listed too (in `base`'s order)."""
    return [k for k in base.total_pct if k not in new_keys]


@overload
def _add_up(profiles: list[Profile], key_of: None) -> tuple[dict[int, float], dict[int, float]]: ...
@overload
def _add_up(profiles: list[Profile], key_of: list[FunctionKey]) -> tuple[
    dict[FunctionKey, float], dict[FunctionKey, float]]: ...


def _add_up(profiles: list[Profile], key_of: list[FunctionKey] | None) -> tuple[dict[Any, float], dict[Any, float]]:
    """Self and total weight per frame id (`key_of` None) or per key, recursion once per sample."""
    self_w: dict[Any, float] = {}
    total_w: dict[Any, float] = {}
    for profile in profiles:
        stacks = profile.stacks.stacks
        for sid, w in profile.stack_weights().items():
            stack = stacks[sid]
            if not stack:
                continue
            leaf = stack[-1] if key_of is None else key_of[stack[-1]]
            self_w[leaf] = self_w.get(leaf, 0.0) + w
            for key in set(stack) if key_of is None else set(map(key_of.__getitem__, stack)):
                total_w[key] = total_w.get(key, 0.0) + w
    return self_w, total_w


def _match_name(name: str) -> str:
    """A name as another tool may spell it: FlameGraph's kernel/JIT annotations (`_[k]`, `_[j]`)
    are not part of the function's name."""
    return name[:-4] if name.endswith(("_[k]", "_[j]")) else name


@dataclass(frozen=True)
class FunctionMatch:
    """How the functions of two profiles were matched."""

    alias: dict[FunctionKey, FunctionKey]
    """Base key → new key, for the functions matched by name alone (their files differ)."""
    exact: int
    """Functions matched by name and file."""
    base_count: int
    new_count: int

    @property
    def matched(self) -> int:
        return self.exact + len(self.alias)

    @property
    def few(self) -> bool:
        """Fewer than half the functions of the smaller profile have a match: the two are
        likely not the same program (or not symbolised alike)."""
        least = min(self.base_count, self.new_count)
        return least > 0 and self.matched * 2 < least

    def rekey(self, key: FunctionKey) -> FunctionKey:
        """A base key as the new profile names the function."""
        return self.alias.get(key, key)

    def describe(self, base: str = "BASE", new: str = "NEW") -> str:
        """`41 functions matched (12 by name alone: their files differ); 3 only in BASE, 5 only in NEW`."""
        by_name = f" ({len(self.alias)} by name alone: their files differ)" if self.alias else ""
        noun = "function" if self.matched == 1 else "functions"
        return (f"{self.matched} {noun} matched{by_name}; {self.base_count - self.matched} only in {base}, "
                f"{self.new_count - self.matched} only in {new}")


def match_functions(base_keys: Iterable[FunctionKey], new_keys: Iterable[FunctionKey]) -> FunctionMatch:
    """Match by (name, file); then each function left on both sides whose name (without `_[k]`)
    is unique among those left on each side is matched by name. A name that is not unique
    (`<module>` of several files, `main` of two binaries) is never guessed at."""
    base, new = set(base_keys), set(new_keys)
    exact = base & new
    left_base: dict[str, list[FunctionKey]] = {}
    for k in base - exact:
        left_base.setdefault(_match_name(k[0]), []).append(k)
    left_new: dict[str, list[FunctionKey]] = {}
    for k in new - exact:
        left_new.setdefault(_match_name(k[0]), []).append(k)
    alias = {}
    for name, keys in left_base.items():
        other = left_new.get(name)
        if len(keys) == 1 and other is not None and len(other) == 1:
            alias[keys[0]] = other[0]
    return FunctionMatch(alias, len(exact), len(base), len(new))


def rekeyed(shares: FunctionShares, match: FunctionMatch) -> FunctionShares:
    """Base shares under the new profile's names for the functions matched by name alone."""
    if not match.alias:
        return shares
    return FunctionShares({match.rekey(k): v for k, v in shares.self_pct.items()},
                          {match.rekey(k): v for k, v in shares.total_pct.items()})


@dataclass(frozen=True)
class DiffRow:
    name: str
    file: str | None
    self_pct_base: float
    self_pct_new: float
    total_pct_base: float
    total_pct_new: float

    @property
    def self_pct_delta(self) -> float:
        return self.self_pct_new - self.self_pct_base

    @property
    def total_pct_delta(self) -> float:
        return self.total_pct_new - self.total_pct_base

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name, "file": self.file,
            "self_pct_base": round(self.self_pct_base, 4), "self_pct_new": round(self.self_pct_new, 4),
            "self_pct_delta": round(self.self_pct_delta, 4),
            "total_pct_base": round(self.total_pct_base, 4), "total_pct_new": round(self.total_pct_new, 4),
            "total_pct_delta": round(self.total_pct_delta, 4),
        }


def diff_functions(base: ProfileGroup, new: ProfileGroup, limit: int | None = None,
                   match: FunctionMatch | None = None) -> list[DiffRow]:
    """Every function of either file, by the absolute change of its total share, largest first
    (ties: the absolute change of self, then name and file). Functions matched by name alone
    (`match`, by default `match_functions` of the two) show the new file's name."""
    return diff_shares(function_shares(base), function_shares(new), limit, match)


def diff_shares(b: FunctionShares, n: FunctionShares, limit: int | None = None,
                match: FunctionMatch | None = None) -> list[DiffRow]:
    """`diff_functions` from the shares of each side."""
    b = rekeyed(b, match if match is not None else match_functions(b.total_pct, n.total_pct))
    keys = list(b.total_pct)
    keys.extend(k for k in n.total_pct if k not in b.total_pct)
    rows = [DiffRow(name, file, b.self_pct.get((name, file), 0.0), n.self_pct.get((name, file), 0.0),
                    b.total_pct.get((name, file), 0.0), n.total_pct.get((name, file), 0.0))
            for name, file in keys]
    rows.sort(key=lambda r: (-abs(r.total_pct_delta), -abs(r.self_pct_delta), r.name, r.file or ""))
    return rows if limit is None else rows[: max(0, limit)]


# --- per call path ----------------------------------------------------------------------


@dataclass(frozen=True)
class ShareChange:
    """One call path's (or function's) share of its profile's total, before and after, in %."""

    base_pct: float
    new_pct: float

    @property
    def delta(self) -> float:
        return self.new_pct - self.base_pct

    def describe(self) -> str:
        """`base 12.3 % → new 18.0 % (+5.7)`."""
        return f"base {self.base_pct:.1f} % → new {self.new_pct:.1f} % ({self.delta:+.1f})"


def _key_ids(frames: FrameTable, ids: dict[FunctionKey, int], match: FunctionMatch | None = None) -> list[int]:
    """Per frame id, the id of its (name, file) in `ids` (new keys added); with `match`, base
    frames matched by name alone take the new function's id."""
    out: list[int] = []
    alias = match.alias if match is not None else {}
    for fr in frames:
        key = (fr.name, fr.file)
        key = alias.get(key, key)
        kid = ids.get(key)
        if kid is None:
            kid = ids[key] = len(ids)
        out.append(kid)
    return out


class PathTree:
    """A profile's call paths merged by function key: a lazily expanded grouped tree over
    key ids, whose children are found by key."""

    def __init__(self, profile: Profile, key_of: Sequence[int]) -> None:
        stacks = profile.stacks.stacks
        weights = profile.stack_weights()
        if all(k == i for i, k in enumerate(key_of)):  # one frame per key: stacks as they are
            members = [(stacks[sid], w) for sid, w in weights.items()]
        else:
            to_key = key_of.__getitem__
            members = [(tuple(map(to_key, stacks[sid])), w) for sid, w in weights.items()]
        self.tree = GroupedTree(members)
        total = self.tree.total
        self.scale = 100.0 / total if total > 0 else 0.0
        self._by_key: dict[GroupedNode, dict[int, GroupedNode]] = {}

    def child(self, node: GroupedNode, key: int) -> GroupedNode | None:
        kids = self._by_key.get(node)
        if kids is None:
            kids = self._by_key[node] = {c.frame: c for c in node.children}
        return kids.get(key)

    def pct(self, node: GroupedNode | None) -> float:
        return node.total * self.scale if node is not None else 0.0

    def expand(self, min_pct: float) -> int:
        """Group now the children of every path with at least `min_pct` % of the total (a
        worker does it, so that colouring a flame graph's first screen groups nothing more);
        returns how many paths were expanded."""
        if self.scale <= 0:
            return 0
        least = min_pct / self.scale
        todo = [self.tree.root]
        done = 0
        while todo:  # iterative: paths 20,000 deep are real
            node = todo.pop()
            if node.total < least:
                continue
            self.child(node, -1)  # groups the children and maps them by key
            done += 1
            todo.extend(node.children)
        return done


PathCursor = tuple[GroupedNode | None, GroupedNode | None]
"""Where a call path is in the base and the new `PathTree` (None: not there)."""


class PathDiff:
    """Call paths of `new` matched with those of `base` by the (name, file) of each frame:
    the frame tables may differ (two files) or be the same (a live baseline)."""

    def __init__(self, base: Profile, new: Profile) -> None:
        ids: dict[FunctionKey, int] = {}
        self.new_key = _key_ids(new.frames, ids)
        self.match: FunctionMatch | None = None
        if base.frames is new.frames:
            base_key = self.new_key
        else:
            self.match = match_functions(((f.name, f.file) for f in base.frames),
                                         ((f.name, f.file) for f in new.frames))
            base_key = _key_ids(base.frames, ids, self.match)
        self.base = PathTree(base, base_key)
        self.new = PathTree(new, self.new_key)

    def rekey_shares(self, shares: FunctionShares) -> FunctionShares:
        """The base's per-function shares under the new profile's names (see `match_functions`)."""
        return shares if self.match is None else rekeyed(shares, self.match)

    @property
    def root(self) -> PathCursor:
        return (self.base.tree.root, self.new.tree.root)

    def step(self, at: PathCursor, frame: int) -> PathCursor:
        """From a path to its child through `frame` (a frame id of `new`)."""
        key = self.new_key[frame]
        b, n = at
        return (self.base.child(b, key) if b is not None else None,
                self.new.child(n, key) if n is not None else None)

    def change(self, at: PathCursor) -> ShareChange:
        return ShareChange(self.base.pct(at[0]), self.new.pct(at[1]))

    def expand(self, min_pct: float) -> None:
        """`PathTree.expand` on both sides (see there)."""
        self.base.expand(min_pct)
        self.new.expand(min_pct)

    def path_change(self, frames: Iterable[int]) -> ShareChange:
        """The share change of a call path given as frame ids of `new`, root first."""
        at = self.root
        for f in frames:
            at = self.step(at, f)
        return self.change(at)


class TreeNode(Protocol):
    """What `NodeShares` needs of a flame tree node (any tree over `new`'s frames)."""

    @property
    def frame(self) -> int: ...
    @property
    def depth(self) -> int: ...


N = TypeVar("N", bound=TreeNode)


class NodeShares(Generic[N]):
    """Share changes of the nodes of one tree drawn from `new` (Left Heavy, Time Order),
    remembered per node: a node costs one step from its parent. In Time Order a node is a
    run of samples; its share is that of its whole call path, as in Left Heavy."""

    def __init__(self, diff: PathDiff, parent: Callable[[N], N | None]) -> None:
        self.diff = diff
        self.parent = parent
        self._at: dict[N, PathCursor] = {}

    def cursor(self, node: N) -> PathCursor:
        memo = self._at
        found = memo.get(node)
        if found is not None:
            return found
        todo: list[N] = []
        cur: N | None = node
        at = self.diff.root
        while cur is not None and cur.depth >= 0:  # iterative: paths 20,000 deep are real
            hit = memo.get(cur)
            if hit is not None:
                at = hit
                break
            todo.append(cur)
            cur = self.parent(cur)
        for n in reversed(todo):
            at = self.diff.step(at, n.frame)
            memo[n] = at
        return at

    def change(self, node: N) -> ShareChange:
        return self.diff.change(self.cursor(node))


def profile_slice(profile: Profile, start: int, stop: int | None = None, name: str | None = None) -> Profile:
    """Samples `start` to `stop` of `profile` (its stack table shared: stacks are only ever
    added, so the ids stay valid while a live profile grows)."""
    out = profile.derive(name)
    out.stacks = profile.stacks
    stop = profile.sample_count if stop is None else stop
    out.sample_stacks = profile.sample_stacks[start:stop]
    out.weights = profile.weights[start:stop]
    if profile.times is not None:
        out.times = profile.times[start:stop]
    return out


class LiveBaseline:
    """A growing profile split at a mark: `before` (the samples up to the mark, fixed) and
    `after` (the samples since, extended by `sync`). `source` must only ever be appended
    to with timestamps (a live profile), so no sample already copied changes."""

    def __init__(self, source: Profile) -> None:
        self.source = source
        self.mark = source.sample_count
        self.before = profile_slice(source, 0, self.mark, "before the baseline")
        self.after = profile_slice(source, self.mark, name="since the baseline")

    def sync(self) -> int:
        """Copy the samples added to `source` since the last call into `after`; returns how many."""
        src, after = self.source, self.after
        done = self.mark + after.sample_count
        n = src.sample_count - done
        if n <= 0:
            return 0
        after.sample_stacks.extend(src.sample_stacks[done:])
        after.weights.extend(src.weights[done:])
        if src.times is not None:
            if after.times is None:
                after.times = src.times[done:done]
            after.times.extend(src.times[done:])
        return n
