"""Changing what is looked at: filters, time range, thread, recursion, inversion, kind of time.

`FiltersControl` handles the filter chips (`f` / `d` / `m`, the filter screen, the header's
chip buttons), undo / redo, the Time Order range the user selects, the thread (`t`),
flattened recursion (`r`), the bottom-up flame graph (`v`) and the time kind (`w`). Each
change goes through `Session` (which owns the view) and then `view_changed`, which derives a
big profile's new view on a worker (live: the next update builds it).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import partial
from typing import Any

from textual.app import App

from collectors.safe_text import printable
from tui.chips import Chip, function_chip, module_chip
from tui.live_control import LiveControl
from tui.pane_set import PaneSet
from tui.panes_control import PanesControl
from tui.screens.filters import FilterScreen
from tui.screens.thread_picker import ThreadPicker
from tui.session import Session, ViewKey
from tui.ui_thread import from_thread, start_worker
from tui.view_state import ViewState
from tui.views import PathMap, without_repeats
from tui.widgets.status import RANGE_CHIP


class FiltersControl:
    """Filters, time range, thread, recursion, inversion and time kind: the keys, the messages, the re-derivation."""

    def __init__(self, app: App[Any], ui: PaneSet, state: ViewState, panes: PanesControl, live: LiveControl,
                 show_pane: Callable[[str], None], sync_view_stacks: int) -> None:
        """`show_pane(pane)` brings a pane into view (`v` shows Left Heavy); above
        `sync_view_stacks` unique stacks, a new view is derived on a worker."""
        self.app = app
        self.ui = ui
        self.state = state
        self.panes = panes
        self.live = live
        self._show_pane = show_pane
        self.sync_view_stacks = sync_view_stacks

    def view_changed(self) -> None:
        """Chips, range, profile, kind or inversion changed: rebuild the panes, deriving the
        new view on a worker when the profile is big (see `sync_view_stacks`)."""
        if self.state.live is not None:
            self.live.view_changed()
            return
        s = self.state.session
        big = len(s.base_profile().stacks) > self.sync_view_stacks
        if big and not s.is_ready():
            s.pending = True
            self.panes.status.refresh()  # the chips show at once; the panes follow when ready
            derive = partial(self._derive_view, s, s.key, s.bottom_up, self.ui.active_pane == "time-order")
            start_worker(self.app, derive, "view")
            return
        s.pending = False
        self.panes.load_profile()

    def _derive_view(self, session: Session, key: ViewKey, bottom_up: bool, series: bool) -> None:  # on a worker
        session.prepare(key, bottom_up, series)
        from_thread(self.app, self._view_ready, session, key, bottom_up)

    def _view_ready(self, session: Session, key: ViewKey, bottom_up: bool) -> None:
        s = self.state.session
        if s is not session or key != s.key or bottom_up != s.bottom_up:
            return  # a newer change is on its way
        s.pending = False
        self.panes.load_profile()

    def set_range(self, time_range: tuple[float, float] | None) -> None:
        """The user selected a time range on the Time Order graph (None: cleared it)."""
        if self.state.session.set_range(time_range):
            self._after_filter_change()

    def clear_range(self) -> None:
        self.set_range(None)

    def _after_filter_change(self) -> None:
        self.view_changed()
        if "time-order" in self.state.panes.loaded and not self.state.session.pending:
            self.panes.show_range()  # else when the new view is ready
        self.app.refresh_bindings()

    def add_frame_chip(self, kind: str) -> None:
        """`f` / `d` / `m`: focus on, hide or collapse the module of the frame keys act on."""
        fid = self.ui.selected_frame()
        if fid is None:
            return
        frame = self.state.session.group.frames[fid]
        chip = function_chip(kind, frame) if kind != "collapse" else module_chip(frame)
        if chip is None:
            self.app.notify(f"no file or module is known for {printable(frame.name)}", markup=False)
            return
        if self.state.session.add_chip(chip):
            self._after_filter_change()

    def open_filters(self) -> None:
        if not isinstance(self.app.screen, FilterScreen):
            self.app.push_screen(FilterScreen([c.text for c in self.state.session.view.chips]))

    def _chips_changed(self) -> None:
        self._after_filter_change()
        screen = self.app.screen
        if isinstance(screen, FilterScreen):
            screen.show_chips([c.text for c in self.state.session.view.chips])

    def add_chip(self, chip: Chip) -> None:
        if self.state.session.add_chip(chip):
            self._chips_changed()

    def remove_chip(self, index: int) -> None:
        """Remove chip `index` (`RANGE_CHIP`: the time range)."""
        s = self.state.session
        if s.set_range(None) if index == RANGE_CHIP else s.remove_chip(index):
            self._chips_changed()

    def undo(self) -> None:
        if self.state.session.undo():
            self._chips_changed()
        else:
            self.app.notify("nothing to undo", markup=False)

    def redo(self) -> None:
        if self.state.session.redo():
            self._chips_changed()
        else:
            self.app.notify("nothing to redo", markup=False)

    def toggle_bottom_up(self) -> None:
        self.state.session.bottom_up = not self.state.session.bottom_up
        self.view_changed()
        self._show_pane("left-heavy")

    def cycle_time_kind(self) -> None:
        s = self.state.session
        if s.cycle_time_kind() is not None:
            self.view_changed()
            self.app.refresh_bindings()
            self.app.notify(f"showing {s.kind_label()}", markup=False)

    def pick_thread(self) -> None:
        s = self.state.session
        if not s.has_threads:
            self.app.notify(f"{s.profile_label(0) or 'this profile'} is the only thread here: nothing to choose",
                            markup=False)
            return
        self.app.push_screen(ThreadPicker(s.choices(), s.index), self._thread_chosen)

    def _thread_chosen(self, index: int | None) -> None:
        if index is not None and index != self.state.session.index:
            self.select_profile(index)

    def select_profile(self, index: int) -> None:
        """Show profile `index` of the group (or MERGED)."""
        self.state.session.index = index
        self.view_changed()
        gc.freeze()

    def flatten_recursion(self) -> None:
        s = self.state.session
        s.flattened = not s.flattened
        same: PathMap = list
        self.state.panes.carry(without_repeats if s.flattened else same)
        self.view_changed()
        self.app.notify("recursion flattened" if s.flattened else "recursion shown", markup=False)
