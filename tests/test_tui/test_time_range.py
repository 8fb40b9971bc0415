"""A time range from Time Order limits Left Heavy and Sandwich; Esc and undo clear it; the
density strip over Time Order; `w` cycles on-CPU / off-CPU / on+off time."""

from __future__ import annotations

import pytest
from textual.content import Content
from textual.message import Message

from collectors.profile import OFF_CPU, ON_CPU, ProfileGroup, Unit, merge_profiles
from tests.test_tui.profiles import add, small_group
from tui.app import BpfscopeApp
from tui.chips import parse_filter
from tui.session import MERGED, WALL, Session
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.status import RANGE_CHIP, ProfileHeader

SIZE = (80, 24)
WIDE = (160, 24)


def timed_group() -> ProfileGroup:
    """main;a, main;b, main;c, main;d one second apart: a [0, 1) … d [3, 4) in Time Order."""
    group = ProfileGroup("timed.json")
    group.new_profile("main thread", Unit.NONE)
    for t, leaf in enumerate("abcd"):
        add(group, 0, ["main", leaf], 1, time=float(t))
    return group


def offcpu_group() -> ProfileGroup:
    """Two threads, each with an on-CPU and an off-CPU profile, weights in seconds."""
    group = ProfileGroup("offcpu")
    for tid, (run, wait, waited) in ((1, (2.0, "wait", 2.5)), (2, (1.0, "sleep", 4.0))):
        on = group.new_profile("worker on-CPU", Unit.SECONDS)
        on.tid, on.time_kind = tid, ON_CPU
        off = group.new_profile("worker off-CPU", Unit.SECONDS)
        off.tid, off.time_kind = tid, OFF_CPU
        add(group, len(group.profiles) - 2, ["main", "run"], run)
        add(group, len(group.profiles) - 1, ["main", wait], waited)
    return group


def child_names(app: BpfscopeApp) -> list[str]:
    """The names under Left Heavy's first top frame."""
    model = app.left_heavy.model
    assert model is not None
    top = model.children(model.root)[0]
    return [app.session.group.frames[n.frame].name for n in model.children(top)]


def header_lines(app: BpfscopeApp) -> list[str]:
    rendered = app.query_one(ProfileHeader).render()
    assert isinstance(rendered, Content)
    return rendered.plain.splitlines()


def sandwich_totals(app: BpfscopeApp) -> dict[str, float]:
    totals = app.sandwich.totals
    assert totals is not None
    return {app.session.group.frames[f].name: t for f, t in totals.total.items()}


async def select_range(app: BpfscopeApp, start: float, end: float) -> None:
    app.time_order.post_message(FlameGraph.RangeSelected(app.time_order, start, end))


async def test_a_posted_range_limits_left_heavy_and_sandwich() -> None:
    """Samples whose extent overlaps [1.5, 2.5): b and c; the header shows the range."""
    app = BpfscopeApp(timed_group())
    async with app.run_test(size=SIZE) as pilot:
        await select_range(app, 1.5, 2.5)
        await pilot.pause()
        assert child_names(app) == ["b", "c"]
        assert "1.50 s – 2.50 s" in header_lines(app)[1]
        await pilot.press("3")
        assert sandwich_totals(app) == {"main": 2, "b": 1, "c": 1}


async def test_the_time_order_graph_keeps_the_whole_timeline_and_shows_the_range() -> None:
    """Time Order still draws every sample, with the range selected on it."""
    app = BpfscopeApp(timed_group())
    async with app.run_test(size=SIZE) as pilot:
        await select_range(app, 1.5, 2.5)
        await pilot.press("1")
        model = app.time_order.model
        assert model is not None and model.total == 4
        assert app.time_order.time_range == (1.5, 2.5)


