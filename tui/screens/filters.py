"""The `F` screen: the active filter chips, and a prompt to add one.

| Key              | Action                                                  |
|------------------|---------------------------------------------------------|
| typing, `Enter`  | add `focus REGEX`, `hide REGEX`, `collapse REGEX` or `mine REGEX` |
| `Tab`            | between the prompt and the list                         |
| `Enter`/`Delete` | in the list: remove the highlighted chip                |
| `Esc`            | close                                                   |

The screen changes nothing itself: it posts `Added` and `Removed`, the app applies them
(undoably) and calls `show_chips` with the new list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from collectors.formats.errors import ProfileError
from tui.chips import FILTER_HELP, Chip, parse_filter
from tui.widgets.lists import KeyedOptionList

PROMPT = "focus|hide|collapse|mine REGEX"


class FilterScreen(ModalScreen[None]):
    """The list of active chips and a prompt to add one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", tooltip="close the filter screen"),
        Binding("delete", "remove", "Remove", tooltip="remove the highlighted chip"),
    ]

    DEFAULT_CSS = """
    FilterScreen { align: center middle; }
    FilterScreen > Vertical {
        width: 80%; max-width: 100; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    FilterScreen OptionList { height: auto; max-height: 12; }
    FilterScreen Input { width: 100%; }
    FilterScreen #filter-error { height: auto; color: $error; }
    FilterScreen #filter-hint { color: $text-muted; }
    """

    class Added(Message):
        """The user typed a valid filter."""

        def __init__(self, chip: Chip) -> None:
            super().__init__()
            self.chip = chip

    class Removed(Message):
        """The user removed chip `index`."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, chips: Sequence[str]) -> None:
        """`chips`: the active chips' texts, in the order applied."""
        super().__init__()
        self.chips = list(chips)
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Filters (applied top to bottom; Enter or Delete removes one)", style="bold"))
            yield KeyedOptionList(id="filter-chips")
            yield Static(id="filter-hint")
            yield Input(placeholder=PROMPT, id="filter-input")
            yield Static(id="filter-error")

    def on_mount(self) -> None:
        self.show_chips(self.chips)
        self.input.focus()

    @property
    def input(self) -> Input:
        return self.query_one("#filter-input", Input)

    @property
    def chip_list(self) -> OptionList:
        return self.query_one("#filter-chips", OptionList)

    def show_chips(self, chips: Sequence[str]) -> None:
        """Show `chips` (the app calls this after each change)."""
        self.chips = list(chips)
        options = self.chip_list
        highlighted = options.highlighted
        options.clear_options()
        options.add_options([Option(Text(text)) for text in self.chips])
        options.display = bool(self.chips)
        if self.chips:
            options.highlighted = min(highlighted or 0, len(self.chips) - 1)
        hint = "no filters yet: type one below" if not self.chips else ""
        self.query_one("#filter-hint", Static).update(Text(f"{hint}{'; ' if hint else ''}{FILTER_HELP}"))

    def _show_error(self, error: str | None) -> None:
        self.error = error
        self.query_one("#filter-error", Static).update(Text(error or ""))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            chip = parse_filter(event.value)
        except (ValueError, ProfileError) as e:
            self._show_error(str(e))
            return
        self._show_error(None)
        self.input.value = ""
        self.post_message(self.Added(chip))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Removed(event.option_index))

    def action_remove(self) -> None:
        options = self.chip_list
        if self.focused is options and options.highlighted is not None:
            self.post_message(self.Removed(options.highlighted))

    def action_close(self) -> None:
        self.dismiss(None)
