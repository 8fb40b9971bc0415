"""Derived trees: time order, left heavy, function totals, sandwich, recursion flattening."""

from __future__ import annotations

from collectors.calltree import (
    GroupedNode,
    GroupedTree,
    TimeOrderTree,
    flatten_recursion,
    function_totals,
    left_heavy,
    profile_function_totals,
    sandwich,
    time_order_runs,
)
from collectors.profile import Frame, Profile, ProfileGroup, Unit


def make(stacks: list[tuple[str, float]], times: list[float] | None = None,
         unit: Unit = Unit.NONE) -> Profile:
    """A profile from `a;b;c` strings and weights."""
    group = ProfileGroup("test")
    p = group.new_profile("test", unit)
    for i, (text, w) in enumerate(stacks):
        fids = [group.frames.intern(Frame(n)) for n in text.split(";")] if text else []
        p.add_sample(fids, w, times[i] if times else None)
    return p


def names(p: Profile, fids: tuple[int, ...] | list[int]) -> str:
    return ";".join(p.frames[f].name for f in fids)


def fid(p: Profile, name: str) -> int:
    found = p.frames.find(Frame(name))
    assert found is not None
    return found


def totals_by_name(p: Profile) -> dict[str, tuple[float, float]]:
    t = profile_function_totals(p)
    return {p.frames[f].name: (t.self_weight[f], t.total[f]) for f in t.total}


def grouped_outline(p: Profile, node: GroupedNode) -> list[str]:
    out = []
    todo = list(reversed(node.children))
    while todo:
        n = todo.pop()
        out.append(f"{'  ' * (n.depth - node.depth - 1)}{p.frames[n.frame].name} {n.start:g}+{n.total:g}")
        todo.extend(reversed(n.children))
    return out


def test_recursion_counts_once_per_sample() -> None:
    """A function on the stack twice adds a sample's weight to its total once."""
    p = make([("a;b;a;b", 2), ("a;c", 1)])
    assert totals_by_name(p) == {"a": (0, 3), "b": (2, 2), "c": (1, 1)}


def test_function_totals_skip_idle_but_count_it_in_grand_total() -> None:
    """An empty (idle) stack has no function but is part of the whole."""
    p = make([("a", 1), ("", 3)])
    t = profile_function_totals(p)
    assert t.grand_total == 4
    assert t.total == {fid(p, "a"): 1}


def test_hottest_orders_by_self_then_total() -> None:
    """`hottest` sorts heaviest first."""
    p = make([("a;b", 1), ("a;c", 3), ("a", 2)])
    t = profile_function_totals(p)
    assert [p.frames[f].name for f in t.hottest("self")] == ["c", "a", "b"]
    assert p.frames[t.hottest("total")[0]].name == "a"


def test_left_heavy_merges_and_sorts_heaviest_first() -> None:
    """Same paths merge; siblings are laid out heaviest first from their parent's start."""
    p = make([("a;b", 1), ("a;c", 3), ("a;b", 1), ("d", 1)])
    tree = left_heavy(p)
    assert tree.total == 6
    assert grouped_outline(p, tree.root) == ["a 0+5", "  c 0+3", "  b 3+2", "d 5+1"]


def test_left_heavy_walk_prunes_narrow_frames() -> None:
    """`walk(min_width)` leaves out frames (and their subtrees) narrower than a cell."""
    p = make([("a;b", 10), ("a;c;d", 1)])
    walked = [p.frames[n.frame].name for n in left_heavy(p).walk(min_width=2)]
    assert walked == ["a", "b"]


def test_time_order_merges_consecutive_identical_stacks() -> None:
    """Consecutive samples sharing a prefix share nodes; a change starts new ones (append order)."""
    p = make([("a;b", 1), ("a;b", 1), ("a;c", 1), ("a;b", 1)])
    tree = TimeOrderTree(p)
    got = [(p.frames[n.frame].name, n.depth, n.start, n.end) for n in tree.walk()]
    assert got == [("a", 0, 0, 4), ("b", 1, 0, 2), ("c", 1, 2, 3), ("b", 1, 3, 4)]


