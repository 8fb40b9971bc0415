"""The header (profile, unit, total, thread, pane, filter chips, zoom breadcrumb) and the details line
for the selected frame. Both only draw text computed by the pure functions here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Static

BREADCRUMB_SEP = " › "


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole > 0 else "-"


@dataclass(frozen=True)
class FrameFacts:
    """What the details line says about one selected frame."""

    name: str
    location: str
    total: float
    self_weight: float
    grand_total: float
    view_total: float
    function_total: float | None = None
    function_self: float | None = None


def details_lines(f: FrameFacts, fmt: Callable[[float], str], width: int | None = None) -> tuple[str, str]:
    """Two lines: the name and location; this instance's and the function's weights, in the
    longest wording that fits `width` cells (None: the longest), the function's totals kept."""
    first = f.name + (f"  {f.location}" if f.location else "")
    for second in _weight_lines(f, fmt):
        if width is None or cell_len(second) <= width:
            break
    return first, second


def _weight_lines(f: FrameFacts, fmt: Callable[[float], str]) -> list[str]:
    """The weights line, from the most to the least wordy."""
    zoomed = f.view_total != f.grand_total
    total, self_w = fmt(f.total), fmt(f.self_weight)
    t_all, s_all = _pct(f.total, f.grand_total), _pct(f.self_weight, f.grand_total)
    t_view, s_view = _pct(f.total, f.view_total), _pct(f.self_weight, f.view_total)
    if zoomed:
        long = f"total {total} ({t_all} of all, {t_view} of view)  self {self_w} ({s_all}, {s_view})"
        mid = f"total {total} {t_all} (view {t_view})  self {self_w} {s_all}"
    else:
        long = f"total {total} ({t_all} of all)  self {self_w} ({s_all})"
        mid = f"total {total} {t_all}  self {self_w} {s_all}"
    short = f"total {total} {t_all}  self {self_w} {s_all}"
    tiny = f"{total} {t_all} self {self_w}"
    if f.function_total is None or f.function_self is None:
        return [long, mid, short, tiny]
    ft, fs = fmt(f.function_total), fmt(f.function_self)
    ft_all, fs_all = _pct(f.function_total, f.grand_total), _pct(f.function_self, f.grand_total)
    fn_long = f"  │ function: total {ft} ({ft_all}) self {fs} ({fs_all})"
    fn_short = f" │ function: total {ft} {ft_all} self {fs} {fs_all}"
    fn_tiny = f" │ function {ft} {ft_all} self {fs}"
    return [long + fn_long, mid + fn_long, mid + fn_short, short + fn_short, tiny + fn_short, tiny + fn_tiny]


def breadcrumb_text(names: Sequence[str], width: int) -> str:
    """The zoom path `a › b › c`, cut from the left (`… › c`) to fit `width` cells."""
    if not names:
        return "whole profile"
    text = BREADCRUMB_SEP.join(names)
    if cell_len(text) <= width:
        return text
    kept: list[str] = []
    used = cell_len("…")
    for name in reversed(names):
        need = cell_len(name) + cell_len(BREADCRUMB_SEP)
        if used + need > width and kept:
            break
        kept.append(name)
        used += need
    return "…" + BREADCRUMB_SEP + BREADCRUMB_SEP.join(reversed(kept))


CHIP_CLOSE = "×"
CHIP_GAP = " "
CHIPS_END = " │ "
RANGE_CHIP = -1
"""The target of the time range's × (chips are numbered from 0)."""


NOTE_SEP = " · "


def chips_line(chips: Sequence[str], range_label: str | None, breadcrumb: Sequence[str],
               width: int, note: str | None = None) -> tuple[Text, list[tuple[int, int, int]]]:
    """The header's second line: a chip per filter, `label ×`, then the range's, then the
    breadcrumb in what room is left; with the cells `[x0, x1)` of each `×` and the chip it
    removes (its index, or RANGE_CHIP). Without chips or range, just the breadcrumb, and
    `note` after it when there is room (what x means in Time Order)."""
    items = [(text, i) for i, text in enumerate(chips)]
    if range_label is not None:
        items.append((range_label, RANGE_CHIP))
    if not items:
        tail = NOTE_SEP + note if note else ""
        room = width - cell_len(tail)
        if room < 16:
            tail, room = "", width
        line = Text(breadcrumb_text(breadcrumb, room), style="italic")
        line.append(tail)
        return line, []
    line = Text(no_wrap=True, overflow="ellipsis")
    hits: list[tuple[int, int, int]] = []
    col = 0
    for text, target in items:
        if col:
            line.append(CHIP_GAP)
            col += cell_len(CHIP_GAP)
        body = f" {text} "
        style = "reverse" if target != RANGE_CHIP else "reverse italic"
        line.append(body, style=style)
        col += cell_len(body)
        line.append(CHIP_CLOSE + " ", style=f"{style} bold")
        hits.append((col - 1, col + 2, target))  # the × and a cell either side: easy to hit
        col += cell_len(CHIP_CLOSE) + 1
    room = width - col - cell_len(CHIPS_END)
    if room >= 8:
        line.append(CHIPS_END)
        line.append(breadcrumb_text(breadcrumb, room), style="italic")
    return line, hits


class ProfileHeader(Static):
    """Profile name, thread, unit, total, pane; then the filter chips (click a `×` to remove
    one) and the zoom breadcrumb."""

    DEFAULT_CSS = """
    ProfileHeader { height: 2; background: $panel; color: $text; }
    """

    class ChipRemoved(Message):
        """A chip's `×` was clicked: `index` is the chip's, or RANGE_CHIP for the time range."""

        def __init__(self, header: ProfileHeader, index: int) -> None:
            super().__init__()
            self.header = header
            self.index = index

        @property
        def control(self) -> ProfileHeader:
            return self.header

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hits: list[tuple[int, int, int]] = []
        self.chips: tuple[str, ...] = ()
        self.range_label: str | None = None

    def show(self, title: str, breadcrumb: Sequence[str], chips: Sequence[str] = (),
             range_label: str | None = None, note: str | None = None) -> None:
        width = max(10, self.size.width or 80)
        self.chips, self.range_label = tuple(chips), range_label
        if cell_len(title) > width:  # one line, whatever the width: the chips line is below
            title = set_cell_size(title, width - 1) + "…"
        text = Text(title, style="bold", no_wrap=True, overflow="ellipsis")
        text.append("\n")
        second, self.hits = chips_line(chips, range_label, breadcrumb, width - 1, note)
        text.append_text(second)
        self.update(text, layout=False)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y != 1:
            return
        for x0, x1, target in self.hits:
            if x0 <= offset.x < x1:
                event.stop()
                self.post_message(self.ChipRemoved(self, target))
                return


class DetailsLine(Static):
    """The selected frame's name, location and weights."""

    DEFAULT_CSS = """
    DetailsLine { height: 2; background: $panel; color: $text; }
    """

    def show(self, facts: FrameFacts | None, fmt: Callable[[float], str]) -> None:
        if facts is None:
            self.update(Text("no frame selected"), layout=False)
            return
        first, second = details_lines(facts, fmt, max(20, (self.size.width or 80) - 1))
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(first, style="bold")
        text.append("\n")
        text.append(second)
        self.update(text, layout=False)
