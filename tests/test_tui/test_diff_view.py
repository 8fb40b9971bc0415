"""Comparing in the TUI: `bpfscope diff BASE NEW` opens the app on NEW coloured by the change of
each call path's share, the Sandwich shows before / after / change, and a live session marks a
baseline (`b`) and shows the difference since (`B`)."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest
from rich.text import Text

from collectors.diff import PathDiff
from collectors.formats import folded
from collectors.profile import ProfileGroup
from tests.test_tui.fake_collector import FakeStarter
from tests.test_tui.test_live import Clock, live_app, started, tick
from tui import cli
from tui.app import DIFF_SCALE, BpfscopeApp
from tui.palette import diff_style
from tui.sandwich_rows import BaseOnly
from tui.views import FlameNode
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.sandwich import SandwichView
from tui.widgets.status import DetailsLine, ProfileHeader

SIZE = (120, 30)
BASE = "main;parse 30\nmain;parse;lex 10\nmain;render 60\n"
NEW = "main;render 20\nmain;parse 50\nmain;parse;lex 10\nmain;net 20\n"


def groups() -> tuple[ProfileGroup, ProfileGroup]:
    return folded.read(BASE, "base.folded"), folded.read(NEW, "new.folded")


def node(app: BpfscopeApp, graph: FlameGraph, *names: str) -> FlameNode:
    """The node at the path `names` (top frame first) of a graph's model."""
    model = graph.model
    assert model is not None
    frames = app.session.group.frames
    at: FlameNode = model.root
    for name in names:
        at = next(c for c in model.children(at) if frames[c.frame].name == name)
    return at


def text_of(widget: object) -> str:
    from textual.widgets import Static

    assert isinstance(widget, Static)
    content = widget.render()
    return content.plain if isinstance(content, Text) else str(content)


def diff_app() -> BpfscopeApp:
    base, new = groups()
    return BpfscopeApp(new, baseline=base)


async def test_colours_follow_the_change_of_each_share() -> None:
    """Grown paths get the "grew" colour for their change, shrunk ones "shrank", unchanged "same"."""
    app = diff_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        graph = app.left_heavy
        colour = graph.colorer
        assert colour is not None
        mode = graph.color_mode
        parse, render = node(app, graph, "main", "parse"), node(app, graph, "main", "render")
        lex = node(app, graph, "main", "parse", "lex")
        assert colour(parse) == diff_style(20.0, DIFF_SCALE, mode)
        assert colour(render) == diff_style(-40.0, DIFF_SCALE, mode)
        assert colour(lex) == diff_style(0.0, DIFF_SCALE, mode)
        assert len({colour(parse), colour(render), colour(lex)}) == 3


async def test_a_frame_only_in_new_grew_from_zero() -> None:
    """A path the base never had is coloured as grown by its whole new share."""
    app = diff_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        graph = app.left_heavy
        assert graph.colorer is not None
        net = node(app, graph, "main", "net")
        assert graph.colorer(net) == diff_style(20.0, DIFF_SCALE, graph.color_mode)
        assert graph.colorer(net) != diff_style(0.0, DIFF_SCALE, graph.color_mode)


async def test_time_order_is_coloured_like_left_heavy() -> None:
    """A Time Order run gets the change of its call path."""
    app = diff_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        graph = app.time_order
        assert graph.colorer is not None
        render = node(app, graph, "main", "render")
        assert graph.colorer(render) == diff_style(-40.0, DIFF_SCALE, graph.color_mode)


async def test_details_legend_and_header_say_what_is_compared() -> None:
    """The details line gives base → new for the selected frame; legend and header name the base."""
    app = diff_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.left_heavy.select(node(app, app.left_heavy, "main", "parse"))
        await pilot.pause()
        assert "base 40.0 % → new 60.0 % (+20.0)" in text_of(app.query_one(DetailsLine))
        legend = app.query_one("#diff-legend")
        assert legend.display
        assert "compared with base.folded" in text_of(legend)
        assert "shrank" in text_of(legend) and "grew" in text_of(legend)
        assert "compared with base.folded" in text_of(app.query_one(ProfileHeader))


