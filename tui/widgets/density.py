"""`DensityStrip`: sample density over time, one sparkline row per thread, above Time Order.

The last row is a time ruler in seconds (`|0s   |5s   |10s`), over the same columns.
Each row is a thread's label and a sparkline (▁▂▃▄▅▆▇█) of the sample weight that falls in
each time bin; the bins are the Time Order graph's columns, so a spike sits right above the
frames that made it. Each row is scaled to its own busiest bin in view (an empty bin is
blank, any non-zero bin at least ▁), so a quiet thread's shape still shows.

Wiring (the app does this):

- `set_series(series, lo, hi, origin=None)`: `series` is `(label, profile)` pairs, in the
  order to show them; beyond `max_rows` rows the rest are summed into one "+k more" row.
  `lo`, `hi`: the Time Order model's extent (`model.start`, `model.end`); the view starts
  there. `origin`: the absolute time (seconds) of x = 0, i.e. the first sample time of the
  profile shown in Time Order (`TimeOrderTree` measures x from it); by default the earliest
  first sample of the series, which is right for the merged "all threads" profile. Untimed
  profiles have no time axis: their x is cumulative weight, as in their own Time Order (the
  bars are then flat, and the app may rather hide the strip).
- `set_view(start, end, columns=None)`: the graph's current viewport (`graph.view.start`,
  `graph.view.end`) and its column count (`graph.layout_width`); by default the strip's
  width less one cell, the graph's scrollbar gutter, for a strip as wide as the graph.
- `set_range(range_or_None)`: the graph's `time_range`, drawn under the bars (a tinted
  background; underlined under `NO_COLOR`).
- A click on a bin posts `DensityStrip.BinClicked(strip, start, end)`, the bin's extent in
  x units (e.g. to set the graph's `time_range`).

Binning is `tui.time_axis.DensityIndex`: one C-level pass per series when it is set, then a
bisection per bin edge whenever the view changes (100k samples stay cheap to pan over).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from collectors.profile import Profile
from collectors.safe_text import printable
from tui.palette import color_mode
from tui.time_axis import (
    DensityIndex,
    TimeRange,
    column_x,
    density_bins,
    profile_density,
    range_columns,
    sparkline,
    time_ruler,
)
from tui.views import Viewport

__all__ = ["DensityStrip", "density_bins", "sparkline"]

LABEL_MAX = 16
"""A row's label covers at most this many cells at the left of its sparkline."""

GUTTER = 1
"""Cells at the right the graph below keeps for its scrollbar (no bins there)."""


