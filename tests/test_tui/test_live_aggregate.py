"""`LiveAggregator` without Textual: what one update applies and builds, over copies that later
samples never change, equal to what a fresh build of the same samples gives."""

from __future__ import annotations

import threading

from collectors.calltree import GroupedNode, GroupedTree, TimeNode, TimeOrderTree, left_heavy
from collectors.live.base import Target
from collectors.profile import Profile
from tests.test_tui.fake_collector import FakeCollector
from tui.live import LiveRun
from tui.live_aggregate import LiveAggregator, LiveRequest, LiveUpdate
from tui.session import MERGED, WALL, Session
from tui.views import PaneState, ZoomStep, grouped_model, node_path

HOT = ("main", "work", "hot")
COLD = ("main", "idle_loop")
OTHER = ("main", "work", "other")
KEY = (MERGED, None, False, (), None)
WIDTH = 80


def aggregator() -> tuple[FakeCollector, LiveAggregator]:
    c = FakeCollector(Target.for_pid(4242))
    c.start()
    return c, LiveAggregator(LiveRun(c))


def request(pane: str = "left-heavy", state: PaneState | None = None, **kw: object) -> LiveRequest:
    return LiveRequest(KEY, pane, state=state or PaneState((), None, WIDTH), **kw)  # type: ignore[arg-type]


def names(profile: Profile, node: GroupedNode) -> list[str]:
    return [profile.frames[n.frame].name for n in node.path()]


def grouped_outline(tree: GroupedTree) -> list[tuple[object, ...]]:
    return [(n.frame, n.depth, n.start, n.total, n.self_weight) for n in tree.walk()]


def time_outline(tree: TimeOrderTree) -> list[tuple[object, ...]]:
    return [(n.frame, n.depth, n.first, n.last, n.start, n.end, n.total, n.self_weight) for n in tree.walk()]


def shown(update: LiveUpdate) -> Profile:
    assert update.session is not None
    return update.session.current.profile if update.session.index == MERGED else update.session.profile


def test_an_update_applies_the_batches_and_builds_left_heavy_over_a_copy() -> None:
    """The update's session holds copies (not the run's profiles), its Left Heavy tree is what
    `left_heavy` gives for those samples, and the pane's first screen is laid out."""
    c, agg = aggregator()
    c.feed(HOT, 10)
    c.feed(COLD, 5)
    update = agg.update(request())
    assert (update.samples, update.added) == (15, 15)
    assert update.session is not None and update.pane is not None
    d = update.session.derive(KEY)
    assert d.profile is not agg.run.merged and d.profile.sample_count == 15
    assert update.session.group is not agg.run.group and update.session.group.frames is not agg.run.group.frames
    assert grouped_outline(d.left_heavy) == grouped_outline(left_heavy(agg.run.merged))
    assert update.pane.tree is d.left_heavy and update.pane.rows, "the first screen is laid out"
    assert [d.profile.frames[s.node.frame].name for s in update.pane.rows[0]] == ["main"]


def test_later_samples_never_change_an_update_handed_over() -> None:
    """After the UI took an update, more samples and more updates leave its profiles, trees and
    totals exactly as they were (the worker changes only its own state; the Time Order tree it
    handed over is shared with the trees grown from it, which change none of its nodes)."""
    c, agg = aggregator()
    c.feed(HOT, 10)
    first = agg.update(request("time-order"))
    assert first.session is not None and first.pane is not None
    d = first.session.derive(KEY)
    arrays = [list(a) for a in (d.profile.sample_stacks, d.profile.weights, d.profile.times or [])]
    stacks, frames = list(d.profile.stacks.stacks), list(first.session.group.frames)
    tree = d.time_order
    before = time_outline(tree)
    for _ in range(3):
        c.feed(OTHER, 7)
        c.feed(COLD, 3)
        agg.update(request("time-order"))
        agg.update(request("left-heavy"))
    assert [list(a) for a in (d.profile.sample_stacks, d.profile.weights, d.profile.times or [])] == arrays
    assert list(d.profile.stacks.stacks) == stacks and list(first.session.group.frames) == frames
    assert time_outline(tree) == before and tree.root.last == 10
    assert tree.sample_count == 10 and [len(a) for a in tree.extents()] == [10, 10]
    assert outline_is_fresh(tree, d.profile), "the tree still reads only the samples it was built over"


