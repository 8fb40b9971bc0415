"""The Textual app: composes the panes and routes keys and messages between them.

The panes draw; `tui.session.Session` holds what is being looked at (which thread,
recursion flattened or not) and the trees derived from it. Global keys:

| Key              | Action                                          |
|------------------|-------------------------------------------------|
| `1` / `2` / `3`  | Time Order / Left Heavy / Sandwich              |
| `/`              | search (`n` / `N` next / previous match)        |
| `s`              | the selected function in Sandwich               |
| `i`              | Left Heavy: root at the top or bottom           |
| `t`              | choose the thread, or all threads merged        |
| `r`              | flatten recursion                               |
| `e` / `Ctrl+S`   | export                                          |
| `c`              | copy the selected frame's name (OSC 52)         |
| `?`              | help                                            |
| `q` / `Ctrl+C`   | quit                                            |
"""

from __future__ import annotations

import gc
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer

from collectors.formats.output import save_profile
from collectors.profile import ProfileGroup, Unit
from tui.screens.export import ExportDialog
from tui.screens.help import HelpScreen, KeySection, binding_rows
from tui.screens.thread_picker import ThreadPicker
from tui.session import MERGED, Session, matching_frames, name_matcher
from tui.views import FlameNode, grouped_model, next_match, time_order_model
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.sandwich import SandwichView
from tui.widgets.search_bar import SearchBar
from tui.widgets.status import DetailsLine, FrameFacts, ProfileHeader

PANES = ("time-order", "left-heavy", "sandwich")
PANE_TITLES = {"time-order": "Time Order", "left-heavy": "Left Heavy", "sandwich": "Sandwich"}
SYNC_TOTALS_STACKS = 20_000
"""Up to this many unique stacks, function totals are computed before the first screen;
above it, on a worker thread after it (0.3 s for 100k stacks)."""


