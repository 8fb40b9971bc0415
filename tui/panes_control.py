"""Loading the panes: what each one draws, from the session's current view.

A mixin of `BpfscopeApp` (see `tui.app_host`): `_load_profile` (re)builds the panes for
the session's view and `_ensure_loaded` fills one pane when it is shown (the others wait).
A big profile's function totals and the Sandwich's stack index are computed on workers;
live, a pane takes the model an update laid out on the worker (`tui.live_aggregate`) and,
until one has, waits for it rather than build its tree here. Kept apart from the app,
which only routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from collectors.calltree import GroupedTree, TimeOrderTree, cached_stack_index, stack_index
from collectors.profile import Profile
from tui.derived import Derived
from tui.views import FlameModel, grouped_model, time_order_model

if TYPE_CHECKING:
    from tui.app_host import AppHost as _Host
else:
    _Host = object

SYNC_TOTALS_STACKS = 20_000
"""Up to this many unique stacks, function totals are computed before the first screen;
above it, on a worker thread after it (0.3 s for 100k stacks)."""


class PanesMixin(_Host):
    """The panes' models: built from the session when shown, kept until the view changes."""

    def _load_profile(self) -> None:
        """(Re)build the panes for the session's current profile; panes not shown wait."""
        self.panes.view_changed()
        derived = self.session.current
        if self.live is not None:
            pass  # rebuilt at every update: only for the Sandwich, when it is shown
        elif len(derived.profile.stacks) <= SYNC_TOTALS_STACKS:
            _ = derived.totals
        else:
            self._compute_totals()
        self._ensure_loaded(self.active_pane)
        self._apply_search()
        self._refresh_status()

    def _ensure_loaded(self, pane: str) -> None:
        if pane in self.panes.loaded or self._live_deferred(pane):
            return
        self.panes.loaded.add(pane)
        derived = self.session.current
        frames = self.session.group.frames
        if pane in ("left-heavy", "time-order"):
            graph = self.left_heavy if pane == "left-heavy" else self.time_order
            tree: object = self.session.flame_tree if pane == "left-heavy" else derived.time_order
            if not self.panes.show_tree(pane, tree) and self.live is None:
                if pane == "time-order":
                    self._show_range()
                return  # e.g. only the time range changed: Time Order keeps its zoom
            prepared = self.live_driver.prepared
            if prepared is not None and prepared.tree is not tree:
                prepared = None
            model = prepared.model if prepared is not None else self._model_of(tree)
            carried = self.panes.take_carried(pane)
            with graph.unreported():  # its range clipped to the new model: not the user's doing
                if prepared is not None and graph.model is not None and graph.pane_state(carried) == prepared.state:
                    # live: laid out on the worker for this very zoom and selection
                    graph.show_carried(model, frames, prepared.stack, prepared.selected,
                                       (prepared.rows, prepared.state.width))
                elif self.live is not None or carried is not None:
                    # live, or recursion flattened: keep the selection and zoom by frame path
                    graph.update_model(model, frames, carried)
                else:
                    graph.set_model(model, frames, keep_range=True)
            self._color_graph(pane, graph)
            if pane == "time-order":
                self._show_range()
                self._feed_density(model)
        else:
            self.sandwich.set_data(derived.totals, frames, self.session.format, derived.sandwich,
                                   self._compared_shares())
            self._index_stacks(derived)

    @staticmethod
    def _model_of(tree: object) -> FlameModel:
        if isinstance(tree, GroupedTree):
            return grouped_model(tree)
        assert isinstance(tree, TimeOrderTree)
        return time_order_model(tree)

    @work(thread=True, exclusive=True, group="totals")
    def _compute_totals(self) -> None:
        derived = self.session.current
        _ = derived.totals
        self.call_from_thread(self._totals_ready, derived)

    def _totals_ready(self, derived: object) -> None:
        if derived is self.session.current:
            self._apply_search()
            self._refresh_status()

    def _index_stacks(self, derived: Derived) -> None:
        """The Sandwich's stack index (a sandwich then reads only the stacks through its
        function): at once for a small profile, else on a worker (until it is ready, a
        sandwich scans every stack, as before)."""
        weights = derived.stack_weights  # on this thread: the index is valid for this very dict
        if cached_stack_index(derived.profile, weights) is not None:
            return
        if self.live is None and len(weights) <= SYNC_TOTALS_STACKS:
            stack_index(derived.profile, weights)
        else:
            self._build_stack_index(derived.profile, weights)

    @work(thread=True, exclusive=True, group="stack-index")
    def _build_stack_index(self, profile: Profile, weights: dict[int, float]) -> None:
        stack_index(profile, weights)