def outline_is_fresh(tree: TimeOrderTree, profile: Profile) -> bool:
    return time_outline(tree) == time_outline(TimeOrderTree(profile))


def test_the_grown_time_order_tree_equals_a_fresh_build_at_every_update() -> None:
    """The Time Order tree handed over each update (the worker's tree, extended) is the tree a
    fresh build of the copy gives, however the samples came."""
    c, agg = aggregator()
    for i in range(6):
        c.feed(HOT, 3 + i)
        c.feed(COLD if i % 2 else OTHER, 2 * i + 1, step=0.02)
        update = agg.update(request("time-order"))
        assert update.session is not None and update.pane is not None
        d = update.session.derive(KEY)
        assert update.pane.tree is d.time_order
        assert time_outline(d.time_order) == time_outline(TimeOrderTree(d.profile))


def test_the_running_stack_weights_are_what_the_profile_sums() -> None:
    """The weight per stack kept as samples come equals `Profile.stack_weights` (order included:
    Left Heavy breaks ties by first appearance)."""
    c, agg = aggregator()
    for stack in (HOT, COLD, OTHER, HOT, COLD):
        c.feed(stack, 4)
        update = agg.update(request())
        assert update.session is not None
        d = update.session.derive(KEY)
        assert list(d.stack_weights.items()) == list(d.profile.stack_weights().items())


def test_a_paused_request_only_applies_the_batches() -> None:
    """Paused (no view key): the samples are applied and counted, nothing is built."""
    c, agg = aggregator()
    c.feed(HOT, 4)
    update = agg.update(LiveRequest(None))
    assert update.session is None and (update.samples, update.added) == (4, 4)
    again = agg.update(request())
    assert again.added == 0 and again.session is None, "nothing new and not forced: nothing to build"
    forced = agg.update(request(force=True))
    assert forced.session is not None and forced.session.derive(KEY).profile.sample_count == 4


def test_the_zoom_and_selection_are_carried_into_the_new_model() -> None:
    """The pane's state, as paths, finds the same frames in the new model, wherever a heavier
    branch moved them; the rows are those of the zoomed view."""
    c, agg = aggregator()
    c.feed(HOT, 10)
    c.feed(COLD, 5)
    first = agg.update(request())
    assert first.pane is not None
    model = first.pane.model
    main = model.children(model.root)[0]
    work = next(n for n in model.children(main) if model.children(n))
    hot = model.children(work)[0]
    path = tuple(node_path(model, work))
    state = PaneState((ZoomStep(path, work.start, work.end - work.start),), tuple(node_path(model, hot)), WIDTH)
    c.feed(COLD, 50)  # idle_loop now comes first
    update = agg.update(request(state=state))
    assert update.pane is not None and update.session is not None
    profile = update.session.derive(KEY).profile
    zoomed = update.pane.stack[-1].node
    assert zoomed is not None and isinstance(zoomed, GroupedNode) and names(profile, zoomed) == ["main", "work"]
    assert update.pane.selected is not None and isinstance(update.pane.selected, GroupedNode)
    assert names(profile, update.pane.selected) == ["main", "work", "hot"]
    assert [profile.frames[s.node.frame].name for s in update.pane.rows[0]] == ["main"]


def test_a_mark_splits_the_samples_and_the_since_view_is_compared_with_before() -> None:
    """`mark` counts every sample gathered so far as before the baseline; the since view holds
    only the later ones, and the comparison is built with it."""
    c, agg = aggregator()
    c.feed(COLD, 30)
    c.feed(HOT, 10)
    marked = agg.update(LiveRequest(None, mark=True))
    assert marked.marked and marked.baseline is not None and marked.baseline.mark == 40
    assert marked.baseline.after.sample_count == 0
    c.feed(HOT, 30)
    update = agg.update(request(since_mark=True))
    assert update.session is not None and update.baseline is not None and update.comparison is not None
    d = update.session.derive(KEY)
    assert d.profile.sample_count == 30 and d.profile is update.baseline.after
    assert update.baseline.before.sample_count == 40
    derived, diff, base = update.comparison.derived, update.comparison.diff, update.comparison.base
    assert derived is d and base.sample_count == 40
    frames = update.session.group.frames
    hot = [next(i for i, f in enumerate(frames) if f.name == name) for name in HOT]
    assert round(diff.path_change(hot).delta, 6) == 75.0, "25 % of the samples before, all of them since"
    assert update.baseline.before.frames is update.session.group.frames, "a diff by frame id, not by name"


