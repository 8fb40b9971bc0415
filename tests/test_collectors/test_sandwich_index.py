"""`StackIndex`: a sandwich reads only the stacks through its function, with the same result as a scan."""

from __future__ import annotations

from collections.abc import Sequence

from collectors.calltree import GroupedNode, StackIndex, cached_stack_index, sandwich, stack_index
from collectors.profile import Frame, Profile, ProfileGroup


def make(stacks: Sequence[tuple[str, float]]) -> Profile:
    group = ProfileGroup("test")
    p = group.new_profile("test")
    for text, w in stacks:
        p.add_sample([group.frames.intern(Frame(n)) for n in text.split(";")] if text else [], w)
    return p


def fid(p: Profile, name: str) -> int:
    found = p.frames.find(Frame(name))
    assert found is not None
    return found


def outline(p: Profile, root: GroupedNode) -> list[str]:
    out: list[str] = []
    todo = [root]
    while todo:
        n = todo.pop()
        out.append(f"{'  ' * n.depth}{p.frames[n.frame].name} {n.start:g}+{n.total:g}")
        todo.extend(reversed(n.children))
    return out


STACKS = [("main;x;b;y;b", 2), ("main;b", 1), ("main;x;y", 5), ("", 4), ("main;z;b", 1), ("b", 1), ("main;x;y", 1)]


def test_stacks_through_lists_stacks_containing_the_frame_in_weights_order() -> None:
    """Each frame maps to the ids of the stacks holding it (once, even when recursive), first seen first."""
    p = make(STACKS)
    weights = p.stack_weights()
    idx = StackIndex(p.stacks.stacks, weights)
    assert list(idx.stacks_through(fid(p, "b"))) == [0, 1, 4, 5]
    assert list(idx.stacks_through(fid(p, "y"))) == [0, 2]
    assert list(idx.stacks_through(999)) == []


def test_indexed_sandwich_equals_the_scan() -> None:
    """For every function, callers and callees built through the index match a full scan exactly (ties too)."""
    p = make(STACKS)
    weights = p.stack_weights()
    idx = StackIndex(p.stacks.stacks, weights)
    for name in ("main", "x", "b", "y", "z"):
        scanned, indexed = sandwich(p, fid(p, name), weights), sandwich(p, fid(p, name), weights, idx)
        assert outline(p, indexed.callers.root) == outline(p, scanned.callers.root), name
        assert outline(p, indexed.callees.root) == outline(p, scanned.callees.root), name


def test_sandwich_reads_only_the_indexed_stacks() -> None:
    """With an index, stacks through the function that the index does not list are not read (no scan)."""
    p = make([("main;b", 1), ("main;x;b", 2)])
    partial = {0: 1.0}  # an index built from the first stack only
    idx = StackIndex(p.stacks.stacks, partial)
    assert sandwich(p, fid(p, "b"), index=idx).callers.total == 1
    assert sandwich(p, fid(p, "b")).callers.total == 3


def test_remembered_index_is_used_for_the_same_weights_only() -> None:
    """`stack_index` remembers the index per profile; sandwich uses it for that weights dict, not another."""
    p = make([("main;b", 1), ("main;x;b", 2)])
    weights = {0: 1.0}  # deliberately partial, so using the index shows in the result
    idx = stack_index(p, weights)
    assert stack_index(p, weights) is idx and cached_stack_index(p, weights) is idx
    assert sandwich(p, fid(p, "b"), weights).callers.total == 1
    other = dict(weights)
    assert cached_stack_index(p, other) is None
    assert sandwich(p, fid(p, "b"), other).callers.total == 1  # scanned: stack 1 is not in `other`
    assert sandwich(p, fid(p, "b"), p.stack_weights()).callers.total == 3
