"""Time-range selection in the Time Order FlameGraph: keys, drag, Esc order, drawing, live updates.

The profile is `small_group` in time order: b [0, 30), c [30, 40) under a [0, 40); d [40, 80);
main's own time [80, 100). At 40 cells one cell is 2.5 units.
"""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.message import Message

from collectors.calltree import TimeOrderTree, left_heavy
from collectors.profile import ProfileGroup
from tests.test_tui.profiles import add, small_group
from tui.flame_rows import FlameInput
from tui.time_axis import clamp_range, nudged_range, range_columns, range_with_end, range_with_start
from tui.views import Viewport, grouped_model, time_order_model
from tui.widgets.flame_graph import FlameGraph

SIZE = (41, 6)


class TimeApp(App[None]):
    """One Time Order graph; the range messages it posts are recorded."""

    def __init__(self, group: ProfileGroup, time_axis: bool = True) -> None:
        super().__init__()
        self.group = group
        self.time_axis = time_axis
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield FlameGraph(time_axis=self.time_axis)

    def on_mount(self) -> None:
        graph = self.query_one(FlameGraph)
        if self.time_axis:
            graph.show(FlameInput(time_order_model(TimeOrderTree(self.group.profiles[0])), self.group.frames))
        else:
            graph.show(FlameInput(grouped_model(left_heavy(self.group.profiles[0])), self.group.frames))
        graph.focus()

    def on_flame_graph_range_selected(self, event: FlameGraph.RangeSelected) -> None:
        self.messages.append(event)

    def on_flame_graph_range_cleared(self, event: FlameGraph.RangeCleared) -> None:
        self.messages.append(event)


def ranges(app: TimeApp) -> list[tuple[float, float] | None]:
    """The recorded messages as ranges (None for a RangeCleared)."""
    return [(m.start, m.end) if isinstance(m, FlameGraph.RangeSelected) else None for m in app.messages]


def _name(app: TimeApp) -> str | None:
    sel = app.query_one(FlameGraph).selected
    return None if sel is None else app.group.frames[sel.frame].name


# --- pure helpers ----------------------------------------------------------------------


def test_range_columns_maps_and_clips() -> None:
    """[10, 30) of [0, 100) at 40 cells is cells 4..12; a range past the view is clipped."""
    view = Viewport(0.0, 100.0)
    assert range_columns(view, 40, (10.0, 30.0)) == (4, 12)
    assert range_columns(view, 40, (-50.0, 200.0)) == (0, 40)
    assert range_columns(Viewport(50.0, 100.0), 40, (10.0, 30.0)) == (0, 0)


def test_range_columns_keeps_a_sub_cell_range_one_cell_wide() -> None:
    """A visible range narrower than a cell still gets a cell."""
    assert range_columns(Viewport(0.0, 100.0), 40, (50.0, 50.5)) == (20, 21)


def test_clamp_range_orders_clips_and_drops_empty() -> None:
    """A reversed range is ordered, clipped to the extent, and None when nothing is left."""
    assert clamp_range((30.0, -5.0), 0.0, 100.0) == (0.0, 30.0)
    assert clamp_range((120.0, 150.0), 0.0, 100.0) is None
    assert clamp_range((5.0, 5.0), 0.0, 100.0) is None


def test_range_with_start_and_end_extend_or_restart() -> None:
    """`[` keeps the end when the frame starts before it; otherwise the range is the frame."""
    assert range_with_start(None, 10.0, 20.0) == (10.0, 20.0)
    assert range_with_start((30.0, 60.0), 10.0, 20.0) == (10.0, 60.0)
    assert range_with_start((30.0, 60.0), 70.0, 80.0) == (70.0, 80.0)
    assert range_with_end((30.0, 60.0), 70.0, 80.0) == (30.0, 80.0)
    assert range_with_end((30.0, 60.0), 0.0, 20.0) == (0.0, 20.0)


def test_nudged_range_stops_at_the_other_edge_and_the_extent() -> None:
    """An edge moves by delta but never past the extent or to within min_width of the other edge."""
    assert nudged_range((10.0, 20.0), "start", -5.0, 0.0, 100.0, 1.0) == (5.0, 20.0)
    assert nudged_range((10.0, 20.0), "start", 50.0, 0.0, 100.0, 1.0) == (19.0, 20.0)
    assert nudged_range((10.0, 20.0), "end", 500.0, 0.0, 100.0, 1.0) == (10.0, 100.0)
    assert nudged_range((2.0, 20.0), "start", -5.0, 0.0, 100.0, 1.0) == (0.0, 20.0)


