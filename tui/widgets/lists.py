"""The lists of the app (tables, option lists, the help's scroll view) with `j` / `k` moving
as the arrows do, as in the flame panes: one way to move everywhere."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, OptionList

CellType = TypeVar("CellType")

VIM_ROWS: list[BindingType] = [
    Binding("j", "cursor_down", "Down", show=False),
    Binding("k", "cursor_up", "Up", show=False),
]


class KeyedTable(DataTable[CellType]):
    """A `DataTable` where `j` / `k` move the cursor down / up."""

    BINDINGS: ClassVar[list[BindingType]] = VIM_ROWS


class KeyedOptionList(OptionList):
    """An `OptionList` where `j` / `k` move the highlight down / up."""

    BINDINGS: ClassVar[list[BindingType]] = VIM_ROWS


class KeyedScroll(VerticalScroll):
    """A `VerticalScroll` where `j` / `k` scroll down / up a line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
    ]
