"""The `t` screen: choose a thread/profile of the file, or all of them merged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.widgets.lists import KeyedOptionList


class ThreadPicker(ModalScreen[int | None]):
    """Dismisses with the chosen profile index (the app's MERGED for all), or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "cancel", "Cancel")]

    DEFAULT_CSS = """
    ThreadPicker { align: center middle; }
    ThreadPicker > Vertical {
        width: 80%; max-width: 100; height: auto; max-height: 90%;
        border: round $accent; background: $surface;
    }
    ThreadPicker OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, choices: Sequence[tuple[int, str]], current: int) -> None:
        super().__init__()
        self.choices = list(choices)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Choose a thread (Enter), Esc to cancel")
            yield KeyedOptionList(*(Option(Text(label), id=str(index)) for index, label in self.choices),
                             id="threads")

    def on_mount(self) -> None:
        options = self.query_one("#threads", OptionList)
        for i, (index, _) in enumerate(self.choices):
            if index == self.current:
                options.highlighted = i
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        assert event.option.id is not None
        self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
