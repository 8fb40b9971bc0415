"""The FlameGraph widget on its own: exact rendered rows, selection, inversion, mouse."""

from __future__ import annotations

from dataclasses import replace

from textual import events
from textual.app import App, ComposeResult

from collectors.calltree import left_heavy
from collectors.profile import ProfileGroup, Unit
from tests.test_tui.profiles import add, small_group
from tui.flame_rows import FlameInput
from tui.views import grouped_model
from tui.widgets.flame_graph import FlameGraph


class GraphApp(App[None]):
    def __init__(self, group: ProfileGroup) -> None:
        super().__init__()
        self.group = group

    def compose(self) -> ComposeResult:
        yield FlameGraph()

    def on_mount(self) -> None:
        graph = self.query_one(FlameGraph)
        graph.show(FlameInput(grouped_model(left_heavy(self.group.profiles[0])), self.group.frames))
        graph.focus()


def _name(app: GraphApp) -> str | None:
    sel = app.query_one(FlameGraph).selected
    return None if sel is None else app.group.frames[sel.frame].name


async def test_render_line_text_at_40_cells() -> None:
    """41 columns (one for the scrollbar gutter): the rows read exactly as laid out."""
    app = GraphApp(small_group())
    async with app.run_test(size=(41, 6)) as pilot:
        await pilot.pause()
        graph = app.query_one(FlameGraph)
        assert graph.layout_width == 40
        assert [graph.render_line(y).text for y in range(4)] == [
            "main" + " " * 36,
            "a" + " " * 15 + "d" + " " * 23,
            "b" + " " * 11 + "c" + " " * 3 + " " * 24,
            " " * 40,
        ]


async def test_selected_frame_is_reverse_video() -> None:
    """The selection is drawn in reverse video, so it shows without colour too."""
    app = GraphApp(small_group())
    async with app.run_test(size=(41, 6)) as pilot:
        await pilot.pause()
        graph = app.query_one(FlameGraph)
        first = next(iter(graph.render_line(0)))
        assert first.style is not None and first.style.reverse
        await pilot.press("j")
        assert not next(iter(graph.render_line(0))).style.reverse  # type: ignore[union-attr]
        assert next(iter(graph.render_line(1))).style.reverse  # type: ignore[union-attr]


async def test_inverted_puts_the_root_at_the_bottom() -> None:
    """Inverted, the root is on the last line and `k` (up) goes to the heaviest child."""
    app = GraphApp(small_group())
    async with app.run_test(size=(41, 6)) as pilot:
        graph = app.query_one(FlameGraph)
        graph.root_at_bottom = True
        await pilot.pause()
        assert graph.render_line(5).text.startswith("main")
        assert graph.render_line(4).text.startswith("a")
        await pilot.press("k")
        assert _name(app) == "a"
        await pilot.press("j")
        assert _name(app) == "main"


async def test_click_selects_and_double_click_zooms() -> None:
    """A click on d selects it; a double click zooms to it."""
    app = GraphApp(small_group())
    async with app.run_test(size=(41, 6)) as pilot:
        await pilot.pause()
        graph = app.query_one(FlameGraph)
        await pilot.click(FlameGraph, offset=(20, 1))
        assert _name(app) == "d"
        assert len(graph.zoom_stack) == 1
        await pilot.click(FlameGraph, offset=(20, 1), times=2)
        assert len(graph.zoom_stack) == 2
        assert graph.render_line(1).text.startswith("d" + " " * 38)


async def test_search_matches_are_highlighted_and_others_dimmed() -> None:
    """With matches set, a matching frame is bold and underlined; the others are not."""
    app = GraphApp(small_group())
    async with app.run_test(size=(41, 6)) as pilot:
        await pilot.pause()
        graph = app.query_one(FlameGraph)
        d = app.group.frames.find(next(f for f in app.group.frames if f.name == "d"))
        assert d is not None
        graph.show(replace(graph.input, matches=frozenset({d})))
        a_seg, d_seg = list(graph.render_line(1))[:2]
        assert d_seg.text.startswith("d") and d_seg.style.underline  # type: ignore[union-attr]
        assert a_seg.text.startswith("a") and not a_seg.style.underline  # type: ignore[union-attr]
        assert a_seg.style.bgcolor != d_seg.style.bgcolor  # type: ignore[union-attr]


async def test_one_input_the_same_model_repaints_a_new_one_starts_over() -> None:
    """The graph is handed one frozen `FlameInput`: with the same model (other matches or colours)
    the zoom and selection stay and only the strips change; a new model starts from its whole
    extent with its first top frame selected."""
    app = GraphApp(small_group())
    async with app.run_test(size=(41, 6)) as pilot:
        await pilot.pause()
        graph = app.query_one(FlameGraph)
        await pilot.press("j", "enter")
        zoom, selected, before = list(graph.zoom_stack), graph.selected, graph.input
        d = next(i for i, f in enumerate(app.group.frames) if f.name == "d")
        row = graph.render_line(1)
        graph.show(replace(before, matches=frozenset({d})))
        assert graph.zoom_stack == zoom and graph.selected is selected
        assert graph.input.model is before.model and graph.matches == frozenset({d})
        assert list(graph.render_line(1)) != list(row), "the matches are drawn (the strip cache is keyed on them)"
        assert before.matches is None, "the earlier input is unchanged"
        graph.show(FlameInput(grouped_model(left_heavy(app.group.profiles[0])), app.group.frames))
        assert len(graph.zoom_stack) == 1 and graph.matches is None
        assert _name(app) == "main"


def deep_group(depth: int = 20) -> ProfileGroup:
    """One stack f0 → f1 → … → f{depth-1}: taller than a small terminal."""
    group = ProfileGroup("deep.folded")
    group.new_profile("deep", Unit.NONE)
    add(group, 0, [f"f{i}" for i in range(depth)], 1)
    return group


async def test_mouse_wheel_scrolls_the_rows() -> None:
    """The wheel scrolls a graph taller than its pane down and back up; the selection stays."""
    app = GraphApp(deep_group())
    async with app.run_test(size=(41, 6)) as pilot:
        await pilot.pause()
        graph = app.query_one(FlameGraph)
        assert graph.render_line(0).text.startswith("f0 ")
        # Through the screen, as the driver delivers a wheel event (Pilot has no public scroll).
        for _ in range(2):
            await pilot._post_mouse_events([events.MouseScrollDown], graph, offset=(5, 2))
        top = round(graph.scroll_offset.y)
        assert top > 0
        assert graph.render_line(0).text.startswith(f"f{top} ")
        assert _name(app) == "f0"
        await pilot._post_mouse_events([events.MouseScrollUp], graph, offset=(5, 2))
        assert round(graph.scroll_offset.y) < top