async def test_untimed_ranges_are_shown_in_samples() -> None:
    """Without times x is cumulative weight: [10, 35) overlaps a;b and a;c, not d."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await select_range(app, 10, 35)
        await pilot.pause()
        assert child_names(app) == ["a"]
        assert "samples 10 – 35" in header_lines(app)[1]


async def test_esc_in_left_heavy_clears_the_range_when_nothing_is_zoomed() -> None:
    """At the whole profile, Esc in Left Heavy clears the range (and on the graph)."""
    app = BpfscopeApp(timed_group())
    async with app.run_test(size=SIZE) as pilot:
        await select_range(app, 1.5, 2.5)
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.session.view.time_range is None
        assert child_names(app) == ["a", "b", "c", "d"]
        assert "–" not in header_lines(app)[1]


async def test_esc_in_left_heavy_zooms_out_before_clearing_the_range() -> None:
    """With a zoom step, the first Esc zooms out and the range stays."""
    app = BpfscopeApp(timed_group())
    async with app.run_test(size=SIZE) as pilot:
        await select_range(app, 1.5, 2.5)
        await pilot.pause()
        await pilot.press("enter", "escape")
        assert app.session.view.time_range == (1.5, 2.5)


async def test_esc_in_sandwich_clears_the_range() -> None:
    """Esc in the Sandwich table clears the range: every function is back."""
    app = BpfscopeApp(timed_group())
    async with app.run_test(size=SIZE) as pilot:
        await select_range(app, 1.5, 2.5)
        await pilot.press("3", "escape")
        await pilot.pause()
        assert app.session.view.time_range is None
        assert sandwich_totals(app)["main"] == 4


async def test_esc_in_time_order_clears_the_graphs_range_and_the_views() -> None:
    """In Time Order the graph clears its range on Esc; Left Heavy follows."""
    app = BpfscopeApp(timed_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        app.time_order.time_range = (1.5, 2.5)
        await pilot.pause()
        assert app.session.view.time_range == (1.5, 2.5)
        await pilot.press("escape")
        await pilot.pause()
        assert app.session.view.time_range is None
        await pilot.press("2")
        assert child_names(app) == ["a", "b", "c", "d"]


async def test_undo_and_redo_cover_the_range() -> None:
    """`u` removes the range (the graph too), `U` brings it back."""
    app = BpfscopeApp(timed_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        app.time_order.time_range = (1.5, 2.5)
        await pilot.pause()
        await pilot.press("u")
        await pilot.pause()
        assert app.session.view.time_range is None and app.time_order.time_range is None
        await pilot.press("U")
        await pilot.pause()
        assert app.session.view.time_range == (1.5, 2.5) and app.time_order.time_range == (1.5, 2.5)
        assert not app.session.can_redo
        await pilot.press("2")
        assert child_names(app) == ["b", "c"]


async def test_a_timed_range_stays_in_place_when_a_chip_drops_the_first_samples() -> None:
    """Focus on c drops a and b, so Time Order starts at c (2 s): the range [1.5, 2.5) still
    means the same seconds, drawn at [-0.5, 0.5) of the new axis, clipped; no undo step added."""
    app = BpfscopeApp(timed_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        app.time_order.time_range = (1.5, 2.5)
        await pilot.pause()
        app.session.add_chip(parse_filter("focus ^c$"))
        app.action_undo()
        app.action_redo()
        await pilot.pause()
        assert app.session.view.time_range == (1.5, 2.5)
        assert app.time_order.time_range == (0.0, 0.5)
        assert app.session.can_undo and not app.session.can_redo
        await pilot.press("2")
        assert child_names(app) == []  # the focused root is c itself
        model = app.left_heavy.model
        assert model is not None and model.total == 1


async def test_undo_of_a_range_on_a_big_profile_follows_on_the_graph() -> None:
    """Derived on a worker, an undone range still leaves the Time Order graph."""
    app = BpfscopeApp(timed_group())
    app.sync_view_stacks = 0
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        app.time_order.time_range = (1.5, 2.5)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("2", "u")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert child_names(app) == ["a", "b", "c", "d"]
        await pilot.press("1")
        assert app.time_order.time_range is None


async def test_clicking_the_ranges_cross_clears_it() -> None:
    """The range is a chip in the header: its × clears it."""
    app = BpfscopeApp(timed_group())
    async with app.run_test(size=SIZE) as pilot:
        await select_range(app, 1.5, 2.5)
        await pilot.pause()
        x0, _, target = app.query_one(ProfileHeader).hits[0]
        assert target == RANGE_CHIP
        await pilot.click(ProfileHeader, offset=(x0 + 1, 1))
        await pilot.pause()
        assert app.session.view.time_range is None


async def test_density_strip_shows_over_a_timed_time_order_only() -> None:
    """The strip is above Time Order for timed profiles, one row per thread; hidden elsewhere."""
    app = BpfscopeApp(timed_group())
    async with app.run_test(size=SIZE) as pilot:
        assert not app.density.display
        await pilot.press("1")
        assert app.density.display
        assert [label for label, _ in app.density.rows] == ["main thread"]
        await pilot.press("2")
        assert not app.density.display


async def test_density_strip_is_hidden_for_untimed_profiles() -> None:
    """Untimed x is cumulative weight: no density strip."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        assert not app.density.display


