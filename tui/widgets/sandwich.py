"""`SandwichView`: every function with self and total, and the selected one's callers
(inverted, above) and callees (below) as two small flame graphs.

Comparing with a baseline (`bpfscope diff`, a live baseline), the table shows each
function's total and self before, after and the change, in % of each profile's total.

| Key          | Action                                                    |
|--------------|-----------------------------------------------------------|
| `↑`/`↓`      | move in the table                                         |
| `Enter`      | move focus into the callers graph (`Tab` onwards)         |
| `o`          | cycle the sort: self, total, name (diff: also by Δ total) |
| header click | sort by that column                                       |
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.timer import Timer
from textual.widgets import DataTable, Static

from collectors.calltree import FunctionTotals, Sandwich
from collectors.diff import FunctionShares
from collectors.profile import FrameTable
from collectors.safe_text import printable
from tui.views import grouped_model
from tui.widgets.flame_graph import FlameGraph

SORT_KEYS = ("self", "total", "name")
DIFF_SORT_KEYS = ("self", "total", "delta", "name")
"""With a baseline: `delta` is the largest absolute change of total first (`delta-self`,
from a header click, of self)."""
REBUILD_DELAY = 0.08
"""Seconds the table's cursor must rest before callers/callees are rebuilt (a held arrow key
repeats faster than that, and each rebuild scans every stack of the profile)."""
_COLUMN_SORT = {"self": "self", "self%": "self", "total": "total", "total%": "total", "name": "name",
                "self-base": "self", "self-new": "self", "self-delta": "delta-self",
                "total-base": "total", "total-new": "total", "total-delta": "delta"}
DIFF_COLUMNS = (("base%", "total-base"), ("new%", "total-new"), ("Δ total", "total-delta"),
                ("self base%", "self-base"), ("self new%", "self-new"), ("Δ self", "self-delta"))
"""Total before, after and change, then the same for self (in % of each profile's total)."""
DIFF_NAME_WIDTH = 20
"""In a comparison the function column comes first at this width: six number columns would
push it out of an 80-column terminal's table (the self columns scroll into view instead)."""


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


class FunctionChange(tuple[float, float, float, float]):
    """(self base, self new, total base, total new), each in % of its profile's total."""

    __slots__ = ()

    @property
    def self_delta(self) -> float:
        return self[1] - self[0]

    @property
    def total_delta(self) -> float:
        return self[3] - self[2]


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


class SandwichView(Horizontal):
    """The Sandwich pane."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "cycle_sort", "Sort", tooltip="cycle the sort: self, total, name (comparing: also |Δ total|)"),
    ]

    DEFAULT_CSS = """
    SandwichView {
        height: 1fr;
        & > DataTable { width: 3fr; min-width: 30; height: 1fr; }
        & > Vertical { width: 2fr; height: 1fr; }
        & .sandwich--title { height: 1; background: $panel; color: $text-muted; }
        & FlameGraph { height: 1fr; }
    }
    """

    sort_by: var[str] = var("self")

    class FunctionSelected(Message):
        """The table's cursor moved to a function."""

        def __init__(self, frame: int) -> None:
            super().__init__()
            self.frame = frame

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.totals: FunctionTotals | None = None
        self.frames: FrameTable | None = None
        self.format: Callable[[float], str] = str
        self.sandwich_of: Callable[[int], Sandwich] | None = None
        self.order: list[int] = []
        self.baseline: FunctionShares | None = None
        """Per-function shares of the profile compared with (None: no comparison)."""
        self.changes: dict[int, FunctionChange] | None = None
        self.frame: int | None = None
        self.graphs_frame: int | None = None
        """The function the callers/callees graphs show (lags `frame` while the cursor moves)."""
        self.clock: Callable[[], float] = monotonic
        self.rebuild_delay = REBUILD_DELAY
        self._last_move = float("-inf")
        self._rebuild_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        table: DataTable[object] = DataTable(cursor_type="row", zebra_stripes=False, id="functions")
        yield table
        with Vertical():
            yield Static("callers", classes="sandwich--title")
            yield FlameGraph(id="callers")
            yield Static("callees", classes="sandwich--title")
            yield FlameGraph(id="callees")

    def on_mount(self) -> None:
        self.query_one("#callers", FlameGraph).inverted = True
        self._add_columns()

    def _add_columns(self) -> None:
        table = self.table
        table.clear(columns=True)
        if self.baseline is not None:
            table.add_column("function", key="name", width=DIFF_NAME_WIDTH)
            for label, key in DIFF_COLUMNS:
                table.add_column(label, key=key)
            return
        table.add_column("self", key="self")
        table.add_column("self%", key="self%")
        table.add_column("total", key="total")
        table.add_column("total%", key="total%")
        table.add_column("function", key="name")

    @property
    def table(self) -> DataTable[object]:
        return self.query_one("#functions", DataTable)

    @property
    def callers(self) -> FlameGraph:
        return self.query_one("#callers", FlameGraph)

    @property
    def callees(self) -> FlameGraph:
        return self.query_one("#callees", FlameGraph)

    def set_data(self, totals: FunctionTotals, frames: FrameTable, format: Callable[[float], str],
                 sandwich_of: Callable[[int], Sandwich], baseline: FunctionShares | None = None) -> None:
        """Fill the table from `totals`; `sandwich_of(frame)` gives a function's callers/callees;
        with `baseline`, the columns are before, after and change (in % of each total)."""
        self.totals = totals
        self.frames = frames
        self.format = format
        self.sandwich_of = sandwich_of
        if (baseline is None) != (self.baseline is None):
            self.baseline = baseline
            self._add_columns()
            if self.sort_by not in (DIFF_SORT_KEYS if baseline is not None else SORT_KEYS):
                self.set_reactive(SandwichView.sort_by, "self")
        self.baseline = baseline
        self.changes = function_changes(totals, frames, baseline) if baseline is not None else None
        keep = self.frame
        self.frame = self.graphs_frame = None
        self._fill()
        if keep is not None and keep in totals.total:
            self.show_function(keep)
        elif self.order:
            self.show_function(self.order[0])
        else:
            self.callers.set_model(None, None)
            self.callees.set_model(None, None)

    def _fill(self) -> None:
        totals, frames = self.totals, self.frames
        if totals is None or frames is None:
            return
        table = self.table
        table.clear()
        self.order = sorted_functions(totals, frames, self.sort_by, self.changes)
        if self.changes is not None:
            self._fill_changes(self.changes, frames)
            return
        grand = totals.grand_total
        scale = 100.0 / grand if grand > 0 else 0.0
        fmt = self.format
        s, t = totals.self_weight, totals.total
        for f in self.order:
            table.add_row(
                Text(fmt(s[f]), justify="right"), Text(f"{s[f] * scale:.1f}%", justify="right"),
                Text(fmt(t[f]), justify="right"), Text(f"{t[f] * scale:.1f}%", justify="right"),
                Text(printable(frames[f].name)), key=str(f),
            )

    def _fill_changes(self, changes: dict[int, FunctionChange], frames: FrameTable) -> None:
        table = self.table
        for f in self.order:
            sb, sn, tb, tn = c = changes[f]
            table.add_row(
                Text(printable(frames[f].name), no_wrap=True, overflow="ellipsis"),
                Text(f"{tb:.1f}", justify="right"), Text(f"{tn:.1f}", justify="right"),
                Text(f"{c.total_delta:+.1f}", justify="right"),
                Text(f"{sb:.1f}", justify="right"), Text(f"{sn:.1f}", justify="right"),
                Text(f"{c.self_delta:+.1f}", justify="right"),
                key=str(f),
            )

    def show_function(self, frame: int) -> None:
        """Move the table's cursor to `frame` and show its callers and callees."""
        if frame not in self.order:
            return
        row = self.order.index(frame)
        if self.table.cursor_row != row:
            self.table.move_cursor(row=row, animate=False)
        self._show_sandwich(frame)

    def _show_sandwich(self, frame: int) -> None:
        """Select `frame` now; rebuild the graphs now if the cursor was resting, else once it
        rests (debounced: only the last of a quick run of moves is built)."""
        if frame == self.frame or self.sandwich_of is None or self.frames is None:
            return
        self.frame = frame
        self.post_message(self.FunctionSelected(frame))
        now = self.clock()
        resting = now - self._last_move >= self.rebuild_delay
        self._last_move = now
        if self._rebuild_timer is not None:
            self._rebuild_timer.stop()
            self._rebuild_timer = None
        if resting:
            self._rebuild_graphs()
        else:
            self._rebuild_timer = self.set_timer(self.rebuild_delay, self._rebuild_graphs)

    def _rebuild_graphs(self) -> None:
        self._rebuild_timer = None
        frame = self.frame
        if frame is None or frame == self.graphs_frame or self.sandwich_of is None or self.frames is None:
            return
        self.graphs_frame = frame
        s = self.sandwich_of(frame)
        self.callers.set_model(grouped_model(s.callers, "callers"), self.frames)
        self.callees.set_model(grouped_model(s.callees, "callees"), self.frames)

    def watch_sort_by(self) -> None:
        if self.totals is None:
            return
        keep = self.frame
        self._fill()
        if keep is not None:
            row = self.order.index(keep)
            self.table.move_cursor(row=row, animate=False)

    def action_cycle_sort(self) -> None:
        keys = DIFF_SORT_KEYS if self.baseline is not None else SORT_KEYS
        self.sort_by = keys[(keys.index(self.sort_by) + 1) % len(keys)] if self.sort_by in keys else keys[0]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        key = event.row_key.value
        # Refilling the table after a sort highlights row 0 on the way: skip stale events.
        if key is not None and event.cursor_row == self.table.cursor_row:
            self._show_sandwich(int(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self._rebuild_timer is not None:  # going into the graphs: build them now
            self._rebuild_timer.stop()
        self._rebuild_graphs()
        self.callers.focus()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = event.column_key.value
        if key in _COLUMN_SORT:
            self.sort_by = _COLUMN_SORT[key]
