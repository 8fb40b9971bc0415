"""The command palette's entries and the help screen's key tables.

Both are made from the global keys' declarations (`tui.keys`): `palette_commands` turns
them into Textual system commands for an app, and `help_sections` gives the key tables `?`
shows, the global keys first, then each pane's and screen's own bindings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence

from textual.app import App, SystemCommand

from tui.keys import GLOBAL_KEYS, GlobalKey, key_bindings, palette_entries
from tui.screens.filters import FilterScreen
from tui.screens.help import KeySection, binding_rows
from tui.screens.process_picker import ProcessPicker
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.sandwich import SandwichView
from tui.widgets.search_bar import SearchBar

PALETTE_COMMANDS = palette_entries(GLOBAL_KEYS)
"""(title, text, action) of each palette entry, in the order the palette lists them."""


def palette_commands(app: App[None], keys: Sequence[GlobalKey]) -> Iterator[SystemCommand]:
    """The palette's system commands for `keys`, each running its action on `app`."""
    for title, help_text, action in palette_entries(keys):
        yield SystemCommand(title, help_text, _runner(app, action))


def _runner(app: App[None], action: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await app.run_action(action)

    return run


def help_sections(keys: Sequence[GlobalKey]) -> list[KeySection]:
    """The help screen's key tables: the global `keys` (in their order) first, then each
    pane's and screen's."""
    return [
        ("Everywhere", [*binding_rows(key_bindings(keys)), ("Ctrl+P", "command palette")]),
        (
            "Flame panes",
            [*binding_rows(FlameGraph.BINDINGS), ("click / double-click", "select / zoom"), ("wheel", "scroll")],
        ),
        (
            "Sandwich",
            [
                ("↑ / ↓ / k / j", "move"),
                ("Enter", "into callers, then callees (Tab)"),
                *binding_rows(SandwichView.BINDINGS),
                ("header click", "sort by that column"),
            ],
        ),
        ("Search prompt", [("Enter", "keep the search"), *binding_rows(SearchBar.BINDINGS)]),
        ("Filter screen", [("Enter", "add the typed filter; in the list: remove the chip"),
                           ("Tab", "between the prompt and the list"), ("k / j", "move in the list"),
                           *binding_rows(FilterScreen.BINDINGS)]),
        ("Process picker", [*binding_rows(ProcessPicker.BINDINGS),
                            ("header click", "sort by that column")]),
    ]

