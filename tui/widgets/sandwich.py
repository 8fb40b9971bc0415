"""`SandwichView`: every function with self and total, and the selected one's callers
(inverted, above) and callees (below) as two small flame graphs.

Comparing with a baseline (`bpfscope diff`, a live baseline), the table shows each
function's total and self before, after and the change, in % of each profile's total, and
also lists the functions only in the base (new 0.0 %: what vanished). Those have no frame
in the shown profile, so no callers or callees: the graphs are empty and their titles say why.
The rows (order, labels, changes) come from `tui.sandwich_rows`; this widget puts them in
its table and rebuilds the graphs when the cursor rests.

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

from rich.cells import cell_len
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
from tui.flame_rows import FlameInput
from tui.sandwich_rows import (
    DIFF_SORT_KEYS,
    SORT_KEYS,
    BaseOnly,
    FunctionChange,
    Row,
    SandwichInput,
    base_only_rows,
    fit_function_label,
    function_changes,
    function_labels,
    row_name,
    sorted_rows,
)
from tui.views import grouped_model
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.lists import KeyedTable

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
NUMBER_WIDTHS = (("self", 9), ("self%", 7), ("total", 9), ("total%", 7))
"""The number columns' cells (padding included: the table has none), so the function column
gets the rest: at 80 columns, 20-odd cells rather than ten."""


class SandwichView(Horizontal):
    """The Sandwich pane."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "cycle_sort", "Sort", tooltip="cycle the sort: self, total, name (comparing: also |Δ total|)"),
    ]

    DEFAULT_CSS = """
    SandwichView {
        height: 1fr;
        & > DataTable { width: 2fr; min-width: 30; height: 1fr; }
        & > Vertical { width: 1fr; height: 1fr; }
        & .sandwich--title { height: 1; background: $panel; color: $text-muted; }
        & FlameGraph { height: 1fr; }
    }
    """

    sort_by: var[str] = var("self")

    class FunctionSelected(Message):
        """The table's cursor moved to a function (`frame` None: one only in the base)."""

        def __init__(self, frame: int | None) -> None:
            super().__init__()
            self.frame = frame

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.totals: FunctionTotals | None = None
        self.frames: FrameTable | None = None
        self.format: Callable[[float], str] = str
        self.sandwich_of: Callable[[int], Sandwich] | None = None
        self.order: list[int] = []
        """The shown profile's functions (frame ids) in table order."""
        self.rows: list[Row] = []
        """Every table row in order: `order` and, comparing, the functions only in the base."""
        self.base_only: list[BaseOnly] = []
        self.base_only_row: BaseOnly | None = None
        """The highlighted row when it is a function only in the base (`frame` is then None)."""
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
        self._titles = ("callers", "callees")
        self._name_width = 0

    def compose(self) -> ComposeResult:
        table: KeyedTable[object] = KeyedTable(cursor_type="row", zebra_stripes=False, id="functions",
                                               cell_padding=0)
        yield table
        with Vertical():
            yield Static("callers", classes="sandwich--title", id="callers-title")
            yield FlameGraph(id="callers")
            yield Static("callees", classes="sandwich--title", id="callees-title")
            yield FlameGraph(id="callees")

    def on_mount(self) -> None:
        self.query_one("#callers", FlameGraph).root_at_bottom = True
        self._add_columns()

    @property
    def name_width(self) -> int:
        """The function column's cells: what the table's width leaves (its scrollbar and the
        space before the name aside)."""
        if self.baseline is not None:
            return DIFF_NAME_WIDTH
        width = self.table.size.width or (self.size.width * 2 // 3) or 53
        return max(12, width - 3 - sum(w for _, w in NUMBER_WIDTHS))

    def _add_columns(self) -> None:
        table = self.table
        table.clear(columns=True)
        self._name_width = self.name_width
        if self.baseline is not None:
            table.add_column("function", key="name", width=DIFF_NAME_WIDTH)
            for label, key in DIFF_COLUMNS:
                table.add_column(Text(label, justify="right"), key=key, width=cell_len(label) + 2)
            return
        for key, width in NUMBER_WIDTHS:
            table.add_column(Text(key, justify="right"), key=key, width=width)
        table.add_column(" function", key="name", width=self._name_width + 1)

    def on_resize(self) -> None:
        """The function column follows the table's width: columns and rows again."""
        if self.name_width == self._name_width or self.totals is None:
            return
        keep = self.frame if self.frame is not None else self.base_only_row
        self._add_columns()
        self._fill()
        if keep is not None and keep in self.rows:
            self.table.move_cursor(row=self.rows.index(keep), animate=False)

    @property
    def table(self) -> DataTable[object]:
        return self.query_one("#functions", DataTable)

    @property
    def callers(self) -> FlameGraph:
        return self.query_one("#callers", FlameGraph)

    @property
    def callees(self) -> FlameGraph:
        return self.query_one("#callees", FlameGraph)

    def show(self, given: SandwichInput) -> None:
        """Fill the table from `given.totals`, keeping the function selected if it is still
        there; `given.sandwich_of(frame)` gives a function's callers/callees; with a
        `baseline`, the columns are before, after and change (in % of each total)."""
        totals, frames, baseline = given.totals, given.frames, given.baseline
        self.totals = totals
        self.frames = frames
        self.format = given.format
        self.sandwich_of = given.sandwich_of
        if (baseline is None) != (self.baseline is None):
            self.baseline = baseline
            self._add_columns()
            if self.sort_by not in (DIFF_SORT_KEYS if baseline is not None else SORT_KEYS):
                self.set_reactive(SandwichView.sort_by, "self")
        self.baseline = baseline
        self.changes = function_changes(totals, frames, baseline) if baseline is not None else None
        self.base_only = base_only_rows(totals, frames, baseline) if baseline is not None else []
        keep, kept_base = self.frame, self.base_only_row
        self.frame = self.graphs_frame = self.base_only_row = None
        self._fill()
        again = next((b for b in self.base_only if kept_base is not None and b.key == kept_base.key), None)
        if keep is not None and keep in totals.total:
            self.show_function(keep)
        elif again is not None:
            self._move_to(again)
        elif self.rows:
            self._move_to(self.rows[0])
        else:
            self._clear_graphs()

    def _fill(self) -> None:
        totals, frames = self.totals, self.frames
        if totals is None or frames is None:
            return
        table = self.table
        table.clear()
        self.rows = sorted_rows(totals, frames, self.sort_by, self.changes, self.base_only)
        self.order = [r for r in self.rows if isinstance(r, int)]
        if self.changes is not None:
            self._fill_changes(self.changes, frames)
            return
        grand = totals.grand_total
        scale = 100.0 / grand if grand > 0 else 0.0
        fmt = self.format
        s, t = totals.self_weight, totals.total
        labels = function_labels(self.order, frames)
        room = self._name_width
        for f in self.order:
            table.add_row(
                Text(fmt(s[f]), justify="right"), Text(f"{s[f] * scale:.1f}%", justify="right"),
                Text(fmt(t[f]), justify="right"), Text(f"{t[f] * scale:.1f}%", justify="right"),
                Text(" " + fit_function_label(labels[f], room), no_wrap=True), key=str(f),
            )

    def _fill_changes(self, changes: dict[int, FunctionChange], frames: FrameTable) -> None:
        table = self.table
        labels = function_labels(self.order, frames)
        for i, r in enumerate(self.rows):
            sb, sn, tb, tn = c = changes[r] if isinstance(r, int) else r.change
            # A function only in the base is dim: it has no frame (nor callers) here.
            label = labels[r] if isinstance(r, int) else printable(row_name(r, frames))
            name = Text(fit_function_label(label, DIFF_NAME_WIDTH - 1), no_wrap=True,
                        style="" if isinstance(r, int) else "dim")
            table.add_row(
                name,
                Text(f"{tb:.1f}", justify="right"), Text(f"{tn:.1f}", justify="right"),
                Text(f"{c.total_delta:+.1f}", justify="right"),
                Text(f"{sb:.1f}", justify="right"), Text(f"{sn:.1f}", justify="right"),
                Text(f"{c.self_delta:+.1f}", justify="right"),
                key=str(r) if isinstance(r, int) else f"base:{i}",
            )

    def show_function(self, frame: int) -> None:
        """Move the table's cursor to `frame` and show its callers and callees."""
        if frame in self.order:
            self._move_to(frame)

    def _move_to(self, row: Row) -> None:
        at = self.rows.index(row)
        if self.table.cursor_row != at:
            self.table.move_cursor(row=at, animate=False)
        self._show_row(row)

    def _show_row(self, row: Row) -> None:
        if isinstance(row, int):
            self._show_sandwich(row)
        else:
            self._show_base_only(row)

    def _show_base_only(self, row: BaseOnly) -> None:
        """A function only in the base: no callers or callees here (empty graphs, titles say why)."""
        if row == self.base_only_row:
            return
        self.frame, self.base_only_row = None, row
        if self._rebuild_timer is not None:
            self._rebuild_timer.stop()
            self._rebuild_timer = None
        self._clear_graphs("only in the base: no callers here", "only in the base: no callees here")
        self.post_message(self.FunctionSelected(None))

    def _clear_graphs(self, callers: str = "callers", callees: str = "callees") -> None:
        self.graphs_frame = None
        for graph in (self.callers, self.callees):
            graph.show(FlameInput(matches=graph.matches))
        self._set_titles(callers, callees)

    def _set_titles(self, callers: str, callees: str) -> None:
        if (callers, callees) == self._titles:
            return
        self._titles = (callers, callees)
        self.query_one("#callers-title", Static).update(callers)
        self.query_one("#callees-title", Static).update(callees)

    def _show_sandwich(self, frame: int) -> None:
        """Select `frame` now; rebuild the graphs now if the cursor was resting, else once it
        rests (debounced: only the last of a quick run of moves is built)."""
        if frame == self.frame or self.sandwich_of is None or self.frames is None:
            return
        self.frame, self.base_only_row = frame, None
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
        self._set_titles("callers", "callees")
        s = self.sandwich_of(frame)
        for graph, tree, name in ((self.callers, s.callers, "callers"), (self.callees, s.callees, "callees")):
            # The search's matches stay: they are the app's, handed to every flame graph.
            graph.show(FlameInput(grouped_model(tree, name), self.frames, graph.matches))

    def watch_sort_by(self) -> None:
        if self.totals is None:
            return
        keep = self.frame if self.frame is not None else self.base_only_row
        self._fill()
        if keep is not None:
            self.table.move_cursor(row=self.rows.index(keep), animate=False)

    def action_cycle_sort(self) -> None:
        keys = DIFF_SORT_KEYS if self.baseline is not None else SORT_KEYS
        self.sort_by = keys[(keys.index(self.sort_by) + 1) % len(keys)] if self.sort_by in keys else keys[0]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        key = event.row_key.value
        # Refilling the table after a sort highlights row 0 on the way: skip stale events.
        if key is not None and event.cursor_row == self.table.cursor_row and event.cursor_row < len(self.rows):
            self._show_row(self.rows[event.cursor_row])

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
