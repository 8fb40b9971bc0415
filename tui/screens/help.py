"""The `?` screen: every key, in sections, built from the bindings themselves."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.widgets.lists import KeyedScroll

KeySection = tuple[str, Sequence[tuple[str, str]]]

_KEY_NAMES = {
    "left": "←", "right": "→", "up": "↑", "down": "↓", "enter": "Enter", "escape": "Esc",
    "backspace": "Backspace", "home": "Home", "plus": "+", "equals_sign": "=", "minus": "-",
    "comma": ",", "full_stop": ".", "slash": "/", "question_mark": "?", "ctrl+s": "Ctrl+S",
    "ctrl+c": "Ctrl+C", "ctrl+r": "Ctrl+R", "ctrl+p": "Ctrl+P", "ctrl+o": "Ctrl+O", "tab": "Tab",
    "delete": "Delete", "pageup": "PgUp", "pagedown": "PgDn", "space": "space", "end": "End",
    "less_than_sign": "<", "greater_than_sign": ">", "left_square_bracket": "[",
    "right_square_bracket": "]", "left_curly_bracket": "{", "right_curly_bracket": "}",
}


def key_label(keys: str) -> str:
    """`left,h` → `← / h`."""
    return " / ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, what they do) per binding; bindings of the same action (such as `↓` and `j`)
    on one row."""
    rows: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for b in bindings:
        if not isinstance(b, Binding):
            continue
        keys = b.key_display or key_label(b.key)
        if any(row_keys == keys for row_keys, _ in rows):
            continue  # one key, two bindings (space: Pause, then Resume): the first says it
        if b.action in seen:
            at = seen[b.action]
            rows[at] = (f"{rows[at][0]} / {keys}", rows[at][1])
            continue
        seen[b.action] = len(rows)
        rows.append((keys, b.tooltip or b.description))
    return rows


def help_table(sections: Sequence[KeySection]) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0), expand=False)
    table.add_column(style="bold", max_width=16)  # "click / double-click" wraps: the text gets the room
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
    HelpScreen > KeyedScroll {
        width: auto; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, sections: Sequence[KeySection]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with KeyedScroll():
            yield Static(help_table(self.sections), id="help-keys")

    def on_mount(self) -> None:
        # `width: auto` measures a Rich Table inside a scroll view as 0 wide: size it from the table.
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """As wide as the table wants, but no wider than the terminal less the border, padding
        and scrollbar: the descriptions then wrap at words instead of being cut."""
        console = self.app.console
        width = Measurement.get(console, console.options, help_table(self.sections)).maximum
        self.query_one("#help-keys").styles.width = max(20, min(width, self.app.size.width - 6))

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