def test_group_now_has_every_sample_gathered_so_far() -> None:
    """What `e` exports: the batches not yet applied included, as a copy."""
    c, agg = aggregator()
    c.feed(HOT, 3)
    agg.update(request())
    c.feed(COLD, 2)
    group = agg.group_now()
    assert sum(p.sample_count for p in group.profiles) == 5 and group is not agg.run.group


def test_filtered_and_ranged_views_are_built_from_the_copy() -> None:
    """A chip and a time range: the view is derived on the copy as the UI's session would."""
    from tui.chips import parse_filter

    c, agg = aggregator()
    c.feed(HOT, 10)
    c.feed(COLD, 10)
    chip = parse_filter("hide ^work$")
    key = (MERGED, None, False, (chip,), (0.0, 0.1))
    update = agg.update(LiveRequest(key, "left-heavy", state=PaneState((), None, WIDTH), force=True))
    assert update.session is not None
    fresh = Session(update.session.group, merged=shown_merged(update))
    fresh.add_chip(chip)
    fresh.set_range((0.0, 0.1))
    assert grouped_outline(update.session.derive(key).left_heavy) == grouped_outline(fresh.current.left_heavy)


def shown_merged(update: LiveUpdate) -> Profile:
    assert update.session is not None
    return update.session.derive(KEY).profile


def test_updates_on_a_thread_while_the_ui_reads_the_last_one() -> None:
    """A worker thread updating while this thread expands and lays out the previous update's
    trees: every tree handed over equals a fresh build of its copy (count-based: 30 updates)."""
    c, agg = aggregator()
    c.feed(HOT, 5)
    handed: list[LiveUpdate] = [agg.update(request("time-order"))]
    done = threading.Event()

    def worker() -> None:
        for i in range(30):
            c.feed(HOT if i % 3 else OTHER, 20)
            c.feed(COLD, 10, step=0.02)
            handed.append(agg.update(request("time-order" if i % 2 else "left-heavy")))
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    seen = 0
    while not done.is_set() or seen < len(handed):
        update = handed[min(seen, len(handed) - 1)]
        if update.session is not None:
            d = update.session.derive(KEY)
            grouped_model(d.left_heavy)
            _ = list(d.time_order.walk())
        seen += 1
    thread.join()
    assert len(handed) == 31
    for update in handed:
        assert update.session is not None
        d = update.session.derive(KEY)
        assert time_outline(d.time_order) == time_outline(TimeOrderTree(d.profile))
        assert grouped_outline(d.left_heavy) == grouped_outline(left_heavy(d.profile))


def test_off_cpu_kinds_pick_the_wall_view_of_the_merged_profile() -> None:
    """The session handed over opens where the UI's does: all threads merged (wall time when
    the profiles say what time they are)."""
    c, agg = aggregator()
    c.feed(HOT, 2)
    update = agg.update(request())
    assert update.session is not None
    assert update.session.index == MERGED and update.session.time_kind in (None, WALL)


def test_the_time_order_layout_handed_over_is_in_the_copys_nodes() -> None:
    """Time Order is laid out on the worker's own tree (whose children grow from the last one's)
    and handed over as it is: every drawn node, the zoom and the selection belong to the tree
    the UI gets, and the rows are what laying out that tree gives."""
    from tui.views import layout_rows

    c, agg = aggregator()
    for i in range(4):
        c.feed(HOT, 5 + i)
        c.feed(COLD, 3, step=0.02)
        c.feed(OTHER, 2)
        update = agg.update(request("time-order"))
        pane = update.pane
        assert pane is not None and isinstance(pane.tree, TimeOrderTree)

        tree = pane.tree

        def in_tree(node: object, tree: TimeOrderTree = tree) -> bool:
            """`node` is reached from the tree's root through its children (by identity)."""
            assert isinstance(node, TimeNode)
            above = tree.root
            for n in tree.path(node):
                if not any(k is n for k in tree.children(above)):
                    return False
                above = n
            return True

        drawn = [s.node for row in pane.rows for s in row]
        assert drawn and all(in_tree(n) for n in drawn)
        assert pane.selected is not None and in_tree(pane.selected)
        assert pane.rows == layout_rows(pane.model, pane.stack[-1], WIDTH)