# --- keys ------------------------------------------------------------------------------


async def test_brackets_set_start_and_end_from_selected_frames() -> None:
    """`[` on a sets [0, 40); `]` on d extends it to [0, 80); each posts RangeSelected."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        graph = app.query_one(FlameGraph)
        await pilot.press("j")
        assert _name(app) == "a"
        await pilot.press("left_square_bracket")
        assert graph.time_range == (0.0, 40.0)
        await pilot.press("l", "right_square_bracket")
        await pilot.pause()
        assert _name(app) == "d"
        assert graph.time_range == (0.0, 80.0)
        assert ranges(app) == [(0.0, 40.0), (0.0, 80.0)]


async def test_curly_brackets_move_the_edge_set_last() -> None:
    """After `]`, `}` and `{` move the end by 1/20 of the view (5 units); after `[`, the start."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        graph = app.query_one(FlameGraph)
        await pilot.press("j", "l", "right_square_bracket")  # d: [40, 80)
        await pilot.press("right_curly_bracket")
        assert graph.time_range == (40.0, 85.0)
        await pilot.press("left_curly_bracket", "left_curly_bracket")
        assert graph.time_range == (40.0, 75.0)
        await pilot.press("left_square_bracket", "left_curly_bracket")
        assert graph.time_range == (35.0, 75.0)


async def test_curly_brackets_without_a_range_do_nothing() -> None:
    """With no range there is no edge to move: no range appears, no message is posted."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("left_curly_bracket", "right_curly_bracket")
        await pilot.pause()
        assert app.query_one(FlameGraph).time_range is None
        assert app.messages == []


async def test_range_keys_are_off_in_a_graph_without_time_axis() -> None:
    """In Left Heavy, `[` does not select a range."""
    app = TimeApp(small_group(), time_axis=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "left_square_bracket")
        assert app.query_one(FlameGraph).time_range is None


async def test_escape_clears_the_range_before_zooming_out() -> None:
    """Zoomed into d with a range: the first Esc clears the range only, the second zooms out."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        graph = app.query_one(FlameGraph)
        await pilot.press("j", "l", "left_square_bracket", "enter")
        assert len(graph.zoom_stack) == 2 and graph.time_range == (40.0, 80.0)
        await pilot.press("escape")
        await pilot.pause()
        assert graph.time_range is None
        assert len(graph.zoom_stack) == 2
        assert ranges(app)[-1] is None
        await pilot.press("escape")
        assert len(graph.zoom_stack) == 1


async def test_range_survives_zoom_and_pan() -> None:
    """Zooming and panning change the view, not the range (it is in model units)."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        graph = app.query_one(FlameGraph)
        await pilot.press("j", "left_square_bracket")
        await pilot.press("plus", "comma", "full_stop", "enter")
        assert len(graph.zoom_stack) > 1
        assert graph.time_range == (0.0, 40.0)


# --- mouse -----------------------------------------------------------------------------


async def test_drag_selects_the_cells_between_press_and_release() -> None:
    """Press at cell 4, drag to cell 11, release: [10, 30) (cells 4..11 inclusive), one message,
    and the click the terminal sends after the release does not select a frame."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        graph = app.query_one(FlameGraph)
        before = graph.selected
        await pilot.mouse_down(FlameGraph, offset=(4, 1))
        await pilot.hover(FlameGraph, offset=(8, 1))
        assert graph.shown_range == (10.0, 22.5) and graph.time_range is None  # drawn while dragging
        await pilot.hover(FlameGraph, offset=(11, 1))
        await pilot.mouse_up(FlameGraph, offset=(11, 1))
        await pilot._post_mouse_events([events.Click], FlameGraph, offset=(11, 1))
        assert graph.time_range == (10.0, 30.0)
        assert ranges(app) == [(10.0, 30.0)]
        assert graph.selected is before