def test_time_order_shows_idle_gaps_with_timestamps() -> None:
    """With times, a sample that does not follow on from the previous one leaves a gap."""
    p = make([("a", 1), ("a", 1), ("a", 1)], times=[0.0, 0.01, 0.5])
    p.sample_period = 0.01
    tree = TimeOrderTree(p)
    runs = [(round(n.start, 3), round(n.end, 3)) for n in tree.walk()]
    assert runs == [(0.0, 0.02), (0.5, 0.51)]


def test_time_order_runs_match_speedscope_stack_list() -> None:
    """`time_order_runs` is speedscope's list of stacks in time order (consecutive merged)."""
    p = make([("a;b", 1), ("a;b", 2), ("a", 1)], times=[0.0, 1.0, 2.0])
    assert [(names(p, s), w) for s, w in time_order_runs(p)] == [("a;b", 3), ("a", 1)]


def test_time_order_self_weight_is_where_a_stack_ends() -> None:
    """A node's self weight is the weight of the samples ending at it."""
    p = make([("a", 2), ("a;b", 3)])
    tree = TimeOrderTree(p)
    a = tree.children(tree.root)[0]
    assert (a.total, a.self_weight) == (5, 2)


def test_sandwich_callers_are_inverted_from_outermost_occurrence() -> None:
    """Callers of b: its callers' paths inverted; a recursive b counts from its outermost call."""
    p = make([("main;x;b;y;b", 2), ("main;b", 1), ("main;x;y", 5)])
    s = sandwich(p, fid(p, "b"))
    assert grouped_outline(p, s.callers.root) == ["b 0+3", "  x 0+2", "    main 0+2", "  main 2+1"]
    assert grouped_outline(p, s.callees.root) == ["b 0+3", "  y 0+2", "    b 0+2"]


def test_sandwich_uses_the_stack_weights_given() -> None:
    """Given precomputed stack weights, sandwich uses them instead of summing the samples again."""
    p = make([("main;b", 1), ("main;x;b", 2)])
    weights = p.stack_weights()
    assert grouped_outline(p, sandwich(p, fid(p, "b"), weights).callers.root) == \
        grouped_outline(p, sandwich(p, fid(p, "b")).callers.root)
    weights[0] = 10.0  # main;b
    assert sandwich(p, fid(p, "b"), weights).callers.total == 12


def test_flatten_recursion_drops_inner_repeats() -> None:
    """Flattened: `a;b;a;c` becomes `a;b;c`; totals are unchanged for non-recursive frames."""
    p = make([("a;b;a;c", 2), ("a;b", 1)])
    flat = flatten_recursion(p)
    assert [(names(flat, s), w) for s, w in flat.iter_samples()] == [("a;b;c", 2), ("a;b", 1)]
    assert totals_by_name(flat)["c"] == totals_by_name(p)["c"]


def test_deep_stack_trees_do_not_recurse() -> None:
    """A 20,000-frame stack goes through every derived tree without RecursionError."""
    group = ProfileGroup("deep")
    p = group.new_profile("deep")
    stack = [group.frames.intern(Frame(f"f{i % 7}" if i % 2 else f"g{i}")) for i in range(20_000)]
    p.add_sample(stack, 1)
    assert sum(1 for _ in left_heavy(p).walk()) == 20_000
    assert sum(1 for _ in TimeOrderTree(p).walk()) == 20_000
    assert len(profile_function_totals(p).total) == len(set(stack))
    f0 = group.frames.find(Frame("f1"))
    assert f0 is not None
    s = sandwich(p, f0)
    assert s.callers.total == 1
    assert flatten_recursion(p).sample_count == 1


def test_function_totals_from_weights_mapping() -> None:
    """`function_totals` takes aggregated stack weights directly."""
    t = function_totals([(0, 1), (0,)], {0: 2.0, 1: 3.0}, 5.0)
    assert t.total == {0: 5.0, 1: 2.0}
    assert t.self_weight == {0: 3.0, 1: 2.0}


def _tree_shape(node: GroupedNode) -> list[tuple[int, int, float, float, float]]:
    """(frame, depth, start, total, self) of every node, pre-order."""
    out, todo = [], [node]
    while todo:
        n = todo.pop()
        if n.depth >= 0:
            out.append((n.frame, n.depth, n.start, n.total, n.self_weight))
        todo.extend(reversed(n.children))
    return out


