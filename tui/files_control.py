"""Files: exporting the shown profile and opening another one in its place.

`e` saves the group (speedscope JSON, folded stacks or pprof) through the export dialog;
`o` reads a file on a worker (a big one takes seconds) and shows it in place of the current
profile, a bad file being one notification.
"""

from __future__ import annotations

import dataclasses
import gc
import os
from collections.abc import Callable
from functools import partial
from typing import Any

from textual.app import App

from collectors.formats.output import save_profile
from collectors.profile import ProfileGroup
from collectors.safe_text import printable
from tui.comparison import Comparison
from tui.pane_set import PaneSet
from tui.screens.export import ExportDialog
from tui.screens.open_file import OpenFailed, OpenFileDialog, read_profile_file
from tui.session import Session
from tui.ui_thread import from_thread, start_worker
from tui.view_state import ViewState


class FilesControl:
    """Export (`e`) and open (`o`): the dialogs, the worker and the swap of the shown profile."""

    def __init__(self, app: App[Any], ui: PaneSet, state: ViewState, clear_graphs: Callable[[], None],
                 reload: Callable[[], None]) -> None:
        """`clear_graphs()` empties the flame panes; `reload()` fills every pane again from the state."""
        self.app = app
        self.ui = ui
        self.state = state
        self._clear_graphs = clear_graphs
        self._reload = reload

    def export(self) -> None:
        # Live: every sample so far, even paused (a copy: sampling goes on meanwhile).
        aggregator = self.state.live_driver.aggregator
        group = aggregator.group_now() if aggregator is not None else self.state.session.group

        def save(path: str, fmt: str) -> object:
            # The file names itself: opened again, its header shows this name, not the old one.
            return save_profile(dataclasses.replace(group, name=os.path.basename(path)), path, fmt)

        self.app.push_screen(ExportDialog(group.name, save), self._exported)

    def _exported(self, path: str | None) -> None:
        if path is not None:
            self.app.notify(f"wrote {printable(os.path.abspath(path))}", markup=False)

    def open(self) -> None:
        self.app.push_screen(OpenFileDialog(), self._open_chosen)

    def _open_chosen(self, path: str | None) -> None:
        if path is not None:
            start_worker(self.app, partial(self._read_file, path), "open-file")

    def _read_file(self, path: str) -> None:  # on a worker: a big file takes seconds
        try:
            group = read_profile_file(path)
        except OpenFailed as e:
            from_thread(self.app, self._open_failed, str(e))
            return
        from_thread(self.app, self._file_opened, group, path)

    def _open_failed(self, message: str) -> None:
        self.app.notify(message, title="cannot open", severity="error", timeout=15, markup=False)

    def _file_opened(self, group: ProfileGroup, path: str) -> None:
        """Show `group` in place of the current profile (a finished live run's included)."""
        state = self.state
        if state.live is not None and not state.live.ended:
            self.app.notify("stop sampling (x) before opening a file", severity="warning", markup=False)
            return
        state.live_driver.end()
        status = self.ui.live_status()
        if status is not None:
            status.remove_class("-live")  # a file: no live status line
        state.has_profile = True
        state.comparison = Comparison(None)
        state.session = Session(group)
        self._clear_graphs()
        self._reload()  # every pane again, without comparison colours
        gc.collect()
        gc.freeze()
        self.app.notify(f"opened {printable(path)}", markup=False)