async def test_drag_to_the_left_orders_the_range() -> None:
    """Dragging from cell 11 back to cell 4 selects the same [10, 30)."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.mouse_down(FlameGraph, offset=(11, 2))
        await pilot.hover(FlameGraph, offset=(4, 2))
        await pilot.mouse_up(FlameGraph, offset=(4, 2))
        assert app.query_one(FlameGraph).time_range == (10.0, 30.0)


async def test_plain_click_selects_a_frame_and_no_range() -> None:
    """A click without moving selects d, as before; no range is set."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click(FlameGraph, offset=(20, 1))
        assert _name(app) == "d"
        assert app.query_one(FlameGraph).time_range is None
        assert app.messages == []


# --- drawing ---------------------------------------------------------------------------


async def test_cells_outside_the_range_lose_their_fill() -> None:
    """With [0, 40) selected, a keeps its fill; d (outside) is drawn in its fill colour on the
    pane background; the text is unchanged."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        graph = app.query_one(FlameGraph)
        before = {seg.text[0]: seg.style for seg in graph.render_line(1) if seg.text.strip()}
        text = graph.render_line(1).text
        await pilot.press("j", "left_square_bracket", "k")  # range a, cursor back on main
        await pilot.pause()
        strip = graph.render_line(1)
        after = {seg.text[0]: seg.style for seg in strip if seg.text.strip()}
        assert strip.text == text
        a0, a1, d0, d1 = before["a"], after["a"], before["d"], after["d"]
        assert a0 is not None and a1 is not None and d0 is not None and d1 is not None
        assert a1.bgcolor == a0.bgcolor
        assert d1.bgcolor == graph.rich_style.bgcolor != d0.bgcolor
        assert d1.color == d0.bgcolor


async def test_a_range_outside_the_view_leaves_every_cell_unfilled() -> None:
    """Range a [0, 40), zoomed into d [40, 80): no cell of the top row keeps a fill."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        graph = app.query_one(FlameGraph)
        await pilot.press("j", "left_square_bracket", "l", "enter", "k")
        await pilot.pause()
        assert graph.view is not None and (graph.view.start, graph.view.end) == (40.0, 80.0)
        strip = graph.render_line(0)
        assert strip.text.startswith("main")
        assert {seg.style.bgcolor for seg in strip if seg.style is not None} == {graph.rich_style.bgcolor}


async def test_clearing_the_range_restores_the_drawing() -> None:
    """After Esc the row renders as it did before any range."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        graph = app.query_one(FlameGraph)
        await pilot.press("j")
        before = list(graph.render_line(1))
        await pilot.press("l", "left_square_bracket")
        await pilot.press("h")
        assert list(graph.render_line(1)) != before
        await pilot.press("escape")
        await pilot.pause()
        assert list(graph.render_line(1)) == before


# --- models --------------------------------------------------------------------------


async def test_show_kept_keeps_the_range() -> None:
    """A live rebuild of the grown profile keeps the range and posts nothing."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        graph = app.query_one(FlameGraph)
        await pilot.press("j", "left_square_bracket")
        await pilot.pause()
        app.messages.clear()
        add(app.group, 0, ["main", "e"], 50)
        graph.show_kept(FlameInput(time_order_model(TimeOrderTree(app.group.profiles[0])), app.group.frames))
        await pilot.pause()
        assert graph.model is not None and graph.model.end == 150.0
        assert graph.time_range == (0.0, 40.0)
        assert app.messages == []


async def test_show_clears_the_range_unless_kept() -> None:
    """A new model clears the range (posting RangeCleared); with keep_range it is clipped to it."""
    app = TimeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        graph = app.query_one(FlameGraph)
        await pilot.press("j", "l", "left_square_bracket")  # d: [40, 80)
        short = ProfileGroup("short", frames=app.group.frames)
        short.new_profile("short")
        add(short, 0, ["main"], 60)
        graph.show(FlameInput(time_order_model(TimeOrderTree(short.profiles[0])), short.frames), keep_range=True)
        assert graph.time_range == (40.0, 60.0)
        graph.show(FlameInput(time_order_model(TimeOrderTree(app.group.profiles[0])), app.group.frames))
        await pilot.pause()
        assert graph.time_range is None
        assert ranges(app) == [(40.0, 80.0), (40.0, 60.0), None]