async def test_B_turns_the_comparison_off_and_on() -> None:
    """In a file diff, `B` drops the colours, the legend and the Sandwich's change columns, and back."""
    app = diff_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("B")
        assert app.left_heavy.colorer is None and not app.query_one("#diff-legend").display
        await pilot.press("3")
        assert app.sandwich.changes is None
        await pilot.press("B")
        assert app.sandwich.changes is not None
        await pilot.press("2")
        assert app.left_heavy.colorer is not None


async def test_sandwich_columns_before_after_and_change() -> None:
    """The diff Sandwich lists total and self before, after and change, in % of each total."""
    app = diff_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        sw = app.sandwich
        table = sw.table
        labels = [str(c.label) for c in table.columns.values()]
        assert labels == ["function", "base%", "new%", "Δ total", "self base%", "self new%", "Δ self"]
        frames = app.session.group.frames
        by_name = {frames[f].name: f for f in sw.order}
        row = [str(c) for c in table.get_row(str(by_name["parse"]))]
        assert row == ["parse", "40.0", "60.0", "+20.0", "30.0", "50.0", "+20.0"]
        row = [str(c) for c in table.get_row(str(by_name["net"]))]
        assert row[:4] == ["net", "0.0", "20.0", "+20.0"]


async def test_diff_sandwich_shows_names_at_80_columns() -> None:
    """At 80x24 the diff table's visible part holds the function names and the total change."""
    app = diff_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        table = app.sandwich.table
        keys = [str(k.value) for k in table.columns]
        widths = [c.get_render_width(table) for c in table.columns.values()]
        visible = table.scrollable_content_region.width
        last = max(keys.index(k) for k in ("name", "total-base", "total-new", "total-delta"))
        assert sum(widths[:last + 1]) <= visible


async def test_o_cycles_the_sort_through_the_change_of_total() -> None:
    """`o` goes self → total → |Δ total| → name; by |Δ total| render (−40) comes first, ties by |Δ self|."""
    app = diff_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        sw = app.sandwich
        seen = []
        for _ in range(4):
            await pilot.press("o")
            seen.append(sw.sort_by)
        assert seen == ["total", "delta", "name", "self"]
        await pilot.press("o", "o")
        frames = app.session.group.frames
        assert [frames[f].name for f in sw.order] == ["render", "parse", "net", "main", "lex"]


async def test_sandwich_details_show_the_function_change() -> None:
    """In Sandwich, the details line gives the selected function's total share before and after."""
    app = diff_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        frames = app.session.group.frames
        render = next(f for f in app.sandwich.order if frames[f].name == "render")
        app.sandwich.show_function(render)
        await pilot.pause()
        assert app.sandwich.frame == render
        assert "base 60.0 % → new 20.0 % (-40.0)" in text_of(app.query_one(DetailsLine))


def test_sandwich_plain_columns_without_a_baseline() -> None:
    """Without a baseline the sort keys stay self, total and name (the diff keys are extra)."""
    from tui.sandwich_rows import DIFF_SORT_KEYS, SORT_KEYS

    assert SORT_KEYS == ("self", "total", "name") and "delta" in DIFF_SORT_KEYS
    assert SandwichView().baseline is None


def write(tmp_path: Path) -> tuple[Path, Path]:
    base, new = tmp_path / "base.folded", tmp_path / "new.folded"
    base.write_text(BASE)
    new.write_text(NEW)
    return base, new