class DensityStrip(Widget):
    """Sample density per thread over the Time Order graph's visible time."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"density-strip--bar", "density-strip--label", "density-strip--range"}

    DEFAULT_CSS = """
    DensityStrip {
        height: auto;
        & > .density-strip--bar { color: $accent; }
        & > .density-strip--label { color: $text-muted; text-style: bold; }
        & > .density-strip--range { background: $accent 30%; }
    }
    """

    class BinClicked(Message):
        """A bin was clicked: its extent `[start, end)` in the Time Order model's x units."""

        def __init__(self, strip: DensityStrip, start: float, end: float) -> None:
            super().__init__()
            self.strip = strip
            self.start = start
            self.end = end

        @property
        def control(self) -> DensityStrip:
            return self.strip

    def __init__(
        self, *, max_rows: int = 4, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.max_rows = max(1, max_rows)
        self.labels: list[str] = []
        self._series: list[list[tuple[DensityIndex, float]]] = []
        """Per row, its (index, x offset) parts: one, or several for "+k more"."""
        self.extent = Viewport(0.0, 0.0)
        self.view = Viewport(0.0, 0.0)
        self.columns: int | None = None
        self.time_range: TimeRange | None = None
        self._bins_key: tuple[object, ...] | None = None
        self._bins: list[list[float]] = []

    # --- state -------------------------------------------------------------------------

    def set_series(
        self, series: Sequence[tuple[str, Profile]], lo: float, hi: float, *, origin: float | None = None,
        indexes: Sequence[DensityIndex] | None = None,
    ) -> None:
        """Show these threads over the Time Order extent `[lo, hi]` (see the module docstring);
        `indexes`: their `profile_density`, when computed elsewhere (live: on a worker)."""
        if origin is None:
            firsts = [p.times[0] for _, p in series if p.times is not None and len(p.times)]
            origin = min(firsts, default=0.0)
        if indexes is None or len(indexes) != len(series):
            indexes = [profile_density(p) for _, p in series]
        parts = [(index, origin if p.times is not None else 0.0) for index, (_, p) in zip(indexes, series, strict=True)]
        labels = [printable(label) for label, _ in series]
        if len(series) > self.max_rows:
            keep = self.max_rows - 1
            self.labels = [*labels[:keep], f"+{len(series) - keep} more"]
            self._series = [[part] for part in parts[:keep]] + [parts[keep:]]
        else:
            self.labels = labels
            self._series = [[part] for part in parts]
        self.extent = Viewport(lo, hi)
        self.view = Viewport(lo, hi)
        self._bins_key = None
        self.styles.height = len(self.labels) + 1  # and the ruler
        self.refresh()

    def set_view(self, start: float, end: float, columns: int | None = None) -> None:
        """Bin `[start, end)` (the graph's viewport) into `columns` bins (None: width - GUTTER)."""
        self.view = Viewport(start, end)
        self.columns = columns
        self.refresh()

    def set_range(self, rng: TimeRange | None) -> None:
        """Draw the graph's selected time range (None: no range)."""
        if rng != self.time_range:
            self.time_range = rng
            self.refresh()

    @property
    def bin_count(self) -> int:
        if self.columns is not None:
            return max(0, self.columns)
        return max(0, self.size.width - GUTTER)

    @property
    def rows(self) -> list[tuple[str, list[float]]]:
        """(label, weight per bin) of each row for the current view."""
        return list(zip(self.labels, self._current_bins(), strict=True))

    def _current_bins(self) -> list[list[float]]:
        view, n = self.view, self.bin_count
        key = (view.start, view.end, n)
        if key != self._bins_key:
            self._bins = [_row_bins(parts, view, n) for parts in self._series]
            self._bins_key = key
        return self._bins

    # --- mouse -------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        n = self.bin_count
        if offset is None or not 0 <= offset.x < n or self.view.width <= 0:
            return
        self.post_message(
            self.BinClicked(self, column_x(self.view, n, offset.x), column_x(self.view, n, offset.x + 1))
        )

    # --- drawing -----------------------------------------------------------------------

    @property
    def ruler(self) -> str:
        """The time ruler under the sparklines: seconds over the view, aligned with the bins."""
        return time_ruler(self.view.start, self.view.end, self.bin_count)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        bins = self._current_bins()
        if y == len(bins) and bins:
            label_style = base + self.get_component_rich_style("density-strip--label", partial=True)
            ruler = set_cell_size(self.ruler, width)
            return Strip([Segment(ruler, label_style)], width)
        if not 0 <= y < len(bins):
            return Strip.blank(width, base)
        n = min(self.bin_count, width)
        bars = sparkline(bins[y])[:n]
        mono = color_mode(self.app.console.color_system, self.app.no_color) == "mono"
        bar = base + self.get_component_rich_style("density-strip--bar", partial=True)
        label_style = base + self.get_component_rich_style("density-strip--label", partial=True)
        in_range = bar + self.get_component_rich_style("density-strip--range", partial=True)
        if mono:
            bar = base
            label_style = base + Style(bold=True, reverse=True)
            in_range = base + Style(underline=True)
        label = self.labels[y]
        label_cells = min(cell_len(label) + 1, LABEL_MAX, n)
        segments = [Segment(set_cell_size(label, label_cells - 1) + " " if label_cells else "", label_style)]
        c0, c1 = range_columns(self.view, n, self.time_range) if self.time_range is not None else (0, 0)
        for start, end, style in (
            (label_cells, max(label_cells, c0), bar),
            (max(label_cells, c0), max(label_cells, c1), in_range),
            (max(label_cells, c1), n, bar),
        ):
            if end > start:
                segments.append(Segment(bars[start:end], style))
        if width > n:
            segments.append(Segment(" " * (width - n), base))
        return Strip(segments, width)


def _row_bins(parts: Sequence[tuple[DensityIndex, float]], view: Viewport, n: int) -> list[float]:
    """The bins of one row: its series' bins, summed ("+k more" has several)."""
    rows = [index.bins(view.start + offset, view.end + offset, n) for index, offset in parts]
    if len(rows) == 1:
        return rows[0]
    return [sum(column) for column in zip(*rows, strict=True)] if rows else [0.0] * n
