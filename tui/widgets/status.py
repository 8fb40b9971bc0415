"""The header (profile, unit, total, thread, pane, zoom breadcrumb) and the details line
for the selected frame. Both only draw text computed by the pure functions here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
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


def details_lines(f: FrameFacts, fmt: Callable[[float], str]) -> tuple[str, str]:
    """Two lines: the name and location; this instance's and the function's weights."""
    first = f.name + (f"  {f.location}" if f.location else "")
    second = (
        f"total {fmt(f.total)} ({_pct(f.total, f.grand_total)} of all, {_pct(f.total, f.view_total)} of view)"
        f"  self {fmt(f.self_weight)} ({_pct(f.self_weight, f.grand_total)}, "
        f"{_pct(f.self_weight, f.view_total)})"
    )
    if f.function_total is not None and f.function_self is not None:
        second += (
            f"  │ function: total {fmt(f.function_total)} ({_pct(f.function_total, f.grand_total)})"
            f" self {fmt(f.function_self)} ({_pct(f.function_self, f.grand_total)})"
        )
    return first, second


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


class ProfileHeader(Static):
    """Profile name, thread, unit, total, pane; then the zoom breadcrumb."""

    DEFAULT_CSS = """
    ProfileHeader { height: 2; background: $panel; color: $text; }
    """

    def show(self, title: str, breadcrumb: Sequence[str]) -> None:
        width = max(10, self.size.width or 80)
        text = Text(title, style="bold", no_wrap=True, overflow="ellipsis")
        text.append("\n")
        text.append(breadcrumb_text(breadcrumb, width - 1), style="italic")
        self.update(text, layout=False)


class DetailsLine(Static):
    """The selected frame's name, location and weights."""

    DEFAULT_CSS = """
    DetailsLine { height: 2; background: $panel; color: $text; }
    """

    def show(self, facts: FrameFacts | None, fmt: Callable[[float], str]) -> None:
        if facts is None:
            self.update(Text("no frame selected"), layout=False)
            return
        first, second = details_lines(facts, fmt)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(first, style="bold")
        text.append("\n")
        text.append(second)
        self.update(text, layout=False)