async def test_diff_command_opens_the_app_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`bpfscope diff BASE NEW` on a terminal opens the TUI on NEW with BASE as the baseline."""
    import tui.app

    opened: list[tuple[ProfileGroup, ProfileGroup | None]] = []
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(tui.app, "run_app", lambda group, baseline=None: opened.append((group, baseline)))
    base, new = write(tmp_path)
    assert cli.main(["diff", str(base), str(new)]) == 0
    assert len(opened) == 1
    group, baseline = opened[0]
    assert baseline is not None and baseline.name.endswith("base.folded") and group.name.endswith("new.folded")
    app = BpfscopeApp(group, baseline=baseline)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.comparing and app.left_heavy.colorer is not None


def test_diff_json_and_table_are_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` prints the rows as before; `--table` prints the table even on a terminal."""
    import tui.app

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(tui.app, "run_app", lambda *a, **k: pytest.fail("the TUI opened"))
    base, new = write(tmp_path)
    assert cli.main(["diff", str(base), str(new), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["name"] == "render"
    assert set(rows[0]) == {"name", "file", "self_pct_base", "self_pct_new", "self_pct_delta", "total_pct_base",
                            "total_pct_new", "total_pct_delta"}
    assert (rows[0]["total_pct_base"], rows[0]["total_pct_new"]) == (60.0, 20.0)
    assert cli.main(["diff", str(base), str(new), "--table"]) == 0
    assert "render" in capsys.readouterr().out


HOT = ("main", "work", "hot")
COLD = ("main", "idle_loop")


async def test_live_baseline_shows_the_difference_since_the_mark() -> None:
    """`b` marks the baseline; `B` shows only the samples since, coloured against those before, and back."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(COLD, 30)
        c.feed(HOT, 10)
        tick(app, clock)
        await pilot.press("b")
        assert app.comparison.live_baseline is not None and app.comparison.live_baseline.mark == 40
        c.feed(HOT, 30)
        tick(app, clock)
        await pilot.press("B")
        graph = app.left_heavy
        assert graph.model is not None and graph.model.total == 30
        assert "difference since the baseline (40 samples before, 30 since)" in text_of(app.query_one(ProfileHeader))
        work = node(app, graph, "main", "work")  # 25 % before, 100 % since
        assert graph.colorer is not None
        assert graph.colorer(work) == diff_style(75.0, DIFF_SCALE, graph.color_mode)
        c.feed(COLD, 10)  # later samples join the difference at the next update
        tick(app, clock)
        assert graph.model is not None and graph.model.total == 40
        await pilot.press("B")
        assert graph.model is not None and graph.model.total == 80
        assert graph.colorer is None
        assert "difference" not in text_of(app.query_one(ProfileHeader))


async def test_b_again_moves_the_mark() -> None:
    """A second `b` makes the samples so far the new baseline: the difference restarts from there."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 10)
        tick(app, clock)
        await pilot.press("b", "B")
        c.feed(COLD, 10)
        tick(app, clock)
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 10
        await pilot.press("b")
        assert app.comparison.live_baseline is not None and app.comparison.live_baseline.mark == 20
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 0
        c.feed(HOT, 5)
        tick(app, clock)
        assert app.left_heavy.model.total == 5


async def test_B_before_any_mark_does_nothing() -> None:
    """Live, `B` needs a baseline: before `b` it is disabled and the view keeps every sample."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 10)
        tick(app, clock)
        await pilot.press("B")
        assert not app.comparing and app.left_heavy.colorer is None
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 10


async def test_filters_apply_to_the_baseline_too() -> None:
    """Focused on `parse`, both sides are re-rooted there: lex is 25 % of base and 1/6 of new."""
    app = diff_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.left_heavy.select(node(app, app.left_heavy, "main", "parse"))
        await pilot.press("f")
        await app.workers.wait_for_complete()
        await pilot.pause()
        graph = app.left_heavy
        assert graph.colorer is not None
        lex = node(app, graph, "parse", "lex")
        assert graph.colorer(lex) == diff_style(100 / 6 - 25.0, DIFF_SCALE, graph.color_mode)
        graph.select(lex)
        await pilot.pause()
        assert "base 25.0 % → new 16.7 % (-8.3)" in text_of(app.query_one(DetailsLine))


async def test_bottom_up_left_heavy_keeps_the_palette() -> None:
    """The inverted (bottom-up) graph's paths have no counterpart in the base: no change colours there."""
    app = diff_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.left_heavy.colorer is not None
        await pilot.press("v")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.session.bottom_up and app.left_heavy.colorer is None
        await pilot.press("v")
        await pilot.pause()
        assert app.left_heavy.colorer is not None


async def test_live_difference_keeps_the_filters() -> None:
    """Filter chips set before `B` apply to the difference view too (both sides filtered)."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 10)
        c.feed(COLD, 10)
        tick(app, clock)
        app.left_heavy.select(node(app, app.left_heavy, "main", "work"))
        await pilot.press("f", "b")
        c.feed(HOT, 5)
        c.feed(COLD, 50)
        tick(app, clock)
        await pilot.press("B")
        graph = app.left_heavy
        assert [c.kind for c in app.session.view.chips] == ["focus"]
        assert graph.model is not None and graph.model.total == 5
        assert graph.colorer is not None
        hot = node(app, graph, "work", "hot")  # 100 % of the focused samples on both sides
        assert graph.colorer(hot) == diff_style(0.0, DIFF_SCALE, graph.color_mode)


# --- functions only in the base ---------------------------------------------------------

GONE_BASE = BASE + "main;gc 100\n"
"""Base total 200: gc 50 %, render 30 %, parse 20 %, lex 5 %; NEW has no gc at all."""


def gone_app() -> BpfscopeApp:
    return BpfscopeApp(folded.read(NEW, "new.folded"), baseline=folded.read(GONE_BASE, "base.folded"))


def row_names(sw: SandwichView) -> list[str]:
    frames = sw.frames
    assert frames is not None
    return [r.name if isinstance(r, BaseOnly) else frames[r].name for r in sw.rows]


def base_only_row(sw: SandwichView, name: str) -> int:
    return next(i for i, r in enumerate(sw.rows) if isinstance(r, BaseOnly) and r.name == name)


async def test_a_function_only_in_the_base_is_a_row() -> None:
    """A vanished function is listed with new 0.0 and its loss, without a frame added to NEW's table."""
    app = gone_app()
    async with app.run_test(size=SIZE) as pilot:
        frames_before = len(app.session.group.frames)
        await pilot.press("3")
        sw = app.sandwich
        assert [b.name for b in sw.base_only] == ["gc"]
        row = [str(c) for c in sw.table.get_row_at(base_only_row(sw, "gc"))]
        assert row == ["gc", "50.0", "0.0", "-50.0", "50.0", "0.0", "-50.0"]
        assert sw.table.row_count == 6 and len(sw.order) == 5
        assert len(app.session.group.frames) == frames_before


async def test_the_change_sort_puts_a_big_vanished_function_first() -> None:
    """By |Δ total| gc (−50) leads, before parse (+40) and net (+20)."""
    app = gone_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "o", "o")
        sw = app.sandwich
        assert sw.sort_by == "delta"
        assert row_names(sw) == ["gc", "parse", "net", "render", "lex", "main"]


async def test_name_self_and_total_sorts_place_vanished_rows() -> None:
    """By name gc sits in alphabetical order; by self or total (0 in NEW) it comes last."""
    app = gone_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        sw = app.sandwich
        assert sw.sort_by == "self" and row_names(sw)[-1] == "gc"
        await pilot.press("o")
        assert sw.sort_by == "total" and row_names(sw) == ["main", "parse", "render", "net", "lex", "gc"]
        await pilot.press("o", "o")
        assert sw.sort_by == "name" and row_names(sw) == ["gc", "lex", "main", "net", "parse", "render"]


async def test_a_vanished_row_has_no_graphs_and_says_so() -> None:
    """Highlighting gc empties callers/callees, titles them "only in the base", gives base → new
    in the details line; the next function's graphs and titles come back."""
    app = gone_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        sw = app.sandwich
        sw.table.move_cursor(row=base_only_row(sw, "gc"))
        await pilot.pause()
        assert sw.frame is None and sw.base_only_row is not None and sw.base_only_row.name == "gc"
        assert sw.callers.model is None and sw.callees.model is None
        assert "only in the base" in text_of(sw.query_one("#callers-title"))
        details = text_of(app.query_one(DetailsLine))
        assert "gc" in details and "base 50.0 % → new 0.0 % (-50.0)" in details
        sw.table.move_cursor(row=0)
        for _ in range(600):  # wait for the rebuild (after its delay) by its state, not for a time
            if sw.frame == sw.rows[0] and sw.callers.model is not None:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        assert sw.frame == sw.rows[0] and sw.callers.model is not None
        assert text_of(sw.query_one("#callers-title")) == "callers"
        assert "(-50.0)" not in text_of(app.query_one(DetailsLine))


async def test_a_vanished_row_keeps_its_details_when_focus_comes_back() -> None:
    """Focus leaving the table and coming back does not replace gc's details with "no frame selected"."""
    app = gone_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        sw = app.sandwich
        sw.table.move_cursor(row=base_only_row(sw, "gc"))
        await pilot.pause()
        sw.callers.focus()
        await pilot.pause()
        sw.table.focus()
        await pilot.pause()
        assert "base 50.0 % → new 0.0 % (-50.0)" in text_of(app.query_one(DetailsLine))


async def test_sorting_keeps_the_cursor_on_a_vanished_row() -> None:
    """`o` re-sorts the table with the cursor still on gc."""
    app = gone_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        sw = app.sandwich
        sw.table.move_cursor(row=base_only_row(sw, "gc"))
        await pilot.pause()
        await pilot.press("o", "o")
        await pilot.pause()
        assert sw.table.cursor_row == base_only_row(sw, "gc") == 0
        assert sw.base_only_row is not None and sw.base_only_row.name == "gc"


# --- a big comparison on a worker -------------------------------------------------------


def held_app(monkeypatch: pytest.MonkeyPatch) -> tuple[BpfscopeApp, threading.Event]:
    """A diff app that compares on a worker (as for a big pair), held until the event is set."""
    release = threading.Event()
    expand = PathDiff.expand

    def held(self: PathDiff, min_pct: float) -> None:
        assert release.wait(10)
        expand(self, min_pct)

    monkeypatch.setattr(PathDiff, "expand", held)
    app = gone_app()
    app.comparison.sync_stacks = 0
    return app, release


async def test_a_big_comparison_is_built_on_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the worker is done the graph is uncoloured and the legend says "comparing…"; then coloured."""
    app, release = held_app(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        legend = app.query_one("#diff-legend")
        assert app.left_heavy.model is not None and app.left_heavy.colorer is None
        assert "comparing…" in text_of(legend)
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.left_heavy.colorer is not None and "comparing…" not in text_of(legend)
        render = node(app, app.left_heavy, "main", "render")
        assert app.left_heavy.colorer(render) == diff_style(20.0 - 30.0, DIFF_SCALE, app.left_heavy.color_mode)


async def test_the_sandwich_gets_its_columns_when_the_worker_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Sandwich shown while comparing has plain columns, then the change columns and vanished rows."""
    app, release = held_app(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        assert app.sandwich.changes is None
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.sandwich.changes is not None and [b.name for b in app.sandwich.base_only] == ["gc"]


async def test_a_comparison_finished_after_B_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Comparing turned off while the worker runs: its result is ignored (no colours come back)."""
    app, release = held_app(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("B")
        assert not app.comparing
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.left_heavy.colorer is None and app.comparison.current is None
        assert not app.query_one("#diff-legend").display
