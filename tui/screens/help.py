"""The `?` screen: every key, in sections, built from the bindings themselves."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KeySection = tuple[str, Sequence[tuple[str, str]]]

_KEY_NAMES = {
    "left": "←", "right": "→", "up": "↑", "down": "↓", "enter": "Enter", "escape": "Esc",
    "backspace": "Backspace", "home": "Home", "plus": "+", "equals_sign": "=", "minus": "-",
    "comma": ",", "full_stop": ".", "slash": "/", "question_mark": "?", "ctrl+s": "Ctrl+S",
    "ctrl+c": "Ctrl+C", "ctrl+r": "Ctrl+R", "ctrl+p": "Ctrl+P", "tab": "Tab",
}


def key_label(keys: str) -> str:
    """`left,h` → `← / h`."""
    return " / ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for b in bindings:
        if isinstance(b, Binding):
            rows.append((b.key_display or key_label(b.key), b.tooltip or b.description))
    return rows


def help_table(sections: Sequence[KeySection]) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0), expand=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for title, rows in sections:
        table.add_row(Text(title, style="underline"), Text(""))
        for key, text in rows:
            table.add_row(Text(key), Text(text))
        table.add_row(Text(""), Text(""))
    return table


class HelpScreen(ModalScreen[None]):
    """Lists every key; any of `?`, `Esc` or `q` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss_help", "Close"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: auto; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, sections: Sequence[KeySection]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_table(self.sections), id="help-keys")

    def on_mount(self) -> None:
        # `width: auto` measures a Rich Table inside a scroll view as 0 wide: size it from the table.
        console = self.app.console
        width = Measurement.get(console, console.options, help_table(self.sections)).maximum
        self.query_one("#help-keys").styles.width = width

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