def test_grouped_tree_children_by_weight_ties_first_seen_and_self_time() -> None:
    """Members in any order (duplicates too, as a sandwich's callers give): children heaviest
    first, ties in first-seen order, a node's self time from the stacks ending there."""
    members = [((5, 9), 1.0), ((5, 3), 2.0), ((7,), 3.0), ((5,), 1.0), ((5, 9), 1.0), ((), 4.0), ((2, 1), 3.0)]
    tree = GroupedTree(members)
    assert tree.total == 15.0 and tree.root.self_weight == 4.0
    assert _tree_shape(tree.root) == [
        (5, 0, 0.0, 5.0, 1.0), (9, 1, 0.0, 2.0, 2.0), (3, 1, 2.0, 2.0, 2.0),
        (7, 0, 5.0, 3.0, 3.0), (2, 0, 8.0, 3.0, 0.0), (1, 1, 8.0, 3.0, 3.0)]


def test_grouped_tree_with_ids_beyond_32_bits() -> None:
    """Ids a 32-bit key cannot hold (negative, huge) fall back to sorting the tuples: same tree."""
    small = GroupedTree([((1, 2), 1.0), ((1, 3), 2.0), ((4,), 1.0)])
    big = GroupedTree([((-1, 2**40), 1.0), ((-1, 3), 2.0), ((4,), 1.0)])
    assert [(d, s, t, w) for _, d, s, t, w in _tree_shape(big.root)] == \
        [(d, s, t, w) for _, d, s, t, w in _tree_shape(small.root)]
    assert [f for f, *_ in _tree_shape(big.root)] == [-1, 3, 2**40, 4]


def _naive_shape(members: list[tuple[tuple[int, ...], float]]) -> list[tuple[int, int, float, float, float]]:
    """The same pre-order as `_tree_shape`, by the definition: group every member by its
    next frame, heaviest first, ties by first appearance; self = members ending there."""
    out: list[tuple[int, int, float, float, float]] = []

    def visit(group: list[tuple[int, tuple[int, ...], float]], depth: int, start: float) -> None:
        children: dict[int, list[tuple[int, tuple[int, ...], float]]] = {}
        for pos, s, w in group:
            if len(s) > depth:
                children.setdefault(s[depth], []).append((pos, s, w))
        order = sorted(children.items(), key=lambda kv: (-sum(w for _, _, w in kv[1]), min(p for p, _, _ in kv[1])))
        x = start
        for frame, sub in order:
            total = sum(w for _, _, w in sub)
            if total <= 0:
                continue
            own = sum(w for _, s, w in sub if len(s) == depth + 1)
            out.append((frame, depth, x, total, own))
            visit(sub, depth + 1, x)
            x += total

    visit([(i, s, w) for i, (s, w) in enumerate(members)], 0, 0.0)
    return out


def test_grouped_tree_matches_the_definition_on_random_members() -> None:
    """Random members (duplicates, prefixes of each other, long shared paths, ids past 32
    bits) give the tree the plain definition gives: an oracle for the bisection over frames."""
    import random
    rng = random.Random(7)
    for case in range(300):
        alphabet = [rng.randrange(-3, 2**33) if case % 5 == 0 else rng.randrange(6) for _ in range(6)]
        trunk = tuple(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        members = []
        for _ in range(rng.randrange(1, 25)):
            cut = rng.randrange(len(trunk) + 1)
            tail = tuple(rng.choice(alphabet) for _ in range(rng.randrange(0, 4)))
            members.append((trunk[:cut] + tail, float(rng.randrange(0, 4))))
        tree = GroupedTree(members)
        assert _tree_shape(tree.root) == _naive_shape(members), (case, members)


def test_a_deep_path_is_walked_in_linear_time() -> None:
    """Two stacks sharing a 50,000-frame path: every node's children are found by one frame
    each (comparing whole prefixes made this walk quadratic: about 15 s at this depth)."""
    trunk = tuple(range(50_000))
    tree = GroupedTree([(trunk, 1.0), ((*trunk[:25_000], -1), 2.0)])
    nodes = list(tree.walk())
    assert len(nodes) == 50_001
    assert nodes[-1].depth == 49_999
