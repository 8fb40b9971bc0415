"""Differential colours: `diff_style` in every colour mode, the legend, and FlameGraph's colour hook."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rich.color import Color
from rich.style import Style
from textual.app import App, ComposeResult

from collectors.calltree import left_heavy
from collectors.profile import ProfileGroup, Unit
from tests.test_tui.profiles import add, small_group
from tui.flame_rows import FlameInput
from tui.palette import ColorMode, contrast, diff_legend, diff_style, shown_rgb
from tui.views import FlameNode, grouped_model
from tui.widgets.flame_graph import FlameGraph

MODES: list[ColorMode] = ["truecolor", "256", "standard", "mono"]


def shown_bg(style: Style, mode: ColorMode) -> tuple[int, int, int]:
    assert style.bgcolor is not None
    r, g, b = shown_rgb(style.bgcolor, mode)
    return r, g, b


@pytest.mark.parametrize("mode", MODES)
def test_grew_shrank_and_same_show_apart(mode: ColorMode) -> None:
    """The terminal shows three different backgrounds for grew, shrank and about the same."""
    grew, shrank, same = (diff_style(d, 1.0, mode) for d in (1.0, -1.0, 0.0))
    assert len({shown_bg(grew, mode), shown_bg(shrank, mode), shown_bg(same, mode)}) == 3


@pytest.mark.parametrize("mode", ["truecolor", "256", "standard"])
def test_grew_is_reddish_and_shrank_bluish(mode: ColorMode) -> None:
    """In colour, grew has more red than blue and shrank more blue than red, as shown."""
    r, _, b = shown_bg(diff_style(0.5, 1.0, mode), mode)
    assert r > b
    r, _, b = shown_bg(diff_style(-0.5, 1.0, mode), mode)
    assert b > r


@pytest.mark.parametrize("mode", MODES)
def test_labels_stay_readable(mode: ColorMode) -> None:
    """Every strength of change keeps its label's contrast at 4.5:1 or better."""
    for delta in (-1.0, -0.6, -0.3, -0.1, 0.0, 0.1, 0.3, 0.6, 1.0):
        style = diff_style(delta, 1.0, mode)
        assert style.color is not None and style.bgcolor is not None
        assert contrast(shown_rgb(style.color, mode), shown_rgb(style.bgcolor, mode)) >= 4.5, delta


def test_no_color_grew_is_bold_and_shrank_is_not() -> None:
    """Under NO_COLOR grew is also told apart by bold text; shrank and same are not bold."""
    assert diff_style(1.0, 1.0, "mono").bold
    assert not diff_style(-1.0, 1.0, "mono").bold
    assert not diff_style(0.0, 1.0, "mono").bold


def test_small_changes_count_as_same() -> None:
    """A change under 5% of the scale (or a zero scale) is drawn as "same"."""
    same = diff_style(0.0, 1.0, "truecolor")
    assert diff_style(0.04, 1.0, "truecolor") == same
    assert diff_style(-0.04, 1.0, "truecolor") == same
    assert diff_style(5.0, 0.0, "truecolor") == same
    assert diff_style(0.06, 1.0, "truecolor") != same


def test_stronger_change_is_a_stronger_colour() -> None:
    """In truecolor a larger growth is redder (further from grey) than a small one."""
    weak = shown_bg(diff_style(0.1, 1.0, "truecolor"), "truecolor")
    strong = shown_bg(diff_style(1.0, 1.0, "truecolor"), "truecolor")
    assert strong[0] - strong[2] > weak[0] - weak[2]


@pytest.mark.parametrize("mode", MODES)
def test_legend_names_each_colour_on_it(mode: ColorMode) -> None:
    """The legend reads "shrank same grew", each word on the style of its strongest change."""
    legend = diff_legend(mode)
    assert legend.plain.split() == ["shrank", "same", "grew"]
    styles = {legend.plain[span.start:span.end].strip(): span.style for span in legend.spans}
    assert styles["grew"] == diff_style(1.0, 1.0, mode)
    assert styles["shrank"] == diff_style(-1.0, 1.0, mode)


# --- the colour hook -------------------------------------------------------------------


class HookApp(App[None]):
    def __init__(self, group: ProfileGroup) -> None:
        super().__init__()
        self.group = group

    def compose(self) -> ComposeResult:
        yield FlameGraph()

    def on_mount(self) -> None:
        model = grouped_model(left_heavy(self.group.profiles[0]))
        self.query_one(FlameGraph).show(FlameInput(model, self.group.frames))


RED = Style(color=Color.from_rgb(0, 0, 0), bgcolor=Color.from_rgb(200, 0, 0))


def styles_by_label(graph: FlameGraph, y: int) -> dict[str, Style | None]:
    return {seg.text.split()[0]: seg.style for seg in graph.render_line(y) if seg.text.strip()}


async def test_colorer_style_is_used_and_none_keeps_the_palette() -> None:
    """A colorer that colours only d: d gets its style, a keeps the palette colour."""
    app = HookApp(small_group())
    async with app.run_test(size=(41, 6)) as pilot:
        graph = app.query_one(FlameGraph)
        await pilot.pause()
        before = styles_by_label(graph, 1)
        names = app.group.frames

        def colorer(node: FlameNode) -> Style | None:
            return RED if names[node.frame].name == "d" else None

        graph.show(replace(graph.input, colorer=colorer))
        after = styles_by_label(graph, 1)
        d = after["d"]
        assert d is not None and d.bgcolor == RED.bgcolor
        assert after["a"] == before["a"]


async def test_replacing_the_colorer_repaints_cached_rows() -> None:
    """Rows are cached; a new colorer (and then none) still changes what is drawn."""
    app = HookApp(small_group())
    async with app.run_test(size=(41, 6)) as pilot:
        graph = app.query_one(FlameGraph)
        await pilot.pause()
        plain = styles_by_label(graph, 1)["a"]
        graph.show(replace(graph.input, colorer=lambda node: RED))
        a = styles_by_label(graph, 1)["a"]
        assert a is not None and a.bgcolor == RED.bgcolor
        graph.show(replace(graph.input, colorer=None))
        assert styles_by_label(graph, 1)["a"] == plain


async def test_colorer_keeps_kernel_italic_and_search_dimming() -> None:
    """A kernel frame coloured by the hook is still italic; a frame dimmed by a search stays dimmed."""
    group = ProfileGroup("k")
    group.new_profile("k", Unit.NONE)
    add(group, 0, ["main", "sys_read"], 50, kernel=["sys_read"])
    add(group, 0, ["main", "work"], 50)
    app = HookApp(group)
    async with app.run_test(size=(41, 6)) as pilot:
        graph = app.query_one(FlameGraph)
        await pilot.pause()
        graph.show(replace(graph.input, colorer=lambda node: RED))
        sys_read = styles_by_label(graph, 1)["sys_read"]
        assert sys_read is not None and sys_read.italic and sys_read.bgcolor == RED.bgcolor
        main = next(i for i, f in enumerate(group.frames) if f.name == "main")
        graph.show(replace(graph.input, matches=frozenset({main})))
        work = styles_by_label(graph, 1)["work"]
        assert work is not None and work.bgcolor != RED.bgcolor
