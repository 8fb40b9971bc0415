"""A flame graph's rows as styled segments: pure functions, no Textual.

`tui.views.layout_rows` says where each frame goes (cells); this module says how each cell
looks (label, palette or colorer colour, search dimming and matches, the cursor, and the
cells outside a selected time range). The widget only wraps the result in a `Strip` and
caches it, so what a row shows is testable without a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from rich.color import Color
from rich.segment import Segment
from rich.style import Style

from collectors.profile import Frame, FrameKind, FrameTable
from collectors.safe_text import printable
from tui.palette import ColorMode, frame_style, outside_range_style
from tui.views import FlameModel, FlameNode, Span, fit_label

Colorer = Callable[[FlameNode], Style | None]
"""A frame's style in place of the palette's (None: the palette's)."""


@dataclass(frozen=True)
class FlameInput:
    """What a flame graph is given to draw, as one value (attributes down): the model, the
    frame table its ids index, the search's matches and the colours. Shown again with the
    same model and frames, a graph keeps its zoom and selection and only repaints."""

    model: FlameModel | None = None
    frames: FrameTable | None = None
    matches: frozenset[int] | None = None
    """Highlight these frame ids and dim the rest (None: no search)."""
    colorer: Colorer | None = None
    """Style each frame by `colorer(node)` instead of the palette (None from it, or no colorer:
    the palette's colour). Kernel frames stay italic; search dimming, matches and the cursor
    still apply on top. A new colorer (even an equal one) repaints."""


class Paint(NamedTuple):
    """The widget's own styles, looked up once per style update."""

    base: Style
    gap: Style
    cursor: Style
    match: Style


@lru_cache(maxsize=1 << 16)
def _frame_style(frame: Frame, dimmed: bool, mode: ColorMode) -> Style:
    """`frame_style`, remembered: a zoom repaints every row, and a Style costs microseconds."""
    return frame_style(frame, dimmed=dimmed, mode=mode)


def row_segments(
    row: Sequence[Span],
    width: int,
    frames: FrameTable,
    paint: Paint,
    *,
    mode: ColorMode,
    matches: frozenset[int] | None = None,
    selected: FlameNode | None = None,
    colorer: Colorer | None = None,
) -> list[Segment]:
    """One row `width` cells wide: each span's label fitted to its cells, gaps in `paint.gap`.
    With `matches` (a search), matching frames get `paint.match` and the rest are dimmed; a
    `colorer` replaces the palette's colour (kernel frames stay italic); `selected` gets
    `paint.cursor`."""
    segments: list[Segment] = []
    col = 0
    for c0, c1, node in row:
        if c0 > col:
            segments.append(Segment(" " * (c0 - col), paint.gap))
        frame = frames[node.frame]
        hit = matches is not None and node.frame in matches
        dimmed = matches is not None and not hit
        custom = colorer(node) if colorer is not None and not dimmed else None
        if custom is not None:
            style = custom + Style(italic=True) if frame.kind is FrameKind.KERNEL else custom
        else:
            style = _frame_style(frame, dimmed, mode)
        if hit:
            style += paint.match
        if node is selected:
            style += paint.cursor
        segments.append(Segment(fit_label(printable(frame.name), c1 - c0), style))
        col = c1
    if col < width:
        segments.append(Segment(" " * (width - col), paint.gap))
    return segments


def outside_range(
    segments: list[Segment], cols: tuple[int, int], width: int, background: Color | None
) -> list[Segment]:
    """`segments` (a row `width` cells wide) with the cells outside `[c0, c1)` in the
    outside-the-range style (coloured text on the plain `background`)."""
    c0, c1 = cols
    cuts = [cut for cut in (c0, c1, width) if cut <= width]
    out: list[Segment] = []
    for i, part in enumerate(Segment.divide(segments, cuts)):
        if i == 1:
            out.extend(part)
        else:
            out.extend(Segment(text, outside_range_style(style, background) if style is not None else style, control)
                       for text, style, control in part)
    return out
