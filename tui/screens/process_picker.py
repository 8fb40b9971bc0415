"""The process picker: every process with its CPU, memory and threads; choose one to sample.

Process data comes from psutil on a worker thread every 2 s; the table is updated in
place (changed cells only, then re-sorted), so a few hundred processes cost little. Names
and command lines are untrusted: shown as `Text` with control characters escaped.

| Key               | Action                                          |
|-------------------|-------------------------------------------------|
| typing            | filter on name, command line or PID             |
| `↑`/`↓`, PgUp/PgDn| move                                            |
| `Enter`           | sample the highlighted process (or all)         |
| `<` / `>`         | sort by the previous / next column              |
| `Esc`             | clear the filter, then back                     |
"""

from __future__ import annotations

import os
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
from textual.widgets.data_table import ColumnKey, RowDoesNotExist

from collectors.live.base import Target
from collectors.safe_text import printable
from tui.widgets.message_line import MessageLine

REFRESH_SECONDS = 2.0
ALL_KEY = "all"
CMDLINE_CELLS = 300
"""Command lines are cut here: the column shows the start, and a 100 kB one would cost."""

COLUMNS: tuple[tuple[str, str], ...] = (
    ("pid", "PID"), ("user", "USER"), ("cpu", "CPU%"), ("rss", "RSS"), ("threads", "THR"),
    ("name", "NAME"), ("cmdline", "COMMAND"),
)
SORTABLE = ("cpu", "rss", "threads", "pid", "user", "name", "cmdline")


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
            Text(str(self.pid), justify="right"), Text(self.user), Text(f"{self.cpu:.1f}", justify="right"),
            Text(format_bytes(self.rss), justify="right"), Text(str(self.threads), justify="right"),
            Text(self.name), Text(self.cmdline),
        )


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


ProcessLister = Callable[[], Sequence[ProcessInfo]]
SORT_CHARACTERS = frozenset("<>")


class FilterInput(Input):
    """The filter box: every printable key filters, but `<` and `>`, which sort."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character not in SORT_CHARACTERS and super().check_consume_key(key, character)


class ProcessPicker(Screen[None]):
    """Lists processes; posts `Chosen` with the target to sample (the app starts it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("enter", "choose", "Profile", tooltip="sample the highlighted process"),
        Binding("less_than_sign", "sort(-1)", "Sort ‹", key_display="<", priority=True,
                tooltip="sort by the previous column"),
        Binding("greater_than_sign", "sort(1)", "Sort ›", key_display=">", priority=True,
                tooltip="sort by the next column"),
        Binding("escape", "back", "Clear/back", key_display="Esc", tooltip="clear the filter, then go back"),
        Binding("ctrl+c", "app.quit", "Quit", priority=True, tooltip="quit"),
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
        yield Static("Choose a process to profile (type to filter, Enter to start)", id="picker-title")
        yield FilterInput(placeholder="filter: name, command line or PID", id="filter")
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=False, id="processes")
        yield table
        yield MessageLine(id="picker-message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.table
        for key, label in COLUMNS:
            table.add_column(self._label(key, label), key=key)
        table.add_row(Text("*", justify="right"), Text(""), Text(""), Text(""), Text(""),
                      Text("all processes", style="bold"), Text("every process on the machine"), key=ALL_KEY)
        self.query_one("#filter", Input).focus()
        self.refresh_processes()
        self.set_interval(self.refresh_seconds, self.refresh_processes)

    def _label(self, key: str, label: str) -> Text:
        return Text(label + (" ▼" if key == self.sort_by else ""))

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
        current = table.cursor_row
        keep = table.ordered_rows[current].key.value if 0 <= current < table.row_count else None
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

    def _place_cursor(self, keep: object) -> None:
        table = self.table
        row = 0
        if keep is not None and (self._placed or keep != ALL_KEY):
            try:
                row = table.get_row_index(str(keep))
            except RowDoesNotExist:
                row = 1 if table.row_count > 1 else 0
        elif table.row_count > 1:
            row = 1  # the busiest process, rather than everything
        if self._shown:
            self._placed = True
        table.move_cursor(row=row, animate=False)

    # --- keys --------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_choose()

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
        keep = table.ordered_rows[table.cursor_row].key.value if table.row_count else None
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
        if box.value:
            box.value = ""
        elif len(self.app.screen_stack) > 1 and getattr(self.app, "has_profile", False):
            self.dismiss(None)
