"""Filling the panes: what each one draws from the session's current view, its colours, and
the Time Order range with its density strip.

`PanesControl.load_profile` (re)fills the panes for the session's view and `ensure_loaded`
fills one pane when it is shown (the others wait). A big profile's function totals and the
Sandwich's stack index are computed on workers; live, a pane takes the model an update laid
out on the worker (`tui.live_aggregate`) and, until one has, waits for it rather than build
its tree here.

Comparing, the flame panes are coloured by the change in each call path's share
(`tui.comparison.Comparison` builds the comparison once per view). A big pair (more than
`SYNC_COMPARE_STACKS` unique stacks together) is compared on a worker: with 100k stacks each,
matching the call paths and grouping those the first screen colours took about 0.45 s of the
UI thread, and the base's function shares 0.23 s more at the Sandwich (measured). Until it is
ready the panes are uncoloured and the legend says "comparing…"; a result for a view,
baseline or comparing state that has changed since is dropped.

The session owns the time range; the Time Order graph and the density strip only draw it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from rich.style import Style
from textual.app import App

from collectors.calltree import GroupedTree, TimeOrderTree, cached_stack_index, stack_index
from collectors.diff import FunctionShares, NodeShares
from tui.comparison import Compared, CompareJob
from tui.derived import Derived
from tui.flame_rows import Colorer, FlameInput
from tui.palette import diff_style
from tui.pane_set import PaneSet
from tui.sandwich_rows import SandwichInput
from tui.search_control import SearchControl
from tui.status_control import DIFF_SCALE, StatusControl
from tui.ui_thread import from_thread, start_worker
from tui.view_state import ViewState
from tui.views import FlameModel, FlameNode, grouped_model, time_order_model
from tui.widgets.flame_graph import FlameGraph

SYNC_TOTALS_STACKS = 20_000
"""Up to this many unique stacks, function totals are computed before the first screen;
above it, on a worker thread after it (0.3 s for 100k stacks)."""


class PanesControl:
    """The panes' models, colours and range: built from the session when shown, kept until the view changes."""

    def __init__(self, app: App[Any], ui: PaneSet, state: ViewState, status: StatusControl,
                 search: SearchControl, live_deferred: Callable[[str], bool]) -> None:
        """`live_deferred(pane)`: whether `pane` waits for a live update (which it then asks for)."""
        self.app = app
        self.ui = ui
        self.state = state
        self.status = status
        self.search = search
        self._live_deferred = live_deferred

    def load_profile(self) -> None:
        """(Re)build the panes for the session's current profile; panes not shown wait."""
        self.state.panes.view_changed()
        derived = self.state.session.current
        if self.state.live is not None:
            pass  # rebuilt at every update: only for the Sandwich, when it is shown
        elif len(derived.profile.stacks) <= SYNC_TOTALS_STACKS:
            _ = derived.totals
        else:
            start_worker(self.app, partial(self._compute_totals, derived), "totals")
        self.ensure_loaded(self.ui.active_pane)
        self.search.apply()
        self.status.refresh()

    def ensure_loaded(self, pane: str) -> None:
        """Fill `pane` from the current view, unless it is already (or waits for a live update)."""
        shown = self.state.panes
        if pane in shown.loaded or self._live_deferred(pane):
            return
        shown.loaded.add(pane)
        session = self.state.session
        derived = session.current
        frames = session.group.frames
        if pane == "sandwich":
            self.ui.sandwich.show(SandwichInput(derived.totals, frames, session.format, derived.sandwich,
                                               self.compared_shares()))
            self._index_stacks(derived)
            return
        graph = self.ui.graph(pane)
        live = self.state.live is not None
        tree: object = session.flame_tree if pane == "left-heavy" else derived.time_order
        if not shown.show_tree(pane, tree) and not live:
            if pane == "time-order":
                self.show_range()
            return  # e.g. only the time range changed: Time Order keeps its zoom
        prepared = self.state.live_driver.prepared
        if prepared is not None and prepared.tree is not tree:
            prepared = None
        model = prepared.model if prepared is not None else self._model_of(tree)
        given = FlameInput(model, frames, self.state.search.matches, self._colorer(pane, graph, model))
        carried = shown.take_carried(pane)
        with graph.unreported():  # its range clipped to the new model: not the user's doing
            if prepared is not None and graph.model is not None and graph.pane_state(carried) == prepared.state:
                # live: laid out on the worker for this very zoom and selection
                graph.show_carried(given, prepared.stack, prepared.selected, (prepared.rows, prepared.state.width))
            elif live or carried is not None:
                # live, or recursion flattened: keep the selection and zoom by frame path
                graph.show_kept(given, carried)
            else:
                graph.show(given, keep_range=True)
        if pane == "time-order":
            self.show_range()
            self.feed_density(model)

    def clear_graphs(self) -> None:
        """The flame panes show nothing (another profile is coming)."""
        for graph in self.ui.pane_graphs():
            with graph.unreported():
                graph.show(replace(graph.input, model=None, frames=None))

    @staticmethod
    def _model_of(tree: object) -> FlameModel:
        if isinstance(tree, GroupedTree):
            return grouped_model(tree)
        assert isinstance(tree, TimeOrderTree)
        return time_order_model(tree)

    def _compute_totals(self, derived: Derived) -> None:  # on a worker
        _ = derived.totals
        from_thread(self.app, self._totals_ready, derived)

    def _totals_ready(self, derived: Derived) -> None:
        if derived is self.state.session.current:
            self.search.apply()
            self.status.refresh()

    def _index_stacks(self, derived: Derived) -> None:
        """The Sandwich's stack index (a sandwich then reads only the stacks through its
        function): at once for a small profile, else on a worker (until it is ready, a
        sandwich scans every stack, as before)."""
        weights = derived.stack_weights  # on this thread: the index is valid for this very dict
        if cached_stack_index(derived.profile, weights) is not None:
            return
        if self.state.live is None and len(weights) <= SYNC_TOTALS_STACKS:
            stack_index(derived.profile, weights)
        else:
            start_worker(self.app, partial(stack_index, derived.profile, weights), "stack-index")

    # --- colours: comparing with a baseline ----------------------------------------------

    def _compare(self) -> Compared | None:
        """The shown view against the baseline, or None (not comparing, or not built yet: a
        big one is then started on a worker)."""
        state = self.state
        got = state.comparison.compare(state.session, state.live is not None, state.live_driver.on_worker)
        if isinstance(got, CompareJob):
            start_worker(self.app, partial(self._build_comparison, got), "comparison")
            return None  # uncoloured until `_comparison_ready`
        return got

    def _build_comparison(self, job: CompareJob) -> None:  # on a worker
        compared, shares = job.build()
        from_thread(self.app, self._comparison_ready, job, compared, shares)

    def _comparison_ready(self, job: CompareJob, compared: Compared, shares: FunctionShares) -> None:
        if not self.state.comparison.landed(job, compared, shares, self.state.session.current):
            return
        loaded = self.state.panes.loaded
        for graph in self.ui.pane_graphs():
            if graph.id in loaded and graph.model is not None:
                self.color_graph(graph.id or "", graph)
        if "sandwich" in loaded:
            loaded.discard("sandwich")  # its columns change: filled again (now if shown)
            if self.ui.active_pane == "sandwich":
                self.ensure_loaded("sandwich")
        self.status.refresh()

    def compared_shares(self) -> FunctionShares | None:
        """The base's per-function shares for the Sandwich (only when it is shown)."""
        compared = self._compare()
        return self.state.comparison.function_shares(compared) if compared is not None else None

    def _colorer(self, pane: str, graph: FlameGraph, model: FlameModel | None) -> Colorer | None:
        """Comparing: the colours of `model` in `pane` by how each call path's share changed;
        else None (the palette's)."""
        comparison = self._compare()
        node_shares = self.state.comparison.node_shares
        if comparison is None or model is None or (pane == "left-heavy" and self.state.session.bottom_up):
            node_shares.pop(pane, None)  # bottom-up paths have no counterpart: palette colours
            return None
        shares = node_shares[pane] = NodeShares(comparison.diff, model.parent)

        def colour(node: FlameNode) -> Style:
            return diff_style(shares.change(node).delta, DIFF_SCALE, graph.color_mode)

        return colour

    def color_graph(self, pane: str, graph: FlameGraph) -> None:
        """Colour the model `pane` shows again (the comparison changed or landed)."""
        graph.show(replace(graph.input, colorer=self._colorer(pane, graph, graph.model)))

    def color_flame_panes(self) -> None:
        """Colour both flame panes again (comparing turned on or off: an unchanged tree is
        not set again when its pane is shown)."""
        for graph in self.ui.pane_graphs():
            if graph.model is not None:
                self.color_graph(graph.id or "", graph)

    # --- the time range and the density strip --------------------------------------------

    def show_range(self) -> None:
        """Draw the session's time range on the Time Order graph. The session owns it; the
        graph draws it (and the density strip, watching the graph's) and reports only what the
        user does to it, so this is not reported back (`FlameGraph.unreported`)."""
        graph = self.ui.time_order
        with graph.unreported():
            graph.time_range = self.state.session.timeline_range()

    def watch_time_order(self) -> None:
        """The density strip follows the Time Order graph's view and range."""
        graph = self.ui.time_order

        def viewed(_: int) -> None:
            view = graph.view
            if view is not None:
                self.ui.density.set_view(view.start, view.end)

        def ranged(rng: tuple[float, float] | None) -> None:
            self.ui.density.set_range(rng)

        self.app.watch(graph, "zoom_generation", viewed, init=False)
        self.app.watch(graph, "time_range", ranged, init=False)

    def feed_density(self, model: FlameModel) -> None:
        """The strip's rows: each thread's samples over the Time Order extent (timed only:
        untimed x is cumulative weight, where a density is flat)."""
        session = self.state.session
        timeline = session.current.time_order
        strip = self.ui.density
        shown = self.state.panes
        shown.density_timed = timeline.timed and model.end > model.start
        if shown.density_timed:
            profile = (session.current.timeline or session.current).profile
            origin = profile.times[0] if profile.times else None
            series = session.thread_series()
            prepared = self.state.live_driver.prepared  # live: indexed on the worker, if for these very rows
            indexes = prepared.density if prepared is not None and prepared.series is series else None
            strip.set_series(series, model.start, model.end, origin=origin, indexes=indexes)
            graph = self.ui.time_order
            view = graph.view
            if view is not None:
                strip.set_view(view.start, view.end)
            strip.set_range(graph.time_range)
        self.show_density()

    def show_density(self) -> None:
        self.ui.density.display = self.ui.active_pane == "time-order" and self.state.panes.density_timed
