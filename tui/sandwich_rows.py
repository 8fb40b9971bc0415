"""The Sandwich table's rows, without Textual: which functions, in which order, labelled how.

Each row is a frame id of the shown profile or, comparing with a baseline, a function only in
the base (`BaseOnly`); `sorted_rows` orders them by self, total, name or change,
`function_labels` and `fit_function_label` say what the function column shows, and
`function_changes` / `base_only_rows` give the before/after shares. The widget,
`tui.widgets.sandwich.SandwichView`, only puts these rows in its table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from collectors.calltree import FunctionTotals, Sandwich
from collectors.diff import FunctionKey, FunctionShares, only_in_base
from collectors.profile import FrameTable
from collectors.safe_text import printable


@dataclass(frozen=True)
class SandwichInput:
    """What the Sandwich pane is given to draw, as one value (attributes down)."""

    totals: FunctionTotals
    """Every function's self and total weight: the table's rows."""
    frames: FrameTable
    format: Callable[[float], str]
    """A weight as the profile's unit shows it."""
    sandwich_of: Callable[[int], Sandwich]
    """A function's callers and callees (the two graphs under the table)."""
    baseline: FunctionShares | None = None
    """Comparing: the base's per-function shares (the columns are then before, after, change)."""

SORT_KEYS = ("self", "total", "name")
DIFF_SORT_KEYS = ("self", "total", "delta", "name")
"""With a baseline: `delta` is the largest absolute change of total first (`delta-self`,
from a header click, of self)."""


def _short_file(file: str) -> str:
    return file.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or file


def function_labels(fids: Sequence[int], frames: FrameTable) -> dict[int, str]:
    """What the function column says for each frame: its name, or where several rows have
    that name, `name (file)` (the file's base name; `file:line` when that still repeats)."""
    counts: dict[str, int] = {}
    for f in fids:
        counts[frames[f].name] = counts.get(frames[f].name, 0) + 1
    labels: dict[int, str] = {}
    places: dict[tuple[str, str], int] = {}
    for f in fids:
        frame = frames[f]
        if counts[frame.name] > 1 and frame.file:
            key = (frame.name, _short_file(frame.file))
            places[key] = places.get(key, 0) + 1
    for f in fids:
        frame = frames[f]
        name = printable(frame.name)
        if counts[frame.name] > 1 and frame.file:
            where = _short_file(frame.file)
            if places[(frame.name, where)] > 1 and frame.line is not None:
                where = f"{where}:{frame.line}"
            labels[f] = f"{name} ({printable(where)})"
        else:
            labels[f] = name
    return labels


def fit_function_label(label: str, cells: int) -> str:
    """`label` in `cells` cells, cut with `…`: a long name keeps its `(file)` when there is room
    for both (`JSONEncod… (encoder.py)`); a short name stays whole and its file is cut
    (`<module> (serv…)`)."""
    if cell_len(label) <= cells or cells <= 1:
        return label if cells > 1 else label[:max(0, cells)]
    name, sep, where = label.rpartition(" (")
    if sep and label.endswith(")"):
        if cell_len(name) + 5 <= cells:  # ` (x…)`: the name whole, the file cut
            return set_cell_size(label, cells - 2) + "…)"
        room = cells - cell_len(where) - 2
        if room >= 6:
            return set_cell_size(name, room - 1) + "…" + " (" + where
    return set_cell_size(label, cells - 1) + "…"


def sorted_functions(totals: FunctionTotals, frames: FrameTable, by: str,
                     changes: dict[int, FunctionChange] | None = None) -> list[int]:
    """Frame ids in table order: heaviest first by self or total, or by name; with
    `changes`, also by the largest absolute change of total (`delta`) or self (`delta-self`)."""
    s, t = totals.self_weight, totals.total
    if by == "name":
        return sorted(t, key=lambda f: (frames[f].name.casefold(), f))
    if changes is not None and by in ("delta", "delta-self"):
        c = changes
        if by == "delta":
            return sorted(t, key=lambda f: (-abs(c[f].total_delta), -abs(c[f].self_delta), f))
        return sorted(t, key=lambda f: (-abs(c[f].self_delta), -abs(c[f].total_delta), f))
    if by == "total":
        return sorted(t, key=lambda f: (-t[f], -s[f], f))
    return sorted(t, key=lambda f: (-s[f], -t[f], f))


