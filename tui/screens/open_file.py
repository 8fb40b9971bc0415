"""The `o` dialog: the path of a profile to open in place of the one shown.

The dialog only asks; the app loads the file on a worker with `read_profile_file`, which
turns every way a file can be bad (missing, unreadable, not a regular file, binary, broken)
into one `OpenFailed` sentence for a notification, so the current profile stays.
"""

from __future__ import annotations

import os
import stat
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from collectors.formats.detect import LoadError, load_profile
from collectors.formats.errors import ProfileError
from collectors.profile import ProfileGroup
from collectors.safe_text import printable


class OpenFailed(Exception):
    """One sentence naming the file and what is wrong with it."""


def read_profile_file(path: str) -> ProfileGroup:
    """Load the profile at `path` (blocking: run it on a worker); `OpenFailed` when it cannot be.

    Only regular files are read: a FIFO would block forever and a device such as /dev/zero
    never ends.
    """
    shown = printable(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise OpenFailed(f"{shown}: no such file") from None
    except OSError as e:
        raise OpenFailed(f"{shown}: cannot read it ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise OpenFailed(f"{shown}: is a directory, not a profile")
    if not stat.S_ISREG(st.st_mode):
        raise OpenFailed(f"{shown}: not a regular file (a device, pipe or socket), not a profile")
    try:
        group = load_profile(path)
    except (LoadError, ProfileError) as e:
        raise OpenFailed(_one_line(str(e))) from None
    except OSError as e:
        raise OpenFailed(f"{shown}: cannot read it ({e.strerror or e})") from None
    except Exception as e:  # a reader's bug: still a message, never a crash
        raise OpenFailed(f"{shown}: could not be read ({_one_line(repr(e))})") from None
    if not group.profiles:
        raise OpenFailed(f"{shown}: holds no profile")
    return group


def _one_line(text: str) -> str:
    return printable(" ".join(text.split()))


class OpenFileDialog(ModalScreen[str | None]):
    """Dismisses with the path typed (Enter), or None (Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    OpenFileDialog { align: center middle; }
    OpenFileDialog > Vertical {
        width: 80; max-width: 100%; height: auto; border: round $accent; background: $surface; padding: 0 1;
    }
    OpenFileDialog Input { width: 100%; }
    OpenFileDialog #open-message { height: auto; color: $warning; }
    """

    def __init__(self, initial: str = "") -> None:
        super().__init__()
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Open a profile (Enter), Esc to cancel", style="bold"))
            yield Input(self.initial, placeholder="path to a profile: speedscope, perf script, folded, pprof, …",
                        id="open-path")
            yield Static("", id="open-message")

    def on_mount(self) -> None:
        self.query_one("#open-path", Input).focus()

    @property
    def path(self) -> str:
        return self.query_one("#open-path", Input).value.strip()

    @on(Input.Submitted, "#open-path")
    def action_open(self) -> None:
        path = self.path
        if not path:
            self.query_one("#open-message", Static).update(Text("Type the path of a profile."))
            return
        self.dismiss(os.path.expanduser(path))

    def action_cancel(self) -> None:
        self.dismiss(None)
