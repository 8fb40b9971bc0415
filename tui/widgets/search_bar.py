"""`SearchBar`: the `/` prompt. Typing searches as you go; `Enter` keeps the search and
returns to the pane, `Esc` clears it, `Ctrl+R` toggles regular expressions.

| Key       | Action                               |
|-----------|--------------------------------------|
| `Enter`   | keep the search, back to the pane    |
| `Esc`     | clear the search                     |
| `Ctrl+R`  | toggle regular expressions           |
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import var
from textual.widgets import Input, Static


def match_label(functions: int, places: int | None = None, uncounted: bool = False) -> str:
    """`3 matches`, or `5 matches (2 functions)` when `n` steps through more frames than
    there are matching functions; `uncounted` (a tree too big to count its frames on each
    key): `2 functions`."""
    if uncounted:
        return f"{functions} function" + ("" if functions == 1 else "s")
    shown = functions if places is None else places
    text = f"{shown} match" + ("" if shown == 1 else "es")
    if places is not None and places != functions:
        text += f" ({functions} function" + ("" if functions == 1 else "s") + ")"
    return text


class SearchBar(Horizontal):
    """A one-line search prompt with a regex toggle and a match count."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "toggle_regex", "Regex"),
        Binding("escape", "clear", "Clear"),
    ]

    DEFAULT_CSS = """
    SearchBar {
        height: 1;
        display: none;
        background: $panel;
        &.-open { display: block; }
        & > Input, & > Input:focus { width: 1fr; height: 1; border: none; padding: 0 1; }
        & > #search-mode { width: auto; padding: 0 1; }
        & > #search-count { width: auto; min-width: 12; padding: 0 1; }
    }
    """

    regex: var[bool] = var(False)

    class Changed(Message):
        """The pattern or the regex toggle changed."""

        def __init__(self, pattern: str, regex: bool) -> None:
            super().__init__()
            self.pattern = pattern
            self.regex = regex

    class Done(Message):
        """The user left the prompt; `cleared` when with `Esc`."""

        def __init__(self, cleared: bool) -> None:
            super().__init__()
            self.cleared = cleared

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search (Ctrl+R: regex)", id="search-input")
        yield Static("substring", id="search-mode")
        yield Static("", id="search-count")

    @property
    def input(self) -> Input:
        return self.query_one("#search-input", Input)

    @property
    def pattern(self) -> str:
        return self.input.value

    def open(self) -> None:
        """Show the prompt and focus its Input at once: `Widget.focus` defers the change to
        after the messages already queued, so keys typed in the same burst as `/` would go
        to the pane."""
        self.add_class("-open")
        self.screen.set_focus(self.input)

    def close(self) -> None:
        self.remove_class("-open")

    def set_count(self, count: int | None, error: str | None = None, places: int | None = None,
                  uncounted: bool = False) -> None:
        """Show `count` matching functions; `places`: how many frames `n` steps through, when
        that differs (a function called from several places); `uncounted`: not known."""
        label = self.query_one("#search-count", Static)
        if error is not None:
            label.update(Text(error, style="bold"))
        elif count is None:
            label.update("")
        else:
            label.update(Text(match_label(count, places, uncounted)))

    def watch_regex(self, regex: bool) -> None:
        self.query_one("#search-mode", Static).update("regex" if regex else "substring")

    def action_toggle_regex(self) -> None:
        self.regex = not self.regex
        self.post_message(self.Changed(self.pattern, self.regex))

    def action_clear(self) -> None:
        self.input.value = ""
        self.close()
        self.post_message(self.Done(cleared=True))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value, self.regex))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Done(cleared=False))