def sorted_rows(totals: FunctionTotals, frames: FrameTable, by: str,
                changes: dict[int, FunctionChange] | None = None,
                base_only: Sequence[BaseOnly] = ()) -> list[Row]:
    """The table's rows in order (as `sorted_functions`), the functions only in the base among
    them: by self or total (0 in the shown profile) after the others, by name or change in place."""
    if not base_only:  # the usual case (and every live refill): the plain keys, faster
        return list(sorted_functions(totals, frames, by, changes))
    s, t = totals.self_weight, totals.total
    rows: list[Row] = [*t, *base_only]

    def tie(r: Row) -> tuple[int, int, str]:  # the shown profile's frames first, by id
        return (0, r, "") if isinstance(r, int) else (1, 0, r.file or "")

    if by == "name":
        return sorted(rows, key=lambda r: (row_name(r, frames).casefold(), tie(r)))
    if changes is not None and by in ("delta", "delta-self"):
        c = changes

        def change(r: Row) -> FunctionChange:
            return c[r] if isinstance(r, int) else r.change

        if by == "delta":
            return sorted(rows, key=lambda r: (-abs(change(r).total_delta), -abs(change(r).self_delta), tie(r)))
        return sorted(rows, key=lambda r: (-abs(change(r).self_delta), -abs(change(r).total_delta), tie(r)))

    def weights(r: Row) -> tuple[float, float]:
        return (s[r], t[r]) if isinstance(r, int) else (0.0, 0.0)

    if by == "total":
        return sorted(rows, key=lambda r: (-weights(r)[1], -weights(r)[0], tie(r)))
    return sorted(rows, key=lambda r: (-weights(r)[0], -weights(r)[1], tie(r)))


def row_name(row: Row, frames: FrameTable) -> str:
    return frames[row].name if isinstance(row, int) else row.name


class FunctionChange(tuple[float, float, float, float]):
    """(self base, self new, total base, total new), each in % of its profile's total."""

    __slots__ = ()

    @property
    def self_delta(self) -> float:
        return self[1] - self[0]

    @property
    def total_delta(self) -> float:
        return self[3] - self[2]


@dataclass(frozen=True)
class BaseOnly:
    """A function of the base that the shown profile does not have (it vanished): a table row
    without a frame, matched by (name, file) like every change."""

    name: str
    file: str | None
    change: FunctionChange

    @property
    def key(self) -> FunctionKey:
        return (self.name, self.file)


Row = int | BaseOnly
"""A table row: a frame id of the shown profile, or a function only in the base."""


def base_only_rows(totals: FunctionTotals, frames: FrameTable, base: FunctionShares) -> list[BaseOnly]:
    """The functions of the base missing from the shown profile, as rows (new 0.0, negative Δ)."""
    shown = {(frames[f].name, frames[f].file) for f in totals.total}
    bs, bt = base.self_pct, base.total_pct
    return [BaseOnly(name, file, FunctionChange((bs.get((name, file), 0.0), 0.0, bt[(name, file)], 0.0)))
            for name, file in only_in_base(base, shown)]


def function_changes(totals: FunctionTotals, frames: FrameTable, base: FunctionShares) -> dict[int, FunctionChange]:
    """Per function of the shown profile: its shares there and in the base, matched by (name, file)."""
    grand = totals.grand_total
    scale = 100.0 / grand if grand > 0 else 0.0
    s, t = totals.self_weight, totals.total
    bs, bt = base.self_pct, base.total_pct
    out: dict[int, FunctionChange] = {}
    for f in t:
        fr = frames[f]
        key = (fr.name, fr.file)
        out[f] = FunctionChange((bs.get(key, 0.0), s[f] * scale, bt.get(key, 0.0), t[f] * scale))
    return out
