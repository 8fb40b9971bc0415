"""Comparing with a baseline: `bpfscope diff BASE NEW`'s colours on and off, and live `b` / `B`.

`ComparisonControl` drives the `tui.comparison.Comparison` feature object (in the view
state): `b` marks the live baseline, `B` turns comparing on and off (live: the panes then
show the samples since the mark, coloured against those before it). The colours themselves
are the panes' (`tui.panes_control`), the legend and the change in the details line the
status lines' (`tui.status_control`).
"""

from __future__ import annotations

from typing import Any

from textual.app import App

from tui.live_control import LiveControl
from tui.panes_control import PanesControl
from tui.view_state import ViewState


class ComparisonControl:
    """`b` / `B` and what follows a change of comparison: every pane again."""

    def __init__(self, app: App[Any], state: ViewState, panes: PanesControl, live: LiveControl) -> None:
        self.app = app
        self.state = state
        self.panes = panes
        self.live = live

    def changed(self) -> None:
        """Comparing turned on or off, or the baseline moved, or another profile: every pane again."""
        self.state.comparison.changed()
        if self.state.live is not None:
            self.live.view_changed()  # built with the comparison, as any live update
        else:
            self.panes.load_profile()
        self.panes.color_flame_panes()
        self.app.refresh_bindings()

    def mark_baseline(self) -> None:
        """Live: the samples so far (those the collector holds included) become the baseline;
        the mark is made by the next update (at once while the profile is small)."""
        if self.state.live is None:
            return
        self.state.live_driver.mark_wanted = True
        self.live.refresh_live_view(force=True)

    def toggle(self) -> None:
        """`B`: a diff's colours on or off; live, the samples since the mark or every sample."""
        state = self.state
        c = state.comparison
        if state.live is None:
            if c.baseline_group is not None:
                c.comparing = not c.comparing
                self.changed()
            return
        if c.live_baseline is None:
            self.app.notify("mark a baseline first (b)", markup=False)
            return
        c.comparing = not c.comparing
        if c.comparing:
            self.live.show_since_baseline()
        else:
            every = c.every_sample(state.session)
            if every is not None:
                state.session = every
        self.changed()
