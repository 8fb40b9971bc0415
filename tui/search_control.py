"""Searching frame names: the prompt's messages, the matches, and stepping through them.

`/` opens the search bar; each change of its pattern recomputes the matching frames
(`tui.search.Search`, in the view state) and highlights them in every flame pane, and
`n` / `N` zoom to the next / previous match (in Sandwich: select the next function).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.actions import SkipAction
from textual.app import App
from textual.widgets import Input

from tui.pane_set import PaneSet
from tui.view_state import ViewState
from tui.views import count_matches, next_match
from tui.widgets.flame_graph import FlameGraph


class SearchControl:
    """Search: the matches of the prompt's pattern, highlighted and stepped through."""

    def __init__(self, app: App[Any], ui: PaneSet, state: ViewState) -> None:
        self.app = app
        self.ui = ui
        self.state = state

    def apply(self) -> None:
        """The prompt's pattern, matched again (it changed, or the view did) and highlighted."""
        bar = self.ui.search_bar
        matches = self.state.search.apply(self.state.session, bar.pattern, bar.regex)
        for graph in self.ui.every_graph():
            graph.show(replace(graph.input, matches=matches))
        self.show_match_count()

    def show_match_count(self) -> None:
        """The prompt's count: what `n` steps through in the pane keys act on (frames in a
        flame pane, functions in the Sandwich's table)."""
        search = self.state.search
        matches = search.matches
        places = None
        uncounted = False
        graph = self.ui.current_graph
        if matches and graph is not None and graph.model is not None:
            places = count_matches(graph.model, matches.__contains__)
            uncounted = places is None  # a huge tree: say what is known, functions
        self.ui.search_bar.set_count(search.count, search.error, places, uncounted)

    @property
    def active(self) -> bool:
        """A search is shown: a pattern typed or matches highlighted."""
        return self.state.search.matches is not None or bool(self.ui.search_bar.pattern)

    def clear(self) -> None:
        bar = self.ui.search_bar
        with bar.input.prevent(bar.input.Changed):
            bar.input.value = ""
        bar.close()
        self.apply()

    def done(self, cleared: bool) -> None:
        """The prompt closed (Enter keeps the search, Esc clears it): back to the pane."""
        if cleared:
            self.clear()
        self.ui.focus_pane()

    def open(self) -> None:
        # `/` is a priority binding: over other screens or in a text field it is a character.
        if not self.app.screen.query("#panes") or isinstance(self.app.focused, Input):
            raise SkipAction()
        self.ui.search_bar.open()

    def step(self, backwards: bool) -> None:
        """`n` / `N`: zoom to the next / previous match (the Sandwich: select the next function)."""
        matches = self.state.search.matches
        if not matches:
            return
        if self.ui.active_pane == "sandwich" and not isinstance(self.app.focused, FlameGraph):
            view = self.ui.sandwich
            fid = self.state.search.next_function(view.order, view.frame, backwards)
            if fid is not None:
                view.show_function(fid)
            return
        graph = self.ui.current_graph
        if graph is None or graph.model is None:
            return
        node = next_match(graph.model, graph.selected, matches.__contains__, backwards)
        if node is not None:
            graph.zoom_to(node)
