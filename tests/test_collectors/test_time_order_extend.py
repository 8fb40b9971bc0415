"""`TimeOrderTree.extended`: a tree grown with the samples appended to its profile equals a fresh
build, and the live session grows its Time Order tree instead of rebuilding it."""

from __future__ import annotations

import gc
import random
import weakref

import pytest

from collectors.calltree import TimeNode, TimeOrderTree
from collectors.profile import Frame, Profile, ProfileGroup, Unit
from tui.session import Session

PERIOD = 0.01


def random_samples(rng: random.Random, count: int, timed: bool) -> list[tuple[tuple[int, ...], float, float | None]]:
    """(frame ids, weight, time) with shared prefixes, repeats, empty stacks and, timed, gaps."""
    out: list[tuple[tuple[int, ...], float, float | None]] = []
    t = 5.0
    stack: tuple[int, ...] = ()
    for _ in range(count):
        r = rng.random()
        if r < 0.1:
            stack = ()
        elif r < 0.6:  # keep a prefix of the last stack, then a few random frames
            stack = stack[:rng.randint(0, len(stack))] + tuple(rng.randrange(5) for _ in range(rng.randint(0, 3)))
        # else: the same stack again
        w = rng.choice((1.0, 1.0, 0.5, 2.0, 0.0, 0.1))
        out.append((stack, w, t if timed else None))
        g = rng.random()
        t += PERIOD if g < 0.6 else (0.0 if g < 0.7 else (PERIOD * rng.uniform(0.3, 1.7) if g < 0.85
                                                          else rng.uniform(0.05, 2.0)))
    return out


def new_profile(unit: Unit = Unit.NONE, period: float | None = None) -> Profile:
    group = ProfileGroup("test")
    for i in range(5):
        group.frames.intern(Frame(f"f{i}"))
    p = group.new_profile("test", unit)
    p.sample_period = period
    return p


def outline(tree: TimeOrderTree) -> list[tuple[object, ...]]:
    """Every node, with all its fields, in pre-order."""
    out: list[tuple[object, ...]] = []
    todo: list[TimeNode] = [tree.root]
    while todo:
        n = todo.pop()
        out.append((n.frame, n.depth, n.first, n.last, n.start, n.end, n.total, n.self_weight))
        todo.extend(reversed(tree.children(n)))
    return out


def expand_some(tree: TimeOrderTree, rng: random.Random) -> None:
    """Compute the children of a random part of the tree (what a pane would have drawn)."""
    todo = [tree.root]
    while todo:
        n = todo.pop()
        if rng.random() < 0.7:
            todo.extend(c for c in tree.children(n) if rng.random() < 0.6)


def assert_same(grown: TimeOrderTree, fresh: TimeOrderTree) -> None:
    assert grown.stacks == fresh.stacks
    assert list(grown.x0) == list(fresh.x0)
    assert list(grown.x1) == list(fresh.x1)
    assert list(grown.lcp) == list(fresh.lcp)
    assert grown.timed == fresh.timed
    assert outline(grown) == outline(fresh)


def layouts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first sample index of each layout pass from now on (0: a full build)."""
    begins: list[int] = []
    layout = TimeOrderTree._layout

    def spy(self: TimeOrderTree, profile: Profile, begin: int) -> None:
        begins.append(begin)
        layout(self, profile, begin)

    monkeypatch.setattr(TimeOrderTree, "_layout", spy)
    return begins


def grow_in_chunks(p: Profile, samples: list[tuple[tuple[int, ...], float, float | None]],
                   rng: random.Random) -> list[int]:
    """Add the samples in random chunks. After each, the tree (partly expanded at random) is
    extended twice: the first (which takes its arrays) must equal a fresh build, and one of
    the two, the fully expanded first or the unexpanded second, is extended next. Returns the
    sample counts before each chunk."""
    cuts = sorted(rng.sample(range(1, len(samples)), 5))
    befores: list[int] = []
    tree: TimeOrderTree | None = None
    for a, b in zip([0, *cuts], [*cuts, len(samples)], strict=True):
        befores.append(p.sample_count)
        for stack, w, t in samples[a:b]:
            p.add_sample(stack, w, t)
        if tree is None:
            tree = TimeOrderTree(p)
        else:
            checked, again = tree.extended(p), tree.extended(p)
            assert_same(checked, TimeOrderTree(p))
            tree = checked if rng.random() < 0.3 else again
        expand_some(tree, rng)
    assert tree is not None
    assert_same(tree, TimeOrderTree(p))
    return befores


@pytest.mark.parametrize("seed", range(12))
def test_timed_with_period_extends_to_a_fresh_build(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Timed samples (a known period, gaps, equal times, jitter) grown in random chunks give the
    same layout, totals and nodes as one build, and each extension lays out only new samples."""
    rng = random.Random(seed)
    p = new_profile(Unit.NONE, PERIOD)
    begins = layouts(monkeypatch)
    befores = grow_in_chunks(p, random_samples(rng, 300, timed=True), rng)
    assert begins == [0, *(b for n in befores[1:] for b in (n, n, 0)), 0]  # 0: the fresh builds


