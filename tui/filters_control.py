"""The view's filters, time range, inversion and kind of time, and the density strip.

A mixin of `BpfscopeApp` (see `tui.app_host`): the filter chips (`f` / `d` / `m`, the
filter screen, the header's chip buttons), undo / redo, the Time Order range and its
density strip, the bottom-up flame graph (`v`) and the time kind (`w`). Each change goes
through `Session` and then `_view_changed`, which derives a big profile's new view on a
worker. Kept apart from the app, which only routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from collectors.safe_text import printable
from tui.chips import function_chip, module_chip
from tui.screens.filters import FilterScreen
from tui.session import ViewKey
from tui.views import FlameModel
from tui.widgets.density import DensityStrip
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.status import RANGE_CHIP, ProfileHeader

if TYPE_CHECKING:
    from tui.app_host import AppHost as _Host
else:
    _Host = object


class FiltersMixin(_Host):
    """Filters, time range, inversion and time kind: the actions, the messages, the re-derivation."""

    def _view_changed(self) -> None:
        """Chips, range, profile, kind or inversion changed: rebuild the panes, deriving the
        new view on a worker when the profile is big (see `sync_view_stacks`)."""
        if self.live is not None:
            self._live_view_changed()
            return
        s = self.session
        big = len(s.base_profile().stacks) > self.sync_view_stacks
        if big and not s.is_ready():
            s.pending = True
            self._refresh_status()  # the chips show at once; the panes follow when ready
            self._derive_view(s.key, s.bottom_up, self.active_pane == "time-order")
            return
        s.pending = False
        self._load_profile()

    @work(thread=True, exclusive=True, group="view")
    def _derive_view(self, key: ViewKey, bottom_up: bool, series: bool) -> None:
        self.session.prepare(key, bottom_up, series)
        self._from_thread(self._view_ready, key, bottom_up)

    def _view_ready(self, key: ViewKey, bottom_up: bool) -> None:
        s = self.session
        if key != s.key or bottom_up != s.bottom_up:
            return  # a newer change is on its way
        s.pending = False
        self._load_profile()

    def _show_range(self) -> None:
        """Draw the session's time range on the Time Order graph. The session owns it; the
        graph draws it (and the density strip, watching the graph's) and reports only what the
        user does to it, so this is not reported back (`FlameGraph.unreported`)."""
        graph = self.time_order
        with graph.unreported():
            graph.time_range = self.session.timeline_range()

    def on_flame_graph_range_selected(self, event: FlameGraph.RangeSelected) -> None:
        if event.graph is self.time_order and self.session.set_range((event.start, event.end)):
            self._after_filter_change()

    def on_flame_graph_range_cleared(self, event: FlameGraph.RangeCleared) -> None:
        if event.graph is self.time_order and self.session.set_range(None):
            self._after_filter_change()

    @property
    def density(self) -> DensityStrip:
        return self.query_one("#density", DensityStrip)

    def _watch_time_order(self) -> None:
        graph = self.time_order

        def viewed(_: int) -> None:
            view = graph.view
            if view is not None:
                self.density.set_view(view.start, view.end)

        def ranged(rng: tuple[float, float] | None) -> None:
            self.density.set_range(rng)

        self.watch(graph, "zoom_generation", viewed, init=False)
        self.watch(graph, "time_range", ranged, init=False)

    def _feed_density(self, model: FlameModel) -> None:
        """The strip's rows: each thread's samples over the Time Order extent (timed only:
        untimed x is cumulative weight, where a density is flat)."""
        timeline = self.session.current.time_order
        strip = self.density
        self.panes.density_timed = timeline.timed and model.end > model.start
        if self.panes.density_timed:
            profile = (self.session.current.timeline or self.session.current).profile
            origin = profile.times[0] if profile.times else None
            series = self.session.thread_series()
            prepared = self.live_driver.prepared  # live: indexed on the worker, if for these very rows
            indexes = prepared.density if prepared is not None and prepared.series is series else None
            strip.set_series(series, model.start, model.end, origin=origin, indexes=indexes)
            view = self.time_order.view
            if view is not None:
                strip.set_view(view.start, view.end)
            strip.set_range(self.time_order.time_range)
        self._show_density()

    def _show_density(self) -> None:
        self.density.display = self.active_pane == "time-order" and self.panes.density_timed

    def on_density_strip_bin_clicked(self, event: DensityStrip.BinClicked) -> None:
        # The user's doing, as a drag on the graph: the graph draws it at once and reports it.
        self.time_order.time_range = (event.start, event.end)

    def action_clear_range(self) -> None:
        if self.session.set_range(None):
            self._after_filter_change()

    def _after_filter_change(self) -> None:
        self._view_changed()
        if "time-order" in self.panes.loaded and not self.session.pending:
            self._show_range()  # else when the new view is ready
        self.refresh_bindings()

    def _selected_frame(self) -> int | None:
        graph = self.current_graph
        if graph is not None and graph.selected is not None:
            return graph.selected.frame
        if self.active_pane == "sandwich":
            return self.sandwich.frame
        return None

    def _add_frame_chip(self, kind: str) -> None:
        fid = self._selected_frame()
        if fid is None:
            return
        frame = self.session.group.frames[fid]
        chip = function_chip(kind, frame) if kind != "collapse" else module_chip(frame)
        if chip is None:
            self.notify(f"no file or module is known for {printable(frame.name)}", markup=False)
            return
        if self.session.add_chip(chip):
            self._after_filter_change()

    def action_focus_function(self) -> None:
        self._add_frame_chip("focus")

    def action_hide_function(self) -> None:
        self._add_frame_chip("hide")

    def action_collapse_module(self) -> None:
        self._add_frame_chip("collapse")

    def action_filters(self) -> None:
        if not isinstance(self.screen, FilterScreen):
            self.push_screen(FilterScreen([c.text for c in self.session.view.chips]))

    def _chips_changed(self) -> None:
        self._after_filter_change()
        if isinstance(self.screen, FilterScreen):
            self.screen.show_chips([c.text for c in self.session.view.chips])

    def on_filter_screen_added(self, event: FilterScreen.Added) -> None:
        if self.session.add_chip(event.chip):
            self._chips_changed()

    def on_filter_screen_removed(self, event: FilterScreen.Removed) -> None:
        if self.session.remove_chip(event.index):
            self._chips_changed()

    def on_profile_header_chip_removed(self, event: ProfileHeader.ChipRemoved) -> None:
        s = self.session
        if s.set_range(None) if event.index == RANGE_CHIP else s.remove_chip(event.index):
            self._chips_changed()

    def action_undo(self) -> None:
        if self.session.undo():
            self._chips_changed()
        else:
            self.notify("nothing to undo", markup=False)

    def action_redo(self) -> None:
        if self.session.redo():
            self._chips_changed()
        else:
            self.notify("nothing to redo", markup=False)

    def action_toggle_bottom_up(self) -> None:
        self.session.bottom_up = not self.session.bottom_up
        self._view_changed()
        self.active_pane = "left-heavy"

    def action_cycle_time_kind(self) -> None:
        kind = self.session.cycle_time_kind()
        if kind is not None:
            self._view_changed()
            self.refresh_bindings()
            self.notify(f"showing {self.session.kind_label()}", markup=False)
