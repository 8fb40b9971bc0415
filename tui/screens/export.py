"""The `e` / `Ctrl+S` dialog: write the profile in one of the formats the registry offers for
export (speedscope JSON, folded stacks, pprof), asking before overwriting a file that exists.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, RadioButton, RadioSet, Static

from collectors.formats import registry
from collectors.formats.errors import ProfileError

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
_AWKWARD = re.compile(r"[\s'\"`$!&|;<>()*?#~\[\]{}]+")
"""Characters a shell would need quoted: a default name has none (`PID 31630` → `PID_31630`)."""

Saver = Callable[[str, str], object]
"""save(path, format): write the profile (raises ProfileError or OSError)."""


def default_stem(profile_name: str) -> str:
    """A file name stem from the profile's name: its base name without format suffixes."""
    name = _UNSAFE.sub("_", Path(profile_name).name) if profile_name else ""
    name = _AWKWARD.sub("_", name.strip()).strip("_")
    # No known suffix ends another, so the order they are stripped in does not matter.
    known = registry.known_suffixes()
    changed = True
    while changed:
        changed = False
        for suffix in known:
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                changed = True
    return name.strip() or "profile"


def default_path(profile_name: str, fmt: str) -> str:
    """`<profile>` and the writer's first suffix (`.speedscope.json`, `.folded`, `.pb.gz`), relative: in the
    current directory."""
    writer = registry.find_writer(fmt)
    if writer is None:
        raise ProfileError(f"unknown output format {fmt!r}")
    return default_stem(profile_name) + writer.suffixes[0]


class ExportDialog(ModalScreen[str | None]):
    """Dismisses with the path written, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    ExportDialog { align: center middle; }
    ExportDialog > Vertical {
        width: 70; max-width: 100%; height: auto; border: round $accent; background: $surface; padding: 0 1;
    }
    ExportDialog RadioSet { width: 100%; }
    ExportDialog Input { width: 100%; }
    ExportDialog #export-message { height: auto; color: $warning; }
    ExportDialog Horizontal { height: auto; align-horizontal: right; }
    """

    def __init__(self, profile_name: str, save: Saver) -> None:
        super().__init__()
        self.profile_name = profile_name
        self.save = save
        self.writers = registry.export_writers()
        self.fmt = self.writers[0].name
        self.confirm_overwrite = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Export the profile", style="bold"))
            with RadioSet(id="export-format"):
                for i, writer in enumerate(self.writers):
                    yield RadioButton(writer.label, value=i == 0, id=f"format-{writer.name}")
            yield Input(default_path(self.profile_name, self.fmt), id="export-path")
            yield Static(Text(f"relative to {os.getcwd()}", style="dim", no_wrap=True, overflow="ellipsis"),
                         id="export-directory")
            yield Static("", id="export-message")
            with Horizontal():
                yield Button("Save", variant="primary", id="export-save")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @property
    def path(self) -> str:
        return self.query_one("#export-path", Input).value.strip()

    def _message(self, text: str) -> None:
        self.query_one("#export-message", Static).update(Text(text))

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        old = self.fmt
        self.fmt = self.writers[event.index].name
        path_input = self.query_one("#export-path", Input)
        if path_input.value.strip() == default_path(self.profile_name, old):
            path_input.value = default_path(self.profile_name, self.fmt)
        self._reset_confirm()

    @on(Input.Changed, "#export-path")
    def _path_changed(self) -> None:
        self._reset_confirm()

    def _reset_confirm(self) -> None:
        if self.confirm_overwrite:
            self.confirm_overwrite = False
            self.query_one("#export-save", Button).label = "Save"
            self._message("")

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-save")
    def action_save(self) -> None:
        path = self.path
        if not path:
            self._message("Type a file name.")
            return
        if os.path.isdir(path):
            self._message(f"{path} is a directory.")
            return
        if os.path.exists(path) and not self.confirm_overwrite:
            self.confirm_overwrite = True
            self.query_one("#export-save", Button).label = "Overwrite"
            self._message(f"{path} exists. Press Save (or Enter) again to overwrite it.")
            return
        try:
            self.save(path, self.fmt)
        except (ProfileError, OSError, ImportError) as e:
            self._message(f"Could not write {path}: {getattr(e, 'strerror', None) or e}")
            self.confirm_overwrite = False
            return
        self.dismiss(path)

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
