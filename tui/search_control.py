"""Searching frame names: the prompt's messages, the matches, and stepping through them.

A mixin of `BpfscopeApp` (see `tui.app_host`): `/` opens the search bar, each change of
its pattern recomputes the matching frames and highlights them in every flame pane, and
`n` / `N` zoom to the next / previous match (in Sandwich: select the next function).
Kept apart from the app, which only routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.actions import SkipAction
from textual.widgets import Input

from tui.views import count_matches, next_match
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.search_bar import SearchBar

if TYPE_CHECKING:
    from tui.app_host import AppHost as _Host
else:
    _Host = object


class SearchMixin(_Host):
    """Search: the matches of the prompt's pattern, highlighted and stepped through."""

    def on_search_bar_changed(self, event: SearchBar.Changed) -> None:
        self._apply_search()

    def on_search_bar_done(self, event: SearchBar.Done) -> None:
        if event.cleared:
            self._clear_search()
        self._focus_pane()

    def _apply_search(self) -> None:
        bar = self.search_bar
        matches = self.search.apply(self.session, bar.pattern, bar.regex)
        for graph in self.flame_graphs():
            graph.set_matches(matches)
        self._show_match_count()

    def _show_match_count(self) -> None:
        """The prompt's count: what `n` steps through in the pane keys act on (frames in a
        flame pane, functions in the Sandwich's table)."""
        matches = self.search.matches
        places = None
        uncounted = False
        graph = self.current_graph
        if matches and graph is not None and graph.model is not None:
            places = count_matches(graph.model, matches.__contains__)
            uncounted = places is None  # a huge tree: say what is known, functions
        self.search_bar.set_count(self.search.count, self.search.error, places, uncounted)

    def _clear_search(self) -> None:
        bar = self.search_bar
        with bar.input.prevent(bar.input.Changed):
            bar.input.value = ""
        bar.close()
        self._apply_search()

    @property
    def match_count(self) -> int | None:
        return self.search.count

    @property
    def search_error(self) -> str | None:
        return self.search.error

    def action_search(self) -> None:
        # `/` is a priority binding: over other screens or in a text field it is a character.
        if not self.screen.query("#panes") or isinstance(self.focused, Input):
            raise SkipAction()
        self.search_bar.open()

    def _step_match(self, backwards: bool) -> None:
        matches = self.search.matches
        if not matches:
            return
        if self.active_pane == "sandwich" and not isinstance(self.focused, FlameGraph):
            view = self.sandwich
            fid = self.search.next_function(view.order, view.frame, backwards)
            if fid is not None:
                view.show_function(fid)
            return
        graph = self.current_graph
        if graph is None or graph.model is None:
            return
        node = next_match(graph.model, graph.selected, matches.__contains__, backwards)
        if node is not None:
            graph.zoom_to(node)

    def action_next_match(self) -> None:
        self._step_match(False)

    def action_previous_match(self) -> None:
        self._step_match(True)
