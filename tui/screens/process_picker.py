"""The process picker: every process with its CPU, memory and threads; choose one to sample.

Process data comes from psutil on a worker thread every 2 s; the table is updated in
place (changed cells only, then re-sorted), so a few hundred processes cost little. Names
and command lines are untrusted: shown as `Text` with control characters escaped.

| Key               | Action                                          |
|-------------------|-------------------------------------------------|
| `/`, then typing  | filter on name, command line or PID (Enter or   |
|                   | Esc: back to the list; Esc again clears it)     |
| `↑`/`↓` `k`/`j`   | move (PgUp/PgDn: by ten)                        |
| `Enter`           | sample the highlighted process (or all)         |
| `<` / `>`         | sort by the previous / next column              |
| `Esc`             | clear the filter, then back                     |
| `q`               | quit                                            |

The list keeps the highlight on the row the user put it on while it re-sorts every 2 s
(the busiest process stays the one under the cursor); a new filter goes back to the top.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.widgets.data_table import ColumnKey

from collectors.live.base import Target
from collectors.safe_text import printable
from tui.widgets.lists import KeyedTable
from tui.widgets.message_line import MessageLine

REFRESH_SECONDS = 2.0
PRIME_SECONDS = 0.4
"""The first listing measures CPU over this long (psutil's first reading is 0.0 for all)."""
ALL_KEY = "all"
CMDLINE_CELLS = 300
"""Command lines are cut here: the column shows the start, and a 100 kB one would cost."""

COLUMNS: tuple[tuple[str, str], ...] = (
    ("pid", "PID"), ("user", "USER"), ("cpu", "CPU%"), ("rss", "RSS"), ("threads", "THR"),
    ("name", "NAME"), ("cmdline", "COMMAND"),
)
SORTABLE = ("cpu", "rss", "threads", "pid", "user", "name", "cmdline")
FIXED_WIDTHS = {"pid": 8, "user": 8, "cpu": 6, "rss": 7, "threads": 4, "name": 14}
"""Cells per column but COMMAND, which gets the rest of the width (the table has no padding:
each cell starts with a space of its own)."""
CELL_PADDING = 0


def command_width(table_width: int) -> int:
    """The COMMAND column's cells in a table `table_width` wide (its scrollbar aside)."""
    fixed = sum(FIXED_WIDTHS.values()) + CELL_PADDING * len(COLUMNS)
    return max(10, table_width - 2 - fixed)


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """One process as the picker shows it (text already made printable)."""

    pid: int
    user: str
    name: str
    cmdline: str
    cpu: float
    """CPU % since the previous listing (100 = one core)."""
    rss: int
    threads: int

    def matches(self, needle: str) -> bool:
        """`needle` (lower case) in the name or command line, or the PID starting with it."""
        return needle in self.name.casefold() or needle in self.cmdline.casefold() or str(self.pid).startswith(needle)

    def cells(self) -> tuple[Text, ...]:
        return (
            Text(str(self.pid), justify="right"), _cut(self.user), Text(f"{self.cpu:.1f}", justify="right"),
            Text(format_bytes(self.rss), justify="right"), Text(str(self.threads), justify="right"),
            _cut(self.name), _cut(self.cmdline),
        )


def _cut(text: str) -> Text:
    """A left-aligned cell: a space from its neighbour, `…` when its column is too narrow."""
    return Text(" " + text, no_wrap=True, overflow="ellipsis")


def format_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit in ("B", "K") else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"  # pragma: no cover - the loop returns at G


def sort_key(column: str) -> Callable[[ProcessInfo], tuple[object, ...]]:
    """Numbers heaviest first, text in alphabetical order, ties by PID."""
    if column in ("cpu", "rss", "threads"):
        return lambda p: (-getattr(p, column), p.pid)
    if column == "pid":
        return lambda p: (p.pid,)
    return lambda p: (str(getattr(p, column)).casefold(), p.pid)


def list_processes(exclude: int | None = None) -> list[ProcessInfo]:
    """Every process psutil can see (but `exclude`, by default ourselves)."""
    import psutil

    me = os.getpid() if exclude is None else exclude
    out: list[ProcessInfo] = []
    attrs = ["pid", "username", "name", "cmdline", "cpu_percent", "memory_info", "num_threads"]
    global _primed
    if not _primed:  # a first CPU reading, so the first listing is not all 0.0 in PID order
        _primed = True
        for _ in psutil.process_iter(["cpu_percent"], ad_value=None):
            pass
        time.sleep(PRIME_SECONDS)
    # process_iter keeps its Process objects between calls, so cpu_percent measures the
    # time since the previous listing (0.0 the first time).
    for proc in psutil.process_iter(attrs, ad_value=None):
        info = proc.info
        pid = int(info["pid"])
        if pid == me:
            continue
        cmd = info["cmdline"] or []
        mem = info["memory_info"]
        out.append(ProcessInfo(
            pid=pid,
            user=printable(str(info["username"] or "?")),
            name=printable(str(info["name"] or "?")),
            cmdline=printable(" ".join(cmd)[:CMDLINE_CELLS]) if cmd else "",
            cpu=float(info["cpu_percent"] or 0.0),
            rss=int(mem.rss) if mem is not None else 0,
            threads=int(info["num_threads"] or 0),
        ))
    return out


_primed = False
"""psutil has a first CPU reading of every process (see `list_processes`)."""

ProcessLister = Callable[[], Sequence[ProcessInfo]]
SORT_CHARACTERS = frozenset("<>")


class FilterInput(Input):
    """The filter box: every printable key filters, but `<` and `>`, which sort."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character not in SORT_CHARACTERS and super().check_consume_key(key, character)


class ProcessPicker(Screen[None]):
    """Lists processes; posts `Chosen` with the target to sample (the app starts it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False, tooltip="move up"),
        Binding("down,j", "move(1)", "Down", show=False, tooltip="move down"),
        Binding("pageup", "move(-10)", "Page up", show=False, tooltip="move up ten rows"),
        Binding("pagedown", "move(10)", "Page down", show=False, tooltip="move down ten rows"),
        Binding("enter", "choose", "Profile", tooltip="sample the highlighted process"),
        Binding("slash", "filter", "Filter", key_display="/",
                tooltip="type to filter on name, command line or PID (Enter/Esc: back to the list)"),
        Binding("less_than_sign", "sort(-1)", "Sort ‹", key_display="<", priority=True,
                tooltip="sort by the previous column"),
        Binding("greater_than_sign", "sort(1)", "Sort ›", key_display=">", priority=True,
                tooltip="sort by the next column"),
        Binding("escape", "back", "Clear/back", key_display="Esc", tooltip="clear the filter, then go back"),
        Binding("q", "app.quit", "Quit", tooltip="quit"),
        Binding("ctrl+c", "app.quit", "Quit", show=False, priority=True, tooltip="quit"),
    ]

    DEFAULT_CSS = """
    ProcessPicker #picker-title { height: 1; background: $panel; color: $text; text-style: bold; }
    ProcessPicker #filter { height: 3; }
    ProcessPicker DataTable { height: 1fr; }
    """

    sort_by: var[str] = var("cpu", init=False)

    class Chosen(Message):
        """The user chose what to sample."""

        def __init__(self, target: Target) -> None:
            super().__init__()
            self.target = target

    def __init__(self, lister: ProcessLister = list_processes, refresh_seconds: float = REFRESH_SECONDS) -> None:
        super().__init__()
        self.lister = lister
        self.refresh_seconds = refresh_seconds
        self.processes: dict[int, ProcessInfo] = {}
        self._shown: dict[int, ProcessInfo] = {}
        self._placed = False
        self.listings = 0
        """How many listings were applied (tests wait on it)."""

    def compose(self) -> ComposeResult:
        yield Static("Choose a process to profile: Enter samples it, / filters, q quits", id="picker-title")
        yield FilterInput(placeholder="press / to filter: name, command line or PID", id="filter")
        table: KeyedTable[Text] = KeyedTable(cursor_type="row", zebra_stripes=False, id="processes",
                                             cell_padding=CELL_PADDING)
        yield table
        yield MessageLine(id="picker-message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.table
        for key, label in COLUMNS:
            table.add_column(self._label(key, label), key=key,
                             width=FIXED_WIDTHS.get(key, command_width(self.size.width or 80)))
        table.add_row(Text("*", justify="right"), Text(""), Text(""), Text(""), Text(""),
                      Text(" all processes", style="bold"), _cut("every process on the machine"), key=ALL_KEY)
        table.focus()
        self.refresh_processes()
        self.set_interval(self.refresh_seconds, self.refresh_processes)

    def _label(self, key: str, label: str) -> Text:
        text = label + ("▼" if key == self.sort_by else "")
        return Text(text, justify="right") if key in ("pid", "cpu", "rss", "threads") else Text(" " + text)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#processes", DataTable)

    @property
    def filter_text(self) -> str:
        return self.query_one("#filter", Input).value

    @property
    def shown_pids(self) -> list[int]:
        """PIDs in table order (the all-processes row left out)."""
        return [int(str(r.key.value)) for r in self.table.ordered_rows if r.key.value != ALL_KEY]

    @property
    def highlighted(self) -> Target | None:
        table = self.table
        if table.row_count == 0:
            return None
        key = table.ordered_rows[table.cursor_row].key.value
        if key == ALL_KEY:
            return Target.all_processes()
        return Target.for_pid(int(str(key)))

    # --- listing -----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="processes")
    def refresh_processes(self) -> None:
        rows = list(self.lister())
        self.app.call_from_thread(self.set_processes, rows)

    def set_processes(self, rows: Sequence[ProcessInfo]) -> None:
        self.processes = {p.pid: p for p in rows}
        self.listings += 1
        self._show()

    def _show(self) -> None:
        """Bring the table in line with the listing, the filter and the sort, in place."""
        table = self.table
        needle = self.filter_text.strip().casefold()
        wanted = {pid: p for pid, p in self.processes.items() if not needle or p.matches(needle)}
        keep = table.cursor_row if self._placed else None
        for pid in [pid for pid in self._shown if pid not in wanted]:
            table.remove_row(str(pid))
            del self._shown[pid]
        for pid, p in wanted.items():
            old = self._shown.get(pid)
            if old is None:
                table.add_row(*p.cells(), key=str(pid))
            elif old != p:
                for (col, _), new, was in zip(COLUMNS, p.cells(), old.cells(), strict=True):
                    if new != was:
                        table.update_cell(str(pid), col, new)
            self._shown[pid] = p
        self._sort()
        self._place_cursor(keep)

    def _sort(self) -> None:
        by = sort_key(self.sort_by)
        shown = self._shown

        def key(pid_cell: Text) -> tuple[int, tuple[object, ...]]:
            text = pid_cell.plain
            if text == "*":
                return (0, ())
            return (1, by(shown[int(text)]))

        self.table.sort("pid", key=key)

    def _place_cursor(self, keep: int | None) -> None:
        """The cursor on row `keep` (the position the user chose, whatever process the new
        order puts there), or before that on the busiest process rather than everything."""
        table = self.table
        row = (1 if table.row_count > 1 else 0) if keep is None else max(0, min(keep, table.row_count - 1))
        if self._shown:
            self._placed = True
        table.move_cursor(row=row, animate=False)

    def on_resize(self) -> None:
        """COMMAND gets whatever width the other columns leave."""
        table = self.table
        column = table.columns.get(ColumnKey("cmdline"))
        width = command_width(self.size.width)
        if column is not None and column.width != width:
            column.width = width
            table.refresh(layout=True)
            table._require_update_dimensions = True

    # --- keys --------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._placed = False  # a new filter: back to the first process
        self._show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_choose()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_choose()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = event.column_key.value
        if key in SORTABLE:
            self.sort_by = key

    def watch_sort_by(self, old: str, new: str) -> None:
        table = self.table
        labels = dict(COLUMNS)
        for key in (old, new):
            column = table.columns.get(ColumnKey(key))
            if column is not None:
                column.label = self._label(key, labels[key])
        table.refresh()
        keep = table.cursor_row if self._placed else None
        self._sort()
        self._place_cursor(keep)

    def action_sort(self, step: int) -> None:
        self.sort_by = SORTABLE[(SORTABLE.index(self.sort_by) + step) % len(SORTABLE)]

    def action_move(self, step: int) -> None:
        table = self.table
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + step)), animate=False)

    def action_choose(self) -> None:
        target = self.highlighted
        if target is not None:
            self.post_message(self.Chosen(target))

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus:
            self.table.focus()  # typing done: keys are commands again (the filter stays)
        elif box.value:
            box.value = ""
        elif len(self.app.screen_stack) > 1 and getattr(self.app, "has_profile", False):
            self.dismiss(None)