@pytest.mark.parametrize("seed", range(6))
def test_timed_weights_as_durations_extend_to_a_fresh_build(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Timed samples whose weight is their duration (a time unit, no period) extend exactly."""
    rng = random.Random(100 + seed)
    p = new_profile(Unit.MILLISECONDS)
    begins = layouts(monkeypatch)
    befores = grow_in_chunks(p, [(s, w * 10, t) for s, w, t in random_samples(rng, 200, timed=True)], rng)
    assert begins == [0, *(b for n in befores[1:] for b in (n, n, 0)), 0]


@pytest.mark.parametrize("seed", range(6))
def test_untimed_extends_to_a_fresh_build(seed: int) -> None:
    """Without times (where a sample like the last one adds to its weight, so the tree must
    not keep the old width of that sample), growing gives what a fresh build gives."""
    rng = random.Random(200 + seed)
    grow_in_chunks(new_profile(), random_samples(rng, 200, timed=False), rng)


def test_untimed_extension_reuses_the_layout_when_the_last_sample_is_untouched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Untimed, a new stack after the last one is laid out alone; the same stack again (merged
    into the last sample's weight) takes a full build."""
    p = new_profile()
    p.add_sample((0, 1), 1.0)
    tree = TimeOrderTree(p)
    begins = layouts(monkeypatch)
    p.add_sample((0, 2), 2.0)
    tree = tree.extended(p)
    p.add_sample((0, 2), 3.0)
    tree = tree.extended(p)
    assert begins == [1, 0]
    assert list(tree.x1) == [1.0, 6.0] and tree.root.total == 6.0


def test_median_duration_falls_back_to_a_full_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timed without a period or a time unit, a sample lasts the median gap, which new samples
    can change: the tree is built again, and still equals a fresh build."""
    p = new_profile(Unit.BYTES)
    for i in range(4):
        p.add_sample((0,), 1.0, i * 1.0)
    tree = TimeOrderTree(p)
    begins = layouts(monkeypatch)
    for i in range(6):
        p.add_sample((1,), 1.0, 4.0 + i * 0.25)
    grown = tree.extended(p)
    assert begins == [0]
    assert_same(grown, TimeOrderTree(p))


def test_extending_leaves_the_earlier_tree_as_it_was() -> None:
    """The earlier tree keeps its root, layout and expanded children (its arrays, handed on to
    the grown tree, only get longer)."""
    p = new_profile(Unit.NONE, PERIOD)
    for i in range(3):
        p.add_sample((0, 1), 1.0, i * PERIOD)
    tree = TimeOrderTree(p)
    kids = tree.children(tree.root)
    x1 = list(tree.x1)
    p.add_sample((0, 1), 1.0, 3 * PERIOD)
    grown = tree.extended(p)
    assert tree.root.last == 3 and tree.root.end == x1[-1] and list(tree.x1[:3]) == x1
    assert tree.children(tree.root) is kids and kids[0].last == 3
    assert grown.children(grown.root)[0].last == 4  # the last run merged with the new sample


def test_children_already_computed_are_carried_over() -> None:
    """A grown tree starts its nodes' children from those the earlier tree computed: the runs
    that ended before the new samples come over as they were, the last one grown."""
    p = new_profile(Unit.NONE, PERIOD)
    for i, stack in enumerate([(0, 1), (0, 2), (0, 2)]):
        p.add_sample(stack, 1.0, i * PERIOD)
    tree = TimeOrderTree(p)
    old = tree.children(tree.children(tree.root)[0])
    p.add_sample((0, 2, 3), 1.0, 3 * PERIOD)
    p.add_sample((0, 4), 1.0, 4 * PERIOD)
    grown = tree.extended(p)
    top = grown.children(grown.root)[0]
    seed = top._seed
    assert seed is not None and seed._children is old  # taken from the earlier tree
    kids = grown.children(top)
    assert [(k.frame, k.first, k.last, k.total) for k in kids] == [(1, 0, 1, 1.0), (2, 1, 4, 3.0), (4, 4, 5, 1.0)]
    assert all(grown.parent(k) is top for k in kids) and top._seed is None
    assert kids[0] is old[0], "a run that ended before the new samples is shared as it is"
    assert kids[1] is not old[1], "the grown run is a new node"
    assert (old[1].last, old[1].total) == (3, 2.0), "the earlier tree's node is unchanged"


def test_a_grown_tree_does_not_keep_the_earlier_one_alive() -> None:
    """Once the grown tree's root is expanded, it holds only the earlier tree's nodes it shares:
    the earlier tree and its root are freed when dropped, and the grown tree still expands right."""
    p = new_profile(Unit.NONE, PERIOD)
    samples = random_samples(random.Random(3), 80, timed=True)
    for stack, w, t in samples[:40]:
        p.add_sample(stack, w, t)
    tree = TimeOrderTree(p)
    outline(tree)
    for stack, w, t in samples[40:]:
        p.add_sample(stack, w, t)
    grown = tree.extended(p)
    grown.children(grown.root)
    old_tree = weakref.ref(tree)
    del tree
    gc.collect()
    assert old_tree() is None and grown.root._seed is None
    assert_same(grown, TimeOrderTree(p))


def test_a_tree_extended_twice_gives_two_right_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    """Extending the same earlier tree again, after a first extension took its arrays, copies
    its part and still equals a fresh build (as does a tree extended from that one)."""
    rng = random.Random(9)
    p = new_profile(Unit.NONE, PERIOD)
    samples = random_samples(rng, 90, timed=True)
    for stack, w, t in samples[:30]:
        p.add_sample(stack, w, t)
    tree = TimeOrderTree(p)
    for stack, w, t in samples[30:60]:
        p.add_sample(stack, w, t)
    first = tree.extended(p)
    for stack, w, t in samples[60:]:
        p.add_sample(stack, w, t)
    begins = layouts(monkeypatch)
    again = tree.extended(p)
    assert_same(again, TimeOrderTree(p))
    assert_same(first.extended(p), TimeOrderTree(p))
    assert begins == [30, 0, 60, 0]


def test_another_profile_is_built_from_scratch() -> None:
    """A tree never extends over a different profile object, even one with the same samples."""
    a, b = new_profile(), new_profile()
    for p in (a, b):
        p.add_sample((0,), 1.0)
    tree = TimeOrderTree(a)
    b.add_sample((1,), 1.0)
    assert_same(tree.extended(b), TimeOrderTree(b))


def session_with_merged() -> tuple[Session, Profile]:
    group = ProfileGroup("live")
    for i in range(5):
        group.frames.intern(Frame(f"f{i}"))
    merged = Profile(name="all threads", frames=group.frames)
    merged.sample_period = PERIOD
    return Session(group, merged=merged), merged


def test_session_grows_the_merged_time_order_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """After `invalidate`, the live merged profile's Time Order tree lays out only the new
    samples (even when Left Heavy alone was rebuilt in between) and equals a fresh build."""
    session, merged = session_with_merged()
    samples = random_samples(random.Random(7), 120, timed=True)
    for stack, w, t in samples[:50]:
        merged.add_sample(stack, w, t)
    first = session.current.time_order
    begins = layouts(monkeypatch)
    for stack, w, t in samples[50:80]:
        merged.add_sample(stack, w, t)
    session.invalidate()
    _ = session.current.left_heavy
    for stack, w, t in samples[80:]:
        merged.add_sample(stack, w, t)
    session.invalidate()
    tree = session.current.time_order
    assert tree is not first and begins == [50]
    assert_same(tree, TimeOrderTree(merged))


def test_session_filtered_views_are_built_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """A chip or a flattened view is a different profile: its Time Order tree is a full build."""
    session, merged = session_with_merged()
    samples = random_samples(random.Random(8), 60, timed=True)
    for stack, w, t in samples[:30]:
        merged.add_sample(stack, w, t)
    _ = session.current.time_order
    for stack, w, t in samples[30:]:
        merged.add_sample(stack, w, t)
    session.invalidate()
    session.flattened = True
    begins = layouts(monkeypatch)
    tree = session.current.time_order
    assert begins == [0]
    assert_same(tree, TimeOrderTree(session.current.profile))


def test_an_earlier_tree_stays_as_it_was_while_its_successor_grows() -> None:
    """Live sampling hands the UI thread the tree it built and grows the next one from it: the
    earlier tree still gives its own layout and nodes (its arrays grew under it), and every
    node the two share is finished (the same in a fresh build of either)."""
    p = new_profile(Unit.NONE, PERIOD)
    samples = random_samples(random.Random(11), 200, timed=True)
    for stack, w, t in samples[:120]:
        p.add_sample(stack, w, t)
    tree = TimeOrderTree(p)
    expand_some(tree, random.Random(3))
    before = p.copy()
    for stack, w, t in samples[120:]:
        p.add_sample(stack, w, t)
    grown = tree.extended(p)
    expand_some(grown, random.Random(4))
    assert grown.stacks is tree.stacks and len(tree.stacks) == 200, "the arrays were taken over and grew"
    assert tree.sample_count == 120 and [len(a) for a in tree.extents()] == [120, 120]
    assert outline(tree) == outline(TimeOrderTree(before))
    assert_same(grown, TimeOrderTree(p))
    old = {id(n): n for n in nodes(tree)}
    shared = [n for n in nodes(grown) if id(n) in old]
    assert len(shared) > 10, "finished runs are shared, not copied"
    assert all(n.last <= 120 for n in shared)


def test_a_shared_node_expanded_by_two_trees_has_one_list_of_children() -> None:
    """Two trees (two threads) asking for a shared node's children get the same list."""
    p = new_profile(Unit.NONE, PERIOD)
    for i, stack in enumerate([(0, 1, 2), (0, 1, 3), (0, 4), (0, 4, 2)]):
        p.add_sample(stack, 1.0, i * PERIOD)
    tree = TimeOrderTree(p)
    top = tree.children(tree.root)[0]
    tree.children(top)
    p.add_sample((1,), 1.0, 4 * PERIOD)
    grown = tree.extended(p)
    first = grown.children(grown.children(grown.root)[0])[0]
    assert first is tree.children(top)[0] and first._children is None
    assert grown.children(first) is tree.children(first)


def nodes(tree: TimeOrderTree) -> list[TimeNode]:
    """Every node whose children are computed, and those children (without computing any)."""
    out, todo = [], [tree.root]
    while todo:
        node = todo.pop()
        out.append(node)
        if node._children is not None:
            todo.extend(node._children)
    return out


def test_parent_and_path_match_the_tree() -> None:
    """`parent` and `path` (found from the root by bisection: nodes have no parent pointer)
    agree with the tree's children, for every node of a tree and of one grown from it."""
    p = new_profile(Unit.NONE, PERIOD)
    samples = random_samples(random.Random(5), 300, timed=True)
    for stack, w, t in samples[:150]:
        p.add_sample(stack, w, t)
    tree = TimeOrderTree(p)
    for stack, w, t in samples[150:]:
        p.add_sample(stack, w, t)
    for t in (tree, tree.extended(p)):
        todo: list[tuple[TimeNode, list[TimeNode]]] = [(t.root, [])]
        checked = 0
        while todo:
            node, path = todo.pop()
            for kid in t.children(node):
                if checked % 2:  # half found from the root down, half through the parents found before
                    assert t.parent(kid) is node
                found = t.path(kid)
                assert found == [*path, kid] and all(a is b for a, b in zip(found, [*path, kid], strict=True))
                assert t.parent(kid) is node
                todo.append((kid, [*path, kid]))
                checked += 1
        assert checked > 100 and t.parent(t.root) is None and t.path(t.root) == []