async def test_w_cycles_on_cpu_off_cpu_and_wall_time() -> None:
    """On-CPU first (3 s), then off-CPU (6.5 s), then both added (9.5 s); the header says which."""
    app = BpfscopeApp(offcpu_group())
    async with app.run_test(size=WIDE) as pilot:
        app.select_profile(MERGED)
        await pilot.pause()
        seen = []
        for _ in range(4):
            seen.append((app.session.kind_label(), app.session.profile.total_weight(), child_names(app)))
            assert app.session.kind_label() in header_lines(app)[0]  # type: ignore[operator]
            await pilot.press("w")
        assert seen == [
            ("on-CPU time", 3.0, ["run"]),
            ("off-CPU time", 6.5, ["sleep", "wait"]),
            ("on+off-CPU (wall) time", 9.5, ["sleep", "run", "wait"]),
            ("on-CPU time", 3.0, ["run"]),
        ]


async def test_t_lists_the_threads_of_the_chosen_kind() -> None:
    """Per kind `t` lists each thread once; on+off merges a thread's two profiles."""
    app = BpfscopeApp(offcpu_group())
    async with app.run_test(size=WIDE) as pilot:
        assert [label for _, label in app.session.choices()] == [
            "worker on-CPU (tid 1)", "worker on-CPU (tid 2)", "all threads merged"]
        await pilot.press("w", "w")
        assert [label for _, label in app.session.choices()] == [
            "worker (tid 1)", "worker (tid 2)", "all threads merged"]
        app.select_profile(1)
        await pilot.pause()
        assert app.session.profile.total_weight() == 5.0


async def test_w_does_nothing_without_time_kinds() -> None:
    """A plain profile has one kind of time: `w` is off and the header names none."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        assert app.session.time_kind is None
        assert "CPU" not in header_lines(app)[0]


def test_live_sessions_open_on_wall_time() -> None:
    """With a merged profile kept by the caller (live: every thread, on and off CPU), the
    session opens on wall time, which is that profile."""
    group = offcpu_group()
    merged = merge_profiles(group)
    session = Session(group, merged=merged)
    assert session.time_kind == WALL
    assert session.base_profile() is merged


async def test_density_strip_has_a_row_per_thread_when_merged() -> None:
    """All threads merged: one strip row per thread, focus chips applied to each."""
    group = ProfileGroup("threads")
    for tid in (1, 2):
        group.new_profile(f"T{tid}", Unit.NONE).tid = tid
    add(group, 0, ["main", "x"], 1, time=0.0)
    add(group, 0, ["main", "y"], 1, time=1.0)
    add(group, 1, ["main", "x"], 1, time=0.5)
    app = BpfscopeApp(group)
    async with app.run_test(size=SIZE) as pilot:
        app.select_profile(MERGED)
        await pilot.press("1")
        assert [label for label, _ in app.density.rows] == ["T1 (tid 1)", "T2 (tid 2)"]
        assert [sum(bins) for _, bins in app.density.rows] == [2, 1]
        await pilot.press("j", "l", "f")
        assert [c.text for c in app.session.view.chips] == ["focus y"]
        assert [sum(bins) for _, bins in app.density.rows] == [1, 0]


async def test_the_graph_reports_only_the_users_range_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session owns the range and the Time Order graph draws it: the app drawing it (undo,
    redo, a chip that moves the axis and clips it, the new model) posts no `RangeSelected` or
    `RangeCleared`; the user's own changes do, once each. (An echo filter used to drop what
    the app caused; `FlameGraph.unreported` keeps it from being posted.)"""
    posted: list[str] = []
    post = FlameGraph.post_message

    def spy(graph: FlameGraph, message: Message) -> bool:
        sent = post(graph, message)
        if sent and isinstance(message, FlameGraph.RangeSelected | FlameGraph.RangeCleared):
            posted.append(type(message).__name__)
        return sent

    monkeypatch.setattr(FlameGraph, "post_message", spy)
    app = BpfscopeApp(timed_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        app.time_order.time_range = (1.5, 2.5)  # as a drag or `[` `]` set it
        await pilot.pause()
        assert posted == ["RangeSelected"]
        await pilot.press("u", "U", "F", *"focus ^c$", "enter", "escape")
        await pilot.pause()
        assert app.session.view.time_range == (1.5, 2.5) and app.time_order.time_range == (0.0, 0.5)
        assert [c.text for c in app.session.view.chips] == ["focus ^c$"]
        assert posted == ["RangeSelected"]
        await pilot.press("u", "u")  # the chip, then the range
        await pilot.pause()
        assert app.time_order.time_range is None and posted == ["RangeSelected"]
        app.time_order.time_range = (0.5, 1.5)
        await pilot.pause()
        await pilot.press("escape")  # the graph clears its range: the user's doing
        await pilot.pause()
        assert posted == ["RangeSelected", "RangeSelected", "RangeCleared"]
        assert app.session.view.time_range is None
