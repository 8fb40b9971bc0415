"""A flame graph row's segments, built without Textual: labels, gaps, search, cursor, colorer, time range."""

from __future__ import annotations

import subprocess
import sys

from rich.color import Color
from rich.segment import Segment
from rich.style import Style

from collectors.calltree import left_heavy
from collectors.profile import FrameTable
from tests.test_tui.profiles import small_group
from tui.flame_rows import Paint, outside_range, row_segments
from tui.palette import frame_style
from tui.views import FlameNode, Span, Viewport, grouped_model, layout_rows

PAINT = Paint(Style(bgcolor="black"), Style(bgcolor="black"), Style(reverse=True), Style(underline=True))


def _rows() -> tuple[list[list[Span]], FrameTable]:
    group = small_group()
    model = grouped_model(left_heavy(group.profiles[0]))
    return layout_rows(model, Viewport(model.start, model.end), 40), group.frames


def _text(segments: list[Segment]) -> str:
    return "".join(s.text for s in segments)


def test_a_row_is_its_labels_and_gaps_at_the_full_width() -> None:
    """Row 1 at 40 cells: `a` over 16 cells, `d` over 16, then an 8-cell gap in the gap style."""
    rows, frames = _rows()
    segments = row_segments(rows[1], 40, frames, PAINT, mode="truecolor")
    assert _text(segments) == "a" + " " * 15 + "d" + " " * 15 + " " * 8
    assert [s.style for s in segments][-1] == PAINT.gap
    a, d = rows[1][0].node, rows[1][1].node
    assert segments[0].style == frame_style(frames[a.frame], dimmed=False, mode="truecolor")
    assert segments[1].style == frame_style(frames[d.frame], dimmed=False, mode="truecolor")


def test_search_cursor_and_colorer_style_their_frames() -> None:
    """A match gets the match style, the others are dimmed; the cursor is added to the selected
    frame; a colorer replaces the palette for frames that are not dimmed."""
    rows, frames = _rows()
    a, d = rows[1][0].node, rows[1][1].node
    segments = row_segments(rows[1], 40, frames, PAINT, mode="truecolor",
                            matches=frozenset({a.frame}), selected=d)
    assert segments[0].style == frame_style(frames[a.frame], dimmed=False, mode="truecolor") + PAINT.match
    assert segments[1].style == frame_style(frames[d.frame], dimmed=True, mode="truecolor") + PAINT.cursor

    def red(node: FlameNode) -> Style | None:
        return Style(bgcolor="red") if node is a else None

    coloured = row_segments(rows[1], 40, frames, PAINT, mode="truecolor", colorer=red)
    assert coloured[0].style == Style(bgcolor="red")
    assert coloured[1].style == frame_style(frames[d.frame], dimmed=False, mode="truecolor")


def test_cells_outside_the_range_take_the_outside_style() -> None:
    """With the range over cells [4, 20): the text is the same, the cells inside keep their
    style, those outside are drawn as coloured text on the plain background."""
    rows, frames = _rows()
    segments = row_segments(rows[0], 40, frames, PAINT, mode="truecolor")
    background = Color.parse("black")
    marked = outside_range(segments, (4, 20), 40, background)
    assert _text(marked) == _text(segments)
    fill = segments[0].style
    assert fill is not None and fill.bgcolor is not None
    inside = [s for s in marked if s.style == fill]
    assert sum(len(s.text) for s in inside) == 16
    outside = [s for s in marked if s.style != fill]
    assert {s.style.bgcolor for s in outside if s.style is not None} == {background}


def test_the_row_module_imports_no_textual() -> None:
    """`tui.flame_rows` loads in a fresh interpreter without pulling in Textual."""
    code = "import sys, tui.flame_rows; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
