"""The profile screen's widgets as the controls reach them, and which pane keys act on.

The controls (`tui.status_control`, `tui.search_control`, …) draw through a `PaneSet`
rather than query the app: it finds each pane and line by its id on the app's first screen
(the one `BpfscopeApp.compose` fills, under any dialog), and answers which pane is shown and
which flame graph the keys act on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import Static

from tui.widgets.density import DensityStrip
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.live_status import LiveStatus
from tui.widgets.sandwich import SandwichView
from tui.widgets.search_bar import SearchBar
from tui.widgets.status import DetailsLine, ProfileHeader

PANES = ("time-order", "left-heavy", "sandwich")
"""The panes' ids, in the order of their keys (1, 2, 3)."""


class PaneSet:
    """The panes and lines of the profile screen; `active_pane` tells which pane is shown."""

    def __init__(self, app: App[Any], active_pane: Callable[[], str]) -> None:
        self._app = app
        self._active_pane = active_pane

    @property
    def active_pane(self) -> str:
        return self._active_pane()

    @property
    def screen(self) -> Screen[Any]:
        """The screen in view (a dialog's, over the profile screen)."""
        return self._app.screen

    @property
    def time_order(self) -> FlameGraph:
        return self._app.query_one("#time-order", FlameGraph)

    @property
    def left_heavy(self) -> FlameGraph:
        return self._app.query_one("#left-heavy", FlameGraph)

    def graph(self, pane: str) -> FlameGraph:
        """The flame graph of `pane` (`time-order` or `left-heavy`)."""
        return self.time_order if pane == "time-order" else self.left_heavy

    def pane_graphs(self) -> list[FlameGraph]:
        """The two flame panes, Time Order and Left Heavy."""
        return [self.time_order, self.left_heavy]

    def every_graph(self) -> list[FlameGraph]:
        """Every flame graph: the two panes and the Sandwich's callers and callees."""
        return list(self._app.query(FlameGraph))

    @property
    def sandwich(self) -> SandwichView:
        return self._app.query_one("#sandwich", SandwichView)

    @property
    def search_bar(self) -> SearchBar:
        return self._app.query_one("#search", SearchBar)

    @property
    def density(self) -> DensityStrip:
        return self._app.query_one("#density", DensityStrip)

    @property
    def header(self) -> ProfileHeader:
        return self._app.query_one(ProfileHeader)

    @property
    def details(self) -> DetailsLine:
        return self._app.query_one(DetailsLine)

    @property
    def legend(self) -> Static:
        return self._app.query_one("#diff-legend", Static)

    def live_status(self) -> LiveStatus | None:
        """The live status line; None once the app is closing."""
        stack = self._app.screen_stack
        found = stack[0].query(LiveStatus) if stack else None
        return found.first() if found else None

    @property
    def current_graph(self) -> FlameGraph | None:
        """The graph keys act on: the focused one, else the active pane's."""
        focused = self._app.focused
        if isinstance(focused, FlameGraph):
            return focused
        pane = self.active_pane
        return self.graph(pane) if pane != "sandwich" else None

    def focus_pane(self) -> None:
        """Focus the shown pane (the Sandwich: its table)."""
        if self.active_pane == "sandwich":
            self.sandwich.table.focus()
        else:
            self.graph(self.active_pane).focus()

    def selected_frame(self) -> int | None:
        """The frame keys act on: the selected one of the graph in use, else the Sandwich's function."""
        graph = self.current_graph
        if graph is not None and graph.selected is not None:
            return graph.selected.frame
        return self.sandwich.frame if self.active_pane == "sandwich" else None