class BpfscopeApp(App[None]):
    """bpfscope's TUI over a loaded `ProfileGroup` (tests build one in code)."""

    TITLE = "bpfscope"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "1",
            "show_pane('time-order')",
            "Time",
            key_display="1",
            tooltip="Time Order: the flame chart, samples in time order",
        ),
        Binding(
            "2",
            "show_pane('left-heavy')",
            "Heavy",
            key_display="2",
            tooltip="Left Heavy: the flame graph, merged, heaviest first",
        ),
        Binding(
            "3",
            "show_pane('sandwich')",
            "Sandwich",
            key_display="3",
            tooltip="Sandwich: every function with self and total",
        ),
        Binding(
            "slash",
            "search",
            "Search",
            key_display="/",
            tooltip="search names (Ctrl+R in the prompt: regular expression)",
        ),
        Binding("n", "next_match", "Next match", show=False, tooltip="next match, zooming to it"),
        Binding("N", "previous_match", "Previous match", show=False, tooltip="previous match, zooming to it"),
        Binding(
            "s", "open_sandwich", "Sandwich of frame", show=False, tooltip="open the selected function in Sandwich"
        ),
        Binding("i", "invert", "Invert", show=False, tooltip="Left Heavy: root at the bottom / top"),
        Binding("t", "pick_thread", "Thread", show=False, tooltip="choose the thread, or all threads merged"),
        Binding(
            "r",
            "flatten_recursion",
            "Flatten recursion",
            show=False,
            tooltip="flatten recursion (self times stay exact)",
        ),
        Binding("e,ctrl+s", "export", "Export", show=False, tooltip="export as speedscope JSON or folded stacks"),
        Binding(
            "c", "copy_name", "Copy name", show=False, tooltip="copy the selected frame's name (OSC 52, works over SSH)"
        ),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
        Binding("q,ctrl+c", "quit", "Quit", tooltip="quit"),
    ]

    CSS = """
    #panes { height: 1fr; }
    """

    active_pane: var[str] = var("left-heavy", init=False)

    def __init__(self, group: ProfileGroup) -> None:
        super().__init__()
        self.session = Session(group)
        self.matches: frozenset[int] | None = None
        self.search_error: str | None = None
        self._loaded: set[str] = set()

    # --- composition -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ProfileHeader(id="header")
        with ContentSwitcher(initial="left-heavy", id="panes"):
            yield FlameGraph(id="time-order", time_axis=True)
            yield FlameGraph(id="left-heavy")
            yield SandwichView(id="sandwich")
        yield SearchBar(id="search")
        yield DetailsLine(id="details")
        yield Footer()

    def on_mount(self) -> None:
        for graph in self.flame_graphs():
            self._watch_graph(graph)
        self._load_profile()
        self.left_heavy.focus()

    @property
    def time_order(self) -> FlameGraph:
        return self.query_one("#time-order", FlameGraph)

    @property
    def left_heavy(self) -> FlameGraph:
        return self.query_one("#left-heavy", FlameGraph)

    @property
    def sandwich(self) -> SandwichView:
        return self.query_one("#sandwich", SandwichView)

    @property
    def search_bar(self) -> SearchBar:
        return self.query_one("#search", SearchBar)

    def flame_graphs(self) -> list[FlameGraph]:
        return list(self.query(FlameGraph))

    @property
    def current_graph(self) -> FlameGraph | None:
        """The graph keys act on: the focused one, else the active pane's."""
        focused = self.focused
        if isinstance(focused, FlameGraph):
            return focused
        if self.active_pane == "time-order":
            return self.time_order
        if self.active_pane == "left-heavy":
            return self.left_heavy
        return None

    # --- loading -----------------------------------------------------------------------

    def _load_profile(self) -> None:
        """(Re)build the panes for the session's current profile; panes not shown wait."""
        self._loaded.clear()
        derived = self.session.current
        if len(derived.profile.stacks) <= SYNC_TOTALS_STACKS:
            _ = derived.totals
        else:
            self._compute_totals()
        self._ensure_loaded(self.active_pane)
        self._apply_search()
        self._refresh_status()

    def _ensure_loaded(self, pane: str) -> None:
        if pane in self._loaded:
            return
        self._loaded.add(pane)
        derived = self.session.current
        frames = self.session.group.frames
        if pane == "left-heavy":
            self.left_heavy.set_model(grouped_model(derived.left_heavy), frames)
        elif pane == "time-order":
            self.time_order.set_model(time_order_model(derived.time_order), frames)
        else:
            self.sandwich.set_data(derived.totals, frames, self.session.format, derived.sandwich)

    @work(thread=True, exclusive=True, group="totals")
    def _compute_totals(self) -> None:
        derived = self.session.current
        _ = derived.totals
        self.call_from_thread(self._totals_ready, derived)

    def _totals_ready(self, derived: object) -> None:
        if derived is self.session.current:
            self._apply_search()
            self._refresh_status()

    # --- status ------------------------------------------------------------------------

    def _title(self) -> str:
        s = self.session
        parts = [_printable(s.group.name) or "profile"]
        if s.has_threads:
            n = len(s.group.profiles)
            where = "all" if s.index == MERGED else f"{s.index + 1}/{n}"
            parts.append(f"{s.profile_label()} [{where}]")
        total = s.format(s.profile.total_weight())
        # A unit of "none" means counts: say "samples" rather than print the word "none".
        parts.append(f"total {total} samples" if s.unit is Unit.NONE else f"{s.unit.value} · total {total}")
        parts.append(PANE_TITLES[self.active_pane])
        if s.flattened:
            parts.append("recursion flattened")
        return " · ".join(parts)

    def _refresh_status(self) -> None:
        graph = self.current_graph
        if self.active_pane == "sandwich" and graph is None:
            frame = self.sandwich.frame
            crumbs = [f"sandwich of {self.session.frame_name(frame)}"] if frame is not None else []
        else:
            crumbs = graph.breadcrumb() if graph is not None else []
        self.query_one(ProfileHeader).show(self._title(), crumbs)
        self._show_details(graph)

    def _show_details(self, graph: FlameGraph | None) -> None:
        details = self.query_one(DetailsLine)
        node = graph.selected if graph is not None else None
        if graph is None or node is None or graph.model is None:
            if self.active_pane == "sandwich" and self.sandwich.frame is not None:
                details.show(self._function_facts(self.sandwich.frame), self.session.format)
            else:
                details.show(None, self.session.format)
            return
        zoom = graph.zoom_node
        view_total = zoom.total if zoom is not None else graph.model.total
        details.show(self._facts(node, view_total), self.session.format)

    def _facts(self, node: FlameNode, view_total: float) -> FrameFacts:
        s = self.session
        frame = s.group.frames[node.frame]
        derived = s.current
        fn_total = fn_self = None
        if derived.totals_ready:
            fn_total = derived.totals.total.get(node.frame)
            fn_self = derived.totals.self_weight.get(node.frame)
        return FrameFacts(
            s.frame_name(node.frame),
            _printable(frame.location()),
            node.total,
            node.self_weight,
            self._grand_total(),
            view_total,
            fn_total,
            fn_self,
        )

    def _function_facts(self, fid: int) -> FrameFacts:
        s = self.session
        frame = s.group.frames[fid]
        totals = s.current.totals
        t, w = totals.total.get(fid, 0.0), totals.self_weight.get(fid, 0.0)
        grand = self._grand_total()
        return FrameFacts(s.frame_name(fid), _printable(frame.location()), t, w, grand, grand, t, w)

    def _grand_total(self) -> float:
        return (
            self.left_heavy.model.total
            if self.left_heavy.model is not None and "left-heavy" in self._loaded
            else self.session.profile.total_weight()
        )

    # --- messages ----------------------------------------------------------------------

    def _watch_graph(self, graph: FlameGraph) -> None:
        # Watchers, not the bubbled FrameSelected/ZoomChanged messages: they run at once, so
        # the details line is painted in the same frame as the graph's rows.
        def selected(_: FlameNode | None) -> None:
            if graph is self.current_graph:
                self._show_details(graph)

        def zoomed(_: int) -> None:
            if graph is self.current_graph:
                self._refresh_status()

        self.watch(graph, "selected", selected, init=False)
        self.watch(graph, "zoom_generation", zoomed, init=False)

    def on_flame_graph_back_at_top(self, event: FlameGraph.BackAtTop) -> None:
        if self.matches is not None or self.search_bar.pattern:
            self._clear_search()

    def on_sandwich_view_function_selected(self, event: SandwichView.FunctionSelected) -> None:
        self._refresh_status()

    def on_descendant_focus(self) -> None:
        self._refresh_status()

    def on_search_bar_changed(self, event: SearchBar.Changed) -> None:
        self._apply_search()

    def on_search_bar_done(self, event: SearchBar.Done) -> None:
        if event.cleared:
            self._clear_search()
        self._focus_pane()

    # --- search ------------------------------------------------------------------------

    def _apply_search(self) -> None:
        bar = self.search_bar
        self.search_error = None
        try:
            test = name_matcher(bar.pattern, bar.regex)
        except re.error as e:
            test = None
            self.search_error = f"bad regex: {e.msg}"
        if test is None:
            self.matches = None
        else:
            derived = self.session.current
            among = set(derived.totals.total) if derived.totals_ready else None
            self.matches = frozenset(matching_frames(self.session.group, among, test))
        bar.set_count(None if self.matches is None else len(self.matches), self.search_error)
        for graph in self.flame_graphs():
            graph.set_matches(self.matches)

    def _clear_search(self) -> None:
        bar = self.search_bar
        with bar.input.prevent(bar.input.Changed):
            bar.input.value = ""
        bar.close()
        self._apply_search()

    @property
    def match_count(self) -> int | None:
        return None if self.matches is None else len(self.matches)

    def _focus_pane(self) -> None:
        if self.active_pane == "sandwich":
            self.sandwich.table.focus()
        else:
            self.query_one(f"#{self.active_pane}", FlameGraph).focus()

    # --- actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "invert":
            return self.active_pane == "left-heavy"
        if action == "pick_thread":
            return self.session.has_threads
        return True

    def watch_active_pane(self, pane: str) -> None:
        self._ensure_loaded(pane)
        self.query_one("#panes", ContentSwitcher).current = pane
        self._focus_pane()
        self.refresh_bindings()
        self._refresh_status()

    def action_show_pane(self, pane: str) -> None:
        if pane in PANES:
            self.active_pane = pane

    def action_search(self) -> None:
        self.search_bar.open()

    def _step_match(self, backwards: bool) -> None:
        matches = self.matches
        if not matches:
            return
        if self.active_pane == "sandwich" and not isinstance(self.focused, FlameGraph):
            view = self.sandwich
            order = [f for f in view.order if f in matches]
            if not order:
                return
            cur = view.frame
            pos = view.order.index(cur) if cur in view.order else -1
            ranked = [(view.order.index(f), f) for f in order]
            if backwards:
                before = [f for i, f in ranked if i < pos]
                view.show_function(before[-1] if before else order[-1])
            else:
                after = [f for i, f in ranked if i > pos]
                view.show_function(after[0] if after else order[0])
            return
        graph = self.current_graph
        if graph is None or graph.model is None:
            return
        node = next_match(graph.model, graph.selected, matches.__contains__, backwards)
        if node is not None:
            graph.zoom_to(node)

    def action_next_match(self) -> None:
        self._step_match(False)

    def action_previous_match(self) -> None:
        self._step_match(True)

    def action_open_sandwich(self) -> None:
        graph = self.current_graph
        if graph is None or graph.selected is None:
            return
        frame = graph.selected.frame
        self.active_pane = "sandwich"
        self._ensure_loaded("sandwich")
        self.sandwich.show_function(frame)
        self.sandwich.table.focus()

    def action_invert(self) -> None:
        self.left_heavy.inverted = not self.left_heavy.inverted

    def action_pick_thread(self) -> None:
        s = self.session
        choices = [(i, s.profile_label(i)) for i in range(len(s.group.profiles))]
        choices.append((MERGED, s.profile_label(MERGED)))
        self.push_screen(ThreadPicker(choices, s.index), self._thread_chosen)

    def _thread_chosen(self, index: int | None) -> None:
        if index is None or index == self.session.index:
            return
        self.select_profile(index)

    def select_profile(self, index: int) -> None:
        """Show profile `index` of the group (or MERGED)."""
        self.session.index = index
        self._load_profile()
        gc.freeze()

    def action_flatten_recursion(self) -> None:
        self.session.flattened = not self.session.flattened
        self._load_profile()
        self.notify("recursion flattened" if self.session.flattened else "recursion shown", markup=False)

    def action_export(self) -> None:
        group = self.session.group

        def save(path: str, fmt: str) -> object:
            return save_profile(group, path, fmt)

        self.push_screen(ExportDialog(group.name, save), self._exported)

    def _exported(self, path: str | None) -> None:
        if path is not None:
            self.notify(f"wrote {_printable(path)}", markup=False)

    def action_copy_name(self) -> None:
        graph = self.current_graph
        fid: int | None = None
        if graph is not None and graph.selected is not None:
            fid = graph.selected.frame
        elif self.active_pane == "sandwich":
            fid = self.sandwich.frame
        if fid is None:
            return
        name = self.session.group.frames[fid].name
        self.copy_to_clipboard(name)
        self.notify(f"copied {_printable(name)}", markup=False)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_sections()))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in PALETTE_COMMANDS:
            yield SystemCommand(title, help_text, _runner(self, action))


