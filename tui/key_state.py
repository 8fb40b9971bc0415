"""What the global keys' availability reads (`tui.keys.KeyState`), from the view state and the panes."""

from __future__ import annotations

from tui.pane_set import PaneSet
from tui.screens.process_picker import ProcessPicker
from tui.view_state import ViewState


class AppKeyState:
    """The facts `tui.keys`' predicates read, for the app's `check_action`."""

    def __init__(self, ui: PaneSet, state: ViewState, live_mode: bool) -> None:
        self._ui = ui
        self._state = state
        self._live_mode = live_mode

    @property
    def active_pane(self) -> str:
        return self._ui.active_pane

    @property
    def picking_process(self) -> bool:
        return isinstance(self._ui.screen, ProcessPicker)

    @property
    def live_view(self) -> bool:
        return self._state.live is not None

    @property
    def sampling(self) -> bool:
        live = self._state.live
        return live is not None and not live.ended

    @property
    def paused(self) -> bool:
        return self._state.paused

    @property
    def live_mode(self) -> bool:
        return self._live_mode

    @property
    def comparing(self) -> bool:
        return self._state.comparison.comparing

    @property
    def has_baseline(self) -> bool:
        return self._state.comparison.has_baseline

    @property
    def has_time_kinds(self) -> bool:
        return bool(self._state.session.time_kinds())

    @property
    def has_time_range(self) -> bool:
        return self._state.session.view.time_range is not None
