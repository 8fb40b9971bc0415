"""Files: exporting the shown profile and opening another one in its place.

A mixin of `BpfscopeApp` (see `tui.app_host`): `e` saves the group (speedscope JSON or
folded stacks) through the export dialog; `o` reads a file on a worker (a big one takes
seconds) and shows it in place of the current profile, a bad file being one
notification. Kept apart from the app, which only routes.
"""

from __future__ import annotations

import dataclasses
import gc
import os
from typing import TYPE_CHECKING

from textual import work

from collectors.formats.output import save_profile
from collectors.profile import ProfileGroup
from collectors.safe_text import printable
from tui.comparison import Comparison
from tui.screens.export import ExportDialog
from tui.screens.open_file import OpenFailed, OpenFileDialog, read_profile_file
from tui.session import Session
from tui.widgets.live_status import LiveStatus

if TYPE_CHECKING:
    from tui.app_host import AppHost as _Host
else:
    _Host = object


class FilesMixin(_Host):
    """Export (`e`) and open (`o`): the dialogs, the worker and the swap of the shown profile."""

    def action_export(self) -> None:
        # Live: every sample so far, even paused (a copy: sampling goes on meanwhile).
        aggregator = self.live_driver.aggregator
        group = aggregator.group_now() if aggregator is not None else self.session.group

        def save(path: str, fmt: str) -> object:
            # The file names itself: opened again, its header shows this name, not the old one.
            return save_profile(dataclasses.replace(group, name=os.path.basename(path)), path, fmt)

        self.push_screen(ExportDialog(group.name, save), self._exported)

    def _exported(self, path: str | None) -> None:
        if path is not None:
            self.notify(f"wrote {printable(os.path.abspath(path))}", markup=False)

    def action_open_file(self) -> None:
        self.push_screen(OpenFileDialog(), self._open_chosen)

    def _open_chosen(self, path: str | None) -> None:
        if path is not None:
            self._read_file(path)

    @work(thread=True, exclusive=True, group="open-file")
    def _read_file(self, path: str) -> None:
        """Load on a worker (a big file takes seconds); a bad file becomes one notification."""
        try:
            group = read_profile_file(path)
        except OpenFailed as e:
            self._from_thread(self._open_failed, str(e))
            return
        self._from_thread(self._file_opened, group, path)

    def _open_failed(self, message: str) -> None:
        self.notify(message, title="cannot open", severity="error", timeout=15, markup=False)

    def _file_opened(self, group: ProfileGroup, path: str) -> None:
        """Show `group` in place of the current profile (a finished live run's included)."""
        if self.live is not None and not self.live.ended:
            self.notify("stop sampling (x) before opening a file", severity="warning", markup=False)
            return
        self.live_driver.end()
        self.query_one(LiveStatus).remove_class("-live")  # a file: no live status line
        self.has_profile = True
        self.comparison = Comparison(None)
        self.session = Session(group)
        for graph in (self.left_heavy, self.time_order):
            with graph.unreported():
                graph.set_model(None, None)
        self._comparison_changed()  # every pane again, without comparison colours
        gc.collect()
        gc.freeze()
        self.notify(f"opened {printable(path)}", markup=False)