def _runner(app: App[None], action: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await app.run_action(action)

    return run


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
    ("Export", "Save as speedscope JSON or folded stacks (e)", "export"),
    ("Copy frame name", "Copy the selected frame's name to the clipboard (c)", "copy_name"),
    ("Keys", "Every key (?)", "help"),
)


def help_sections() -> list[KeySection]:
    return [
        ("Everywhere", [*binding_rows(BpfscopeApp.BINDINGS), ("Ctrl+P", "command palette")]),
        (
            "Flame panes",
            [*binding_rows(FlameGraph.BINDINGS), ("click / double-click", "select / zoom"), ("wheel", "scroll")],
        ),
        (
            "Sandwich",
            [
                ("↑ / ↓", "move"),
                ("Enter", "into callers, then callees (Tab)"),
                *binding_rows(SandwichView.BINDINGS),
                ("header click", "sort by that column"),
            ],
        ),
        ("Search prompt", [("Enter", "keep the search"), *binding_rows(SearchBar.BINDINGS)]),
    ]


def _printable(text: str) -> str:
    from collectors.safe_text import printable

    return printable(text)


def run_app(group: ProfileGroup) -> None:
    """Open the TUI on a loaded group (the CLI's entry point)."""
    # The loaded profile lives as long as the app: keep the cyclic GC from walking it.
    gc.collect()
    gc.freeze()
    BpfscopeApp(group).run()
