"""The app's global keys, one declaration per action.

From `GLOBAL_KEYS` come the app's `BINDINGS` (and so the footer), its `check_action`
answers, the command palette's entries and the help's "Everywhere" table (`tui.app_help`).
A new global key is one `GlobalKey` here plus the `action_…` method it names.

When a key may act is a predicate over `KeyState`: the few facts about the app the
predicates read (`tui.key_state.AppKeyState` gives them for the app), so a test can check each key's
availability with a plain object.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from textual.binding import Binding

from tui.screens.help import key_label


class KeyState(Protocol):
    """What the availability of a global key depends on."""

    @property
    def active_pane(self) -> str: ...

    @property
    def picking_process(self) -> bool:
        """The process picker is the screen in view (its own `/` filters the list)."""
        ...

    @property
    def live_view(self) -> bool:
        """Live sampling was started, and may since have stopped."""
        ...

    @property
    def sampling(self) -> bool:
        """Live sampling is going on (started and not stopped or ended)."""
        ...

    @property
    def paused(self) -> bool: ...

    @property
    def live_mode(self) -> bool:
        """The app was opened to sample live (`bpfscope live`): a process can be chosen."""
        ...

    @property
    def comparing(self) -> bool: ...

    @property
    def has_baseline(self) -> bool:
        """A baseline to compare with: a diff's base file, or a mark made live."""
        ...

    @property
    def has_time_kinds(self) -> bool:
        """The profiles say what their time is (on-CPU, off-CPU)."""
        ...

    @property
    def has_time_range(self) -> bool: ...


Available = Callable[[KeyState], bool]
"""Whether a key may act now (False: refused and left out of the footer)."""


@dataclass(frozen=True)
class GlobalKey:
    """One global key: its binding, when it may act, its palette entry and its help row."""

    key: str
    """Textual key names, comma-separated (`e,ctrl+s`): the first one is the palette's."""
    action: str
    """The action, as in a Binding (`show_pane('sandwich')` runs `action_show_pane`)."""
    description: str
    """The footer's label."""
    help_text: str
    """The help table's text (and the binding's tooltip)."""
    palette: tuple[str, str] | None = None
    """(title, text) in the command palette, the key added to the text; None: not offered."""
    available: Available | None = None
    """None: always."""
    footer: bool = False
    key_display: str | None = None
    priority: bool = False

    @property
    def method(self) -> str:
        """The action's name without its parameters (what `check_action` is asked about)."""
        return self.action.partition("(")[0]

    @property
    def key_text(self) -> str:
        """Every key as the help table shows them (`e / Ctrl+S`)."""
        return self.key_display or key_label(self.key)

    @property
    def palette_key(self) -> str:
        """The key the palette names: the first one (`e`)."""
        return self.key_display or key_label(self.key.split(",")[0])

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.description, show=self.footer, key_display=self.key_display,
                       priority=self.priority, tooltip=self.help_text)


def _not_picking(s: KeyState) -> bool:
    return not s.picking_process


def _sampling(s: KeyState) -> bool:
    return s.sampling


def _not_sampling(s: KeyState) -> bool:
    return not s.sampling  # a file, or sampling stopped (x) or ended


