"""The command palette's entries and the help screen's key tables.

Text rather than behaviour: `PALETTE_COMMANDS` (title, help, action) in the order the
palette lists them, `palette_commands` turning them into Textual system commands for an
app, and `help_sections`, the key tables `?` shows. Kept apart so `tui.app` only composes
and routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator

from textual.app import App, SystemCommand
from textual.binding import BindingType

from tui.screens.filters import FilterScreen
from tui.screens.help import KeySection, binding_rows
from tui.screens.process_picker import ProcessPicker
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.sandwich import SandwichView
from tui.widgets.search_bar import SearchBar

PALETTE_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Time Order", "The flame chart: x is time (1)", "show_pane('time-order')"),
    ("Left Heavy", "The merged flame graph, heaviest first (2)", "show_pane('left-heavy')"),
    ("Sandwich", "Every function's self and total, callers and callees (3)", "show_pane('sandwich')"),
    ("Search frames", "Highlight frames whose name matches (/)", "search"),
    ("Next match", "Zoom to the next matching frame (n)", "next_match"),
    ("Previous match", "Zoom to the previous matching frame (N)", "previous_match"),
    ("Sandwich of the selected frame", "Open the selected function in Sandwich (s)", "open_sandwich"),
    ("Invert Left Heavy", "Root at the top or the bottom (i)", "invert"),
    ("Choose thread", "Pick a thread, or all threads merged (t)", "pick_thread"),
    ("Flatten recursion", "Drop repeated frames from each stack (r)", "flatten_recursion"),
    ("Focus on the selected function", "Only stacks through it, re-rooted there (f)", "focus_function"),
    ("Hide the selected function", "Its time goes to its caller (d)", "hide_function"),
    ("Collapse the selected frame's module", "Its file or module becomes one frame (m)", "collapse_module"),
    ("Filters", "The filter chips: remove one, or add focus/hide/collapse/mine REGEX (F)", "filters"),
    ("Undo filter change", "Undo the last filter or time range change (u)", "undo"),
    ("Redo filter change", "Redo a filter or time range change (U)", "redo"),
    ("Inverted flame graph", "Left Heavy bottom-up: leaf functions as roots (v)", "toggle_inverted"),
    ("Time kind", "Off-CPU captures: on-CPU / off-CPU / on+off wall time (w)", "cycle_time_kind"),
    ("Clear time range", "Left Heavy and Sandwich show the whole timeline again (Esc)", "clear_range"),
    ("Mark the baseline", "Live: the samples so far become the baseline; again: move the mark (b)",
     "mark_baseline"),
    ("Compare with the baseline", "Live: the difference since the baseline, or every sample; "
     "diff: the change colours on or off (B)", "toggle_comparison"),
    ("Export", "Save as speedscope JSON or folded stacks (e)", "export"),
    ("Open a profile file", "Show another profile file in place of this one (o)", "open_file"),
    ("Copy frame name", "Copy the selected frame's name to the clipboard (c)", "copy_name"),
    ("Pause the view", "Live: freeze the panes while sampling goes on (space)", "toggle_pause"),
    ("Resume the view", "Live: the paused panes follow sampling again (space)", "resume"),
    ("Stop sampling", "Live: stop the collector, keep the data (x)", "stop_sampling"),
    ("Choose a process", "The process picker: sample another process (p)", "pick_process"),
    ("Keys", "Every key (?)", "help"),
)


def palette_commands(app: App[None]) -> Iterator[SystemCommand]:
    """`PALETTE_COMMANDS` as the palette's system commands, each running its action on `app`."""
    for title, help_text, action in PALETTE_COMMANDS:
        yield SystemCommand(title, help_text, _runner(app, action))


def _runner(app: App[None], action: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await app.run_action(action)

    return run


def help_sections(app_bindings: Iterable[BindingType]) -> list[KeySection]:
    """The help screen's key tables: `app_bindings` (the app's, in their order) first, then
    each pane's and screen's."""
    return [
        ("Everywhere", [*binding_rows(app_bindings), ("Ctrl+P", "command palette")]),
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

