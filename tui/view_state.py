"""What the profile screen shows, owned in one place: the session and the feature objects.

Textual-free. The app makes one `ViewState`; each control (`tui.status_control`,
`tui.search_control`, `tui.panes_control`, `tui.filters_control`, `tui.compare`,
`tui.live_control`, `tui.files_control`) is handed it and reads or changes only its own
part, so a piece of state has one owner: the session (what is looked at; replaced when a file
is opened, a live run starts or `B` switches to the samples since the mark), the comparison
with a baseline, the search, which panes are filled, and the live run's driver.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.comparison import Comparison
from tui.live import LiveRun
from tui.live_driver import LiveDriver
from tui.search import Search
from tui.session import Session
from tui.shown_panes import ShownPanes


@dataclass
class ViewState:
    """The session shown and the feature objects over it."""

    session: Session
    """What is looked at and the trees derived from it (`tui.session`)."""
    comparison: Comparison
    """The baseline and the comparison of the shown view with it (`tui.comparison`)."""
    live_driver: LiveDriver
    """Live: the run and when its updates are built, where (`tui.live_driver`)."""
    search: Search
    """The prompt's pattern and the frames it matches (`tui.search`)."""
    panes: ShownPanes
    """What each pane shows (`tui.shown_panes`)."""
    has_profile: bool
    """A profile was opened or a live run started (else the panes show nothing yet)."""

    @property
    def live(self) -> LiveRun | None:
        """The live run shown (sampling or ended); None for a file."""
        return self.live_driver.run

    @property
    def paused(self) -> bool:
        return self.live_driver.paused