GLOBAL_KEYS: tuple[GlobalKey, ...] = (
    GlobalKey("1", "show_pane('time-order')", "Time", "Time Order: the flame chart, samples in time order",
              ("Time Order", "The flame chart: x is time"), _not_picking, footer=True, key_display="1"),
    GlobalKey("2", "show_pane('left-heavy')", "Heavy", "Left Heavy: the flame graph, merged, heaviest first",
              ("Left Heavy", "The merged flame graph, heaviest first"), _not_picking, footer=True,
              key_display="2"),
    GlobalKey("3", "show_pane('sandwich')", "Sandwich", "Sandwich: every function with self and total",
              ("Sandwich", "Every function's self and total, callers and callees"), _not_picking, footer=True,
              key_display="3"),
    # Priority: the app acts on `/` as it arrives, so the keys typed in the same burst go to
    # the prompt (otherwise they are already queued for the pane).
    GlobalKey("slash", "search", "Search", "search names (Ctrl+R in the prompt: regular expression)",
              ("Search frames", "Highlight frames whose name matches"), _not_picking, footer=True,
              key_display="/", priority=True),
    GlobalKey("n", "next_match", "Next match", "next match, zooming to it",
              ("Next match", "Zoom to the next matching frame")),
    GlobalKey("N", "previous_match", "Previous match", "previous match, zooming to it",
              ("Previous match", "Zoom to the previous matching frame")),
    GlobalKey("s", "open_sandwich", "Sandwich of frame", "open the selected function in Sandwich",
              ("Sandwich of the selected frame", "Open the selected function in Sandwich")),
    GlobalKey("i", "flip_root", "Invert", "Left Heavy: root at the bottom / top",
              ("Invert Left Heavy", "Root at the top or the bottom"), lambda s: s.active_pane == "left-heavy"),
    # Comparing live shows all threads since the mark: a single thread has no such split.
    GlobalKey("t", "pick_thread", "Thread", "choose the thread, or all threads merged",
              ("Choose thread", "Pick a thread, or all threads merged"),
              lambda s: not (s.live_view and s.comparing)),
    GlobalKey("r", "flatten_recursion", "Flatten recursion", "flatten recursion (self times stay exact)",
              ("Flatten recursion", "Drop repeated frames from each stack")),
    GlobalKey("f", "focus_function", "Focus", "filter: only stacks through the selected function, re-rooted there",
              ("Focus on the selected function", "Only stacks through it, re-rooted there")),
    GlobalKey("d", "hide_function", "Hide", "filter: hide the selected function (its time goes to its caller)",
              ("Hide the selected function", "Its time goes to its caller")),
    GlobalKey("m", "collapse_module", "Collapse module",
              "filter: collapse the selected frame's file or module into one frame",
              ("Collapse the selected frame's module", "Its file or module becomes one frame")),
    GlobalKey("F", "filters", "Filters", "the filter chips: remove one, or add focus/hide/collapse/mine REGEX",
              ("Filters", "The filter chips: remove one, or add focus/hide/collapse/mine REGEX")),
    GlobalKey("u", "undo", "Undo", "undo the last filter or time range change",
              ("Undo filter change", "Undo the last filter or time range change")),
    GlobalKey("U", "redo", "Redo", "redo a filter or time range change",
              ("Redo filter change", "Redo a filter or time range change")),
    GlobalKey("v", "toggle_bottom_up", "Bottom-up",
              "Left Heavy: inverted (bottom-up) flame graph, leaf functions as roots",
              ("Inverted flame graph", "Left Heavy bottom-up: leaf functions as roots")),
    GlobalKey("w", "cycle_time_kind", "Time kind", "off-CPU captures: on-CPU / off-CPU / on+off (wall) time",
              ("Time kind", "Off-CPU captures: on-CPU / off-CPU / on+off wall time"), lambda s: s.has_time_kinds),
    GlobalKey("escape", "clear_range", "Clear range", "clear the time range (in flame panes: once nothing is zoomed)",
              ("Clear time range", "Left Heavy and Sandwich show the whole timeline again"),
              lambda s: s.has_time_range),
    GlobalKey("b", "mark_baseline", "Baseline", "live: mark now as the baseline (again: move the mark)",
              ("Mark the baseline", "Live: the samples so far become the baseline; again: move the mark"),
              lambda s: s.live_view),
    GlobalKey("B", "toggle_comparison", "Compare",
              "live: the difference since the baseline / all samples; diff: colours on / off",
              ("Compare with the baseline",
               "Live: the difference since the baseline, or every sample; diff: the change colours on or off"),
              lambda s: s.has_baseline),
    GlobalKey("e,ctrl+s", "export", "Export", "export as speedscope JSON, folded stacks or pprof",
              ("Export", "Save as speedscope JSON, folded stacks or pprof")),
    GlobalKey("o,ctrl+o", "open_file", "Open", "open another profile file (Ctrl+O in Sandwich, where o sorts)",
              ("Open a profile file", "Show another profile file in place of this one"), _not_sampling),
    GlobalKey("c", "copy_name", "Copy name", "copy the selected frame's name (OSC 52, works over SSH)",
              ("Copy frame name", "Copy the selected frame's name to the clipboard")),
    GlobalKey("space", "toggle_pause", "Pause", "live: pause / resume the view (sampling goes on)",
              ("Pause the view", "Live: freeze the panes while sampling goes on"),
              lambda s: s.sampling and not s.paused, footer=True),
    GlobalKey("space", "resume", "Resume", "live: resume the paused view",
              ("Resume the view", "Live: the paused panes follow sampling again"),
              lambda s: s.sampling and s.paused, footer=True),
    GlobalKey("x", "stop_sampling", "Stop", "live: stop sampling (the data stays)",
              ("Stop sampling", "Live: stop the collector, keep the data"), _sampling, footer=True),
    GlobalKey("p", "pick_process", "Process", "choose a process to sample",
              ("Choose a process", "The process picker: sample another process"), lambda s: s.live_mode),
    GlobalKey("question_mark", "help", "Help", "this help", ("Keys", "Every key"), footer=True, key_display="?"),
    GlobalKey("q,ctrl+c", "quit", "Quit", "quit", footer=True),  # the palette has Textual's own Quit
)


def key_bindings(keys: Sequence[GlobalKey]) -> list[Binding]:
    """The app's BINDINGS, in the order declared (the help table's order)."""
    return [k.binding() for k in keys]


@functools.cache
def availability(keys: tuple[GlobalKey, ...]) -> Mapping[str, Available]:
    """Each action's predicate, by the name `check_action` is given. The keys of one action
    (the three `show_pane(…)`) must share their predicate: Textual asks by name only."""
    found: dict[str, Available | None] = {}
    for k in keys:
        if k.method in found and found[k.method] is not k.available:
            raise ValueError(f"the keys of {k.method!r} have different availability predicates")
        found[k.method] = k.available
    return {method: available for method, available in found.items() if available is not None}


def is_available(keys: tuple[GlobalKey, ...], action: str, state: KeyState) -> bool:
    """`check_action`'s answer: whether `action` may act in `state` (actions not declared here may)."""
    available = availability(keys).get(action)
    return True if available is None else available(state)


def palette_entries(keys: Sequence[GlobalKey]) -> tuple[tuple[str, str, str], ...]:
    """(title, text, action) for each key the palette offers, in the order declared; the text
    ends with the key in parentheses."""
    return tuple((k.palette[0], f"{k.palette[1]} ({k.palette_key})", k.action)
                 for k in keys if k.palette is not None)
