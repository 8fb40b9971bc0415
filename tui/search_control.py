"""Searching frame names: the prompt's messages, the matches, and stepping through them.

A mixin of `BpfscopeApp` (see `tui.app_host`): `/` opens the search bar, each change of
its pattern recomputes the matching frames and highlights them in every flame pane, and
`n` / `N` zoom to the next / previous match (in Sandwich: select the next function).
Kept apart from the app, which only routes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from textual.actions import SkipAction
from textual.widgets import Input

from tui.session import matching_frames, name_matcher
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
        self.search_error = None
        try:
            test = name_matcher(bar.pattern, bar.regex)
        except re.error as e:
            test = None
            self.search_error = f"bad regex: {e.msg}"
        if test is None:
            self.matches = None
        else:
            derived = self.session.current
            among = set(derived.totals.total) if derived.totals_ready else None
            self.matches = frozenset(matching_frames(self.session.group, among, test))
        for graph in self.flame_graphs():
            graph.set_matches(self.matches)
        self._show_match_count()

    def _show_match_count(self) -> None:
        """The prompt's count: what `n` steps through in the pane keys act on (frames in a
        flame pane, functions in the Sandwich's table)."""
        matches = self.matches
        places = None
        uncounted = False
        graph = self.current_graph
        if matches and graph is not None and graph.model is not None:
            places = count_matches(graph.model, matches.__contains__)
            uncounted = places is None  # a huge tree: say what is known, functions
        self.search_bar.set_count(None if matches is None else len(matches), self.search_error, places, uncounted)

    def _clear_search(self) -> None:
        bar = self.search_bar
        with bar.input.prevent(bar.input.Changed):
            bar.input.value = ""
        bar.close()
        self._apply_search()

    @property
    def match_count(self) -> int | None:
        return None if self.matches is None else len(self.matches)

    def action_search(self) -> None:
        # `/` is a priority binding: over other screens or in a text field it is a character.
        if not self.screen.query("#panes") or isinstance(self.focused, Input):
            raise SkipAction()
        self.search_bar.open()

    def _step_match(self, backwards: bool) -> None:
        matches = self.matches
        if not matches:
            return
        if self.active_pane == "sandwich" and not isinstance(self.focused, FlameGraph):
            view = self.sandwich
            order = [f for f in view.order if f in matches]
            if not order:
                return
            cur = view.frame
            pos = view.order.index(cur) if cur in view.order else -1
            ranked = [(view.order.index(f), f) for f in order]
            if backwards:
                before = [f for i, f in ranked if i < pos]
                view.show_function(before[-1] if before else order[-1])
            else:
                after = [f for i, f in ranked if i > pos]
                view.show_function(after[0] if after else order[0])
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
