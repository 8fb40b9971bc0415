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
| `f` / `d` / `m`  | focus on / hide the function, collapse its module|
| `F`              | the filter chips: remove one, add `focus REGEX`…|
| `u` / `U`        | undo / redo a filter or time range change       |
| `v`              | Left Heavy: inverted (bottom-up) flame graph    |
| `w`              | on-CPU / off-CPU / on+off (wall) time           |
| `Esc`            | clear the time range (nothing zoomed)           |
| `b` / `B`        | baseline: mark it (live) / compare with it      |
| `e` / `Ctrl+S`   | export                                          |
| `o` / `Ctrl+O`   | open another profile file (`Ctrl+O` in Sandwich)|
| `c`              | copy the selected frame's name (OSC 52)         |
| `space`          | live: pause / resume the view (sampling goes on)|
| `x`              | live: stop sampling (the data stays)            |
| `p`              | choose a process to sample                      |
| `?`              | help                                            |
| `q` / `Ctrl+C`   | quit                                            |
"""

from __future__ import annotations

import asyncio
import gc
import re
import signal
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from textual import work
from textual.actions import SkipAction
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Input, Static

from collectors.calltree import cached_stack_index, flatten_recursion, stack_index
from collectors.diff import FunctionShares, LiveBaseline, NodeShares, PathDiff, ShareChange, profiles_shares
from collectors.formats.output import save_profile
from collectors.live.base import Collector, CollectorError, Target
from collectors.profile import Profile, ProfileGroup, Unit, merge_profiles
from collectors.safe_text import printable
from tui.live import LiveOptions, LiveRun, status_text
from tui.palette import diff_legend, diff_style
from tui.screens.export import ExportDialog
from tui.screens.filters import FilterScreen
from tui.screens.help import HelpScreen, KeySection, binding_rows
from tui.screens.open_file import OpenFailed, OpenFileDialog, read_profile_file
from tui.screens.process_picker import ProcessLister, ProcessPicker, list_processes
from tui.screens.thread_picker import ThreadPicker
from tui.session import (
    MERGED,
    Derived,
    Session,
    ViewKey,
    ViewState,
    apply_chips,
    function_chip,
    matching_frames,
    module_chip,
    name_matcher,
)
from tui.views import FlameModel, FlameNode, clamp_range, grouped_model, next_match, time_order_model
from tui.widgets.density import DensityStrip
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.live_status import LiveStatus
from tui.widgets.sandwich import SandwichView
from tui.widgets.search_bar import SearchBar
from tui.widgets.status import RANGE_CHIP, DetailsLine, FrameFacts, ProfileHeader, details_lines

PANES = ("time-order", "left-heavy", "sandwich")
PANE_TITLES = {"time-order": "Time Order", "left-heavy": "Left Heavy", "sandwich": "Sandwich"}
LIVE_TICK = 0.25
"""Seconds between live updates (batches applied, panes rebuilt): at most 4 a second."""
LIVE_BUSY_FACTOR = 4.0
"""A pane rebuild that took T seconds waits 4 T before the next, so a big profile keeps
the UI thread at most ~20 % busy with rebuilding and keys stay fast."""
LIVE_SANDWICH_TICK = 1.0
"""The Sandwich refills a table (its drawing is not in the measured rebuild time): at most once a second."""
LIVE_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
DIFF_SCALE = 10.0
"""Comparing: a call path whose share of the total changed by this many points or more gets the
strongest colour (below 5 % of it, 0.5 points, it reads as "same")."""
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
            # Priority: the app acts on `/` as it arrives, so the keys typed in the same
            # burst go to the prompt (otherwise they are already queued for the pane).
            priority=True,
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
        Binding("f", "focus_function", "Focus", show=False,
                tooltip="filter: only stacks through the selected function, re-rooted there"),
        Binding("d", "hide_function", "Hide", show=False,
                tooltip="filter: hide the selected function (its time goes to its caller)"),
        Binding("m", "collapse_module", "Collapse module", show=False,
                tooltip="filter: collapse the selected frame's file or module into one frame"),
        Binding("F", "filters", "Filters", show=False,
                tooltip="the filter chips: remove one, or add focus/hide/collapse/mine REGEX"),
        Binding("u", "undo", "Undo", show=False, tooltip="undo the last filter or time range change"),
        Binding("U", "redo", "Redo", show=False, tooltip="redo a filter or time range change"),
        Binding("v", "toggle_inverted", "Bottom-up", show=False,
                tooltip="Left Heavy: inverted (bottom-up) flame graph, leaf functions as roots"),
        Binding("w", "cycle_time_kind", "Time kind", show=False,
                tooltip="off-CPU captures: on-CPU / off-CPU / on+off (wall) time"),
        Binding("escape", "clear_range", "Clear range", show=False,
                tooltip="clear the time range (in flame panes: once nothing is zoomed)"),
        Binding("b", "mark_baseline", "Baseline", show=False,
                tooltip="live: mark now as the baseline (again: move the mark)"),
        Binding("B", "toggle_comparison", "Compare", show=False,
                tooltip="live: the difference since the baseline / all samples; diff: colours on / off"),
        Binding("e,ctrl+s", "export", "Export", show=False, tooltip="export as speedscope JSON or folded stacks"),
        Binding("o,ctrl+o", "open_file", "Open", show=False,
                tooltip="open another profile file (Ctrl+O in Sandwich, where o sorts)"),
        Binding(
            "c", "copy_name", "Copy name", show=False, tooltip="copy the selected frame's name (OSC 52, works over SSH)"
        ),
        Binding("space", "toggle_pause", "Pause", tooltip="live: pause / resume the view (sampling goes on)"),
        Binding("x", "stop_sampling", "Stop", tooltip="live: stop sampling (the data stays)"),
        Binding("p", "pick_process", "Process", show=False, tooltip="choose a process to sample"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
        Binding("q,ctrl+c", "quit", "Quit", tooltip="quit"),
    ]

    CSS = """
    #panes { height: 1fr; }
    #diff-legend { height: 1; background: $panel; display: none; }
    """

    active_pane: var[str] = var("left-heavy", init=False)

    paused: var[bool] = var(False, init=False)
    """Live: the view is frozen while sampling goes on."""

    def __init__(self, group: ProfileGroup | None = None, *, live: LiveOptions | None = None,
                 process_lister: ProcessLister = list_processes, baseline: ProfileGroup | None = None) -> None:
        """Open `group`, or with `live`, sample (`live.target`, or one chosen in the picker);
        with `baseline`, coloured by the change from it (`bpfscope diff BASE NEW`)."""
        super().__init__()
        self.baseline_group = baseline
        self.live_baseline: LiveBaseline | None = None
        self.comparing = baseline is not None
        """The panes show the change from the baseline (colours, Sandwich columns)."""
        self._all_samples: Session | None = None
        """Live, comparing: the session of every sample, shown again when `B` turns comparing off."""
        self._base_profile: Profile | None = None
        self._comparison: tuple[Derived, PathDiff, Profile] | None = None
        self._base_shares: tuple[PathDiff, FunctionShares] | None = None
        self._node_shares: dict[str, NodeShares[FlameNode]] = {}
        if group is None and live is None:
            raise ValueError("nothing to show: give a profile group or live options")
        self.has_profile = group is not None
        self.session = Session(group) if group is not None else _empty_session()
        if baseline is not None and self.session.has_threads:
            self.session.index = MERGED  # as `bpfscope diff` compares: every thread of each file
        self.live_options = live
        self.process_lister = process_lister
        self.live: LiveRun | None = None
        self.starting: Target | None = None
        self.matches: frozenset[int] | None = None
        self.search_error: str | None = None
        self._loaded: set[str] = set()
        self._view_stale = False
        self._next_rebuild = 0.0
        self._ended_noted = False
        self._hint_noted = False
        self._quitting = False
        self.rebuild_seconds = 0.0
        """How long the last live pane rebuild took (the benchmark reads it)."""
        self.sync_view_stacks = SYNC_TOTALS_STACKS
        """Above this many unique stacks, a filter, range or time kind change is derived on a
        worker (a transform of 100k stacks takes about 0.2 s)."""
        self._shown_trees: dict[str, object] = {}
        """The tree each flame pane shows: an unchanged tree keeps its pane's zoom."""
        self._range_echoes: list[tuple[float, float] | None] = []
        self._density_timed = False
        """Ranges the app itself gave the Time Order graph, whose messages are echoes."""

    # --- composition -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ProfileHeader(id="header")
        yield Static(id="diff-legend")
        strip = DensityStrip(id="density")
        strip.display = False  # shown over a timed Time Order only
        yield strip
        with ContentSwitcher(initial="left-heavy", id="panes"):
            yield FlameGraph(id="time-order", time_axis=True)
            yield FlameGraph(id="left-heavy")
            yield SandwichView(id="sandwich")
        yield SearchBar(id="search")
        yield DetailsLine(id="details")
        yield LiveStatus(id="live-status")
        yield Footer()

    def on_mount(self) -> None:
        for graph in self.flame_graphs():
            self._watch_graph(graph)
        self._watch_time_order()
        self._load_profile()
        self.left_heavy.focus()
        live = self.live_options
        if live is None:
            return
        if live.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in LIVE_SIGNALS:
                loop.add_signal_handler(sig, self._signalled, sig)
        self.set_interval(LIVE_TICK, self.live_tick)
        if live.target is not None:
            self.start_sampling(live.target)
        else:
            self.action_pick_process()

    def on_unmount(self) -> None:
        self._quitting = True
        self.stop_sampling()
        if self.live_options is not None and self.live_options.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in LIVE_SIGNALS:
                loop.remove_signal_handler(sig)

    def _signalled(self, sig: signal.Signals) -> None:
        # Leave through the normal path: unmounting stops the collector and restores the terminal.
        self.stop_sampling()
        self.exit(return_code=128 + int(sig))

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
        if self.live is not None:
            pass  # rebuilt at every update: only for the Sandwich, when it is shown
        elif len(derived.profile.stacks) <= SYNC_TOTALS_STACKS:
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
        if pane in ("left-heavy", "time-order"):
            graph = self.left_heavy if pane == "left-heavy" else self.time_order
            tree: object
            if pane == "left-heavy":
                tree = flame = self.session.flame_tree
                model = grouped_model(flame)
            else:
                tree = timeline = derived.time_order
                model = time_order_model(timeline)
            if self.live is None and self._shown_trees.get(pane) is tree:
                if pane == "time-order":
                    self._show_range()
                return  # e.g. only the time range changed: Time Order keeps its zoom
            self._shown_trees[pane] = tree
            range_before = graph.time_range
            if self.live is not None:
                graph.update_model(model, frames)  # live: keep the selection and zoom
            else:
                graph.set_model(model, frames, keep_range=True)
            if graph.time_range != range_before:  # clipped to the new model: not the user's doing
                self._range_echoes.append(graph.time_range)
            self._color_graph(pane, graph)
            if pane == "time-order":
                self._show_range()
                self._feed_density(model)
        else:
            self.sandwich.set_data(derived.totals, frames, self.session.format, derived.sandwich,
                                   self._compared_shares())
            self._index_stacks(derived)

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
            n = s.profile_count
            where = "all" if s.index == MERGED else f"{s.index + 1}/{n}"
            parts.append(f"{s.profile_label()} [{where}]")
        total = s.format(s.profile.total_weight())
        # A unit of "none" means counts: say "samples" rather than print the word "none".
        parts.append(f"total {total} samples" if s.unit is Unit.NONE else f"{s.unit.value} · total {total}")
        parts.append(PANE_TITLES[self.active_pane])
        kind = s.kind_label()
        if kind is not None:
            parts.append(kind)
        if s.inverted and self.active_pane == "left-heavy":
            parts.append("inverted (bottom-up)")
        if s.flattened:
            parts.append("recursion flattened")
        if s.pending:
            parts.append("applying filters…")
        if self.comparing:
            parts.append(self._comparison_label())
        # The name (a command line, a path) gives way first, so the pane and the kind of time
        # stay in view at 80 columns; the rest is cut by the header if still too long.
        width = self.query_one(ProfileHeader).size.width or 80
        rest = cell_len(" · ".join(parts[1:])) + 3
        if cell_len(parts[0]) + rest > width:
            room = max(12, width - rest)
            if cell_len(parts[0]) > room:
                parts[0] = set_cell_size(parts[0], room - 1) + "…"
        return " · ".join(parts)

    def _refresh_status(self) -> None:
        graph = self.current_graph
        if self.active_pane == "sandwich" and graph is None:
            frame = self.sandwich.frame
            crumbs = [f"sandwich of {self.session.frame_name(frame)}"] if frame is not None else []
        else:
            crumbs = graph.breadcrumb() if graph is not None else []
        s = self.session
        self.query_one(ProfileHeader).show(self._title(), crumbs, [c.text for c in s.view.chips], s.range_label())
        self._show_legend()
        self._show_details(graph)

    def _show_details(self, graph: FlameGraph | None) -> None:
        details = self.query_one(DetailsLine)
        node = graph.selected if graph is not None else None
        if graph is None or node is None or graph.model is None:
            if self.active_pane == "sandwich" and self.sandwich.frame is not None:
                facts = self._function_facts(self.sandwich.frame)
                details.show(facts, self.session.format)
                self._show_change(details, facts, self._function_change(self.sandwich.frame))
            else:
                details.show(None, self.session.format)
            return
        zoom = graph.zoom_node
        view_total = zoom.total if zoom is not None else graph.model.total
        facts = self._facts(node, view_total)
        details.show(facts, self.session.format)
        shares = self._node_shares.get(graph.id or "")
        if shares is not None and self.comparing:
            self._show_change(details, facts, shares.change(node))

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
        if self.active_pane == "time-order" and self.time_order.model is not None:
            return self.time_order.model.total  # the whole timeline, whatever the time range
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
        elif self.session.view.time_range is not None:
            self.action_clear_range()

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

    # --- filters, range, inversion, time kind ------------------------------------------

    def _view_changed(self) -> None:
        """Chips, range, profile, kind or inversion changed: rebuild the panes, deriving the
        new view on a worker when the profile is big (see `sync_view_stacks`)."""
        s = self.session
        big = len(s.base_profile().stacks) > self.sync_view_stacks
        if self.live is None and big and not s.is_ready():
            s.pending = True
            self._refresh_status()  # the chips show at once; the panes follow when ready
            self._derive_view(s.key, s.inverted, self.active_pane == "time-order")
            return
        s.pending = False
        self._load_profile()

    @work(thread=True, exclusive=True, group="view")
    def _derive_view(self, key: ViewKey, inverted: bool, series: bool) -> None:
        self.session.prepare(key, inverted, series)
        self._from_thread(self._view_ready, key, inverted)

    def _view_ready(self, key: ViewKey, inverted: bool) -> None:
        s = self.session
        if key != s.key or inverted != s.inverted:
            return  # a newer change is on its way
        s.pending = False
        self._load_profile()

    def _show_range(self) -> None:
        """Draw the session's time range on the Time Order graph (its messages are echoes)."""
        graph = self.time_order
        before = graph.time_range
        graph.time_range = self.session.timeline_range()
        if graph.time_range != before:
            self._range_echoes.append(graph.time_range)

    def _is_echo(self, rng: tuple[float, float] | None) -> bool:
        """A range message the app caused: its own `_show_range`, or the graph clipping the
        session's range to a new timeline (a filter changed it): not a change of the user's."""
        if self._range_echoes and self._range_echoes[0] == rng:
            self._range_echoes.pop(0)
            return True
        if rng is None or self.session.pending or self.session.view.time_range is None:
            return False
        current, model = self.session.timeline_range(), self.time_order.model
        return current is not None and model is not None and clamp_range(current, model.start, model.end) == rng

    def on_flame_graph_range_selected(self, event: FlameGraph.RangeSelected) -> None:
        if event.graph is not self.time_order or self._is_echo((event.start, event.end)):
            return
        if self.session.set_range((event.start, event.end)):
            self._after_filter_change()

    def on_flame_graph_range_cleared(self, event: FlameGraph.RangeCleared) -> None:
        if event.graph is not self.time_order or self._is_echo(None):
            return
        if self.session.set_range(None):
            self._after_filter_change()

    @property
    def density(self) -> DensityStrip:
        return self.query_one("#density", DensityStrip)

    def _watch_time_order(self) -> None:
        graph = self.time_order

        def viewed(_: int) -> None:
            view = graph.view
            if view is not None:
                self.density.set_view(view.start, view.end)

        def ranged(rng: tuple[float, float] | None) -> None:
            self.density.set_range(rng)

        self.watch(graph, "zoom_generation", viewed, init=False)
        self.watch(graph, "time_range", ranged, init=False)

    def _feed_density(self, model: FlameModel) -> None:
        """The strip's rows: each thread's samples over the Time Order extent (timed only:
        untimed x is cumulative weight, where a density is flat)."""
        timeline = self.session.current.time_order
        strip = self.density
        self._density_timed = timeline.timed and model.end > model.start
        if self._density_timed:
            profile = (self.session.current.timeline or self.session.current).profile
            origin = profile.times[0] if profile.times else None
            strip.set_series(self.session.thread_series(), model.start, model.end, origin=origin)
            view = self.time_order.view
            if view is not None:
                strip.set_view(view.start, view.end)
            strip.set_range(self.time_order.time_range)
        self._show_density()

    def _show_density(self) -> None:
        self.density.display = self.active_pane == "time-order" and self._density_timed

    def on_density_strip_bin_clicked(self, event: DensityStrip.BinClicked) -> None:
        self.time_order.time_range = (event.start, event.end)

    def action_clear_range(self) -> None:
        if self.session.set_range(None):
            self._after_filter_change()

    def _after_filter_change(self) -> None:
        self._view_changed()
        if "time-order" in self._loaded and not self.session.pending:
            self._show_range()  # else when the new view is ready
        self.refresh_bindings()

    def _selected_frame(self) -> int | None:
        graph = self.current_graph
        if graph is not None and graph.selected is not None:
            return graph.selected.frame
        if self.active_pane == "sandwich":
            return self.sandwich.frame
        return None

    def _add_frame_chip(self, kind: str) -> None:
        fid = self._selected_frame()
        if fid is None:
            return
        frame = self.session.group.frames[fid]
        chip = function_chip(kind, frame) if kind != "collapse" else module_chip(frame)
        if chip is None:
            self.notify(f"no file or module is known for {_printable(frame.name)}", markup=False)
            return
        if self.session.add_chip(chip):
            self._after_filter_change()

    def action_focus_function(self) -> None:
        self._add_frame_chip("focus")

    def action_hide_function(self) -> None:
        self._add_frame_chip("hide")

    def action_collapse_module(self) -> None:
        self._add_frame_chip("collapse")

    def action_filters(self) -> None:
        if not isinstance(self.screen, FilterScreen):
            self.push_screen(FilterScreen([c.text for c in self.session.view.chips]))

    def _chips_changed(self) -> None:
        self._after_filter_change()
        if isinstance(self.screen, FilterScreen):
            self.screen.show_chips([c.text for c in self.session.view.chips])

    def on_filter_screen_added(self, event: FilterScreen.Added) -> None:
        if self.session.add_chip(event.chip):
            self._chips_changed()

    def on_filter_screen_removed(self, event: FilterScreen.Removed) -> None:
        if self.session.remove_chip(event.index):
            self._chips_changed()

    def on_profile_header_chip_removed(self, event: ProfileHeader.ChipRemoved) -> None:
        s = self.session
        if s.set_range(None) if event.index == RANGE_CHIP else s.remove_chip(event.index):
            self._chips_changed()

    def action_undo(self) -> None:
        if self.session.undo():
            self._chips_changed()
        else:
            self.notify("nothing to undo", markup=False)

    def action_redo(self) -> None:
        if self.session.redo():
            self._chips_changed()
        else:
            self.notify("nothing to redo", markup=False)

    def action_toggle_inverted(self) -> None:
        self.session.inverted = not self.session.inverted
        self._view_changed()
        self.active_pane = "left-heavy"

    def action_cycle_time_kind(self) -> None:
        kind = self.session.cycle_time_kind()
        if kind is not None:
            self._view_changed()
            self.refresh_bindings()
            self.notify(f"showing {self.session.kind_label()}", markup=False)

    # --- comparing with a baseline -----------------------------------------------------

    def _baseline(self) -> Profile | None:
        """The profile compared with (before the view's filters): the base file's threads
        merged, or in a live session the samples before the mark."""
        if self.live is not None:
            return self.live_baseline.before if self.live_baseline is not None else None
        group = self.baseline_group
        if group is None or not group.profiles:
            return None
        if self._base_profile is None:
            self._base_profile = group.profiles[0] if len(group.profiles) == 1 else merge_profiles(group)
        return self._base_profile

    def _compare(self) -> tuple[Derived, PathDiff, Profile] | None:
        """The shown view against the baseline (recursion and filters applied to both), built
        once per view, with the base profile as compared; None when not comparing."""
        if not self.comparing:
            return None
        derived = self.session.current
        cached = self._comparison
        if cached is not None and cached[0] is derived:
            return cached
        base = self._baseline()
        if base is None:
            return None
        s = self.session
        base = apply_chips(flatten_recursion(base) if s.flattened else base, s.view.chips)
        self._comparison = (derived, PathDiff(base, derived.profile), base)
        return self._comparison

    def _compared_shares(self) -> FunctionShares | None:
        """The base's per-function shares for the Sandwich (only when it is shown)."""
        comparison = self._compare()
        if comparison is None:
            return None
        cached = self._base_shares
        if cached is None or cached[0] is not comparison[1]:
            base = comparison[2]
            cached = self._base_shares = (comparison[1], profiles_shares(base.frames, [base]))
        return cached[1]

    def _comparison_label(self) -> str:
        run, mark = self.live, self.live_baseline
        if run is not None and mark is not None:
            return f"difference since the baseline ({mark.mark} samples before, {mark.after.sample_count} since)"
        name = self.baseline_group.name if self.baseline_group is not None else ""
        return f"compared with {_printable(name) or 'the baseline'}"

    def _color_graph(self, pane: str, graph: FlameGraph) -> None:
        """Colour a flame pane by how each call path's share changed (comparing), else by the palette."""
        comparison = self._compare()
        model = graph.model
        if comparison is None or model is None or (pane == "left-heavy" and self.session.inverted):
            self._node_shares.pop(pane, None)  # bottom-up paths have no counterpart: palette colours
            if graph.colorer is not None:
                graph.set_colorer(None)
            return
        shares = self._node_shares[pane] = NodeShares(comparison[1], model.parent)

        def colour(node: FlameNode) -> Style:
            return diff_style(shares.change(node).delta, DIFF_SCALE, graph.color_mode)

        graph.set_colorer(colour)

    def _show_legend(self) -> None:
        legend = self.query_one("#diff-legend", Static)
        shown = self.comparing and self._baseline() is not None
        legend.display = shown
        if not shown:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        # The legend first: at 80 columns the explanation after it may be cut.
        text.append_text(diff_legend(self.left_heavy.color_mode))
        text.append(f"  share of the total, {self._comparison_label()} (±{DIFF_SCALE:g} points: full colour)")
        legend.update(text)

    def _show_change(self, details: DetailsLine, facts: FrameFacts, change: ShareChange | None) -> None:
        """The details line with `base 12.3 % → new 18.0 % (+5.7)` in front of the weights."""
        if change is None:
            return
        first, second = details_lines(facts, self.session.format)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(first, style="bold")
        text.append("\n")
        text.append(change.describe(), style="bold")
        text.append(f"  {second}")
        details.update(text, layout=False)

    def _function_change(self, fid: int) -> ShareChange | None:
        changes = self.sandwich.changes if self.comparing else None
        c = changes.get(fid) if changes is not None else None
        return ShareChange(c[2], c[3]) if c is not None else None

    def _comparison_changed(self) -> None:
        """Comparing turned on or off, or the baseline moved: every pane again."""
        self._comparison = None
        self._node_shares.clear()
        self._load_profile()
        for pane in ("left-heavy", "time-order"):
            # An unchanged tree is not set again when its pane is shown: colour it here.
            graph = self.left_heavy if pane == "left-heavy" else self.time_order
            if graph.model is not None:
                self._color_graph(pane, graph)
        self.refresh_bindings()

    def action_mark_baseline(self) -> None:
        run = self.live
        if run is None:
            return
        if run.pump():  # the mark is "now": what the collector has gathered counts as before
            self._view_stale = True
        self.live_baseline = LiveBaseline(run.merged)
        if self.comparing:
            self._show_since_baseline()
        else:
            self.refresh_bindings()
        self.notify(f"baseline marked at {self.live_baseline.mark} samples; B shows the difference since",
                    markup=False)

    def action_toggle_comparison(self) -> None:
        if self.live is None:
            if self.baseline_group is not None:
                self.comparing = not self.comparing
                self._comparison_changed()
            return
        if self.live_baseline is None:
            self.notify("mark a baseline first (b)", markup=False)
            return
        self.comparing = not self.comparing
        if self.comparing:
            self._show_since_baseline()
            return
        every = self._all_samples
        self._all_samples = None
        if every is not None:
            every.flattened, every.inverted = self.session.flattened, self.session.inverted
            every.invalidate()
            self.session = every
        self._comparison_changed()

    def _show_since_baseline(self) -> None:
        """Live: the panes show the samples since the mark, coloured against those before it."""
        run, mark = self.live, self.live_baseline
        if run is None or mark is None:
            return
        mark.sync()
        if self._all_samples is None:
            self._all_samples = self.session
        since = Session(run.group, merged=mark.after)
        # The filters and toggles carry over; a time range does not (the timeline starts at the mark).
        since.flattened, since.inverted = self.session.flattened, self.session.inverted
        since.view = ViewState(chips=self.session.view.chips)
        self.session = since
        self._comparison_changed()

    def _index_stacks(self, derived: Derived) -> None:
        """The Sandwich's stack index (a sandwich then reads only the stacks through its
        function): at once for a small profile, else on a worker (until it is ready, a
        sandwich scans every stack, as before)."""
        weights = derived.stack_weights  # on this thread: the index is valid for this very dict
        if cached_stack_index(derived.profile, weights) is not None:
            return
        if self.live is None and len(weights) <= SYNC_TOTALS_STACKS:
            stack_index(derived.profile, weights)
        else:
            self._build_stack_index(derived.profile, weights)

    @work(thread=True, exclusive=True, group="stack-index")
    def _build_stack_index(self, profile: Profile, weights: dict[int, float]) -> None:
        stack_index(profile, weights)

    # --- live --------------------------------------------------------------------------

    def start_sampling(self, target: Target) -> None:
        """Start a collector on `target` (on a worker: bcc compiles for seconds); the current
        run, if any, goes on until the new one has started."""
        if self.live_options is None or self.starting is not None:
            return
        self.starting = target
        self._update_live_status()
        self._start_collector(target)

    @work(thread=True, exclusive=True, group="collector")
    def _start_collector(self, target: Target) -> None:
        assert self.live_options is not None
        try:
            collector, note = self.live_options.starter(target)
        except (CollectorError, ValueError) as e:
            self._from_thread(self._start_failed, target, str(e))
            return
        except Exception as e:  # a bug in a collector: say so, keep the app usable
            self._from_thread(self._start_failed, target, repr(e))
            return
        if not self._from_thread(self._started, collector, note):
            collector.stop()  # the app is gone: release the kernel resources anyway

    def _from_thread(self, callback: Callable[..., object], *args: object) -> bool:
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:  # the app has exited
            return False
        return True

    def _started(self, collector: Collector, note: str | None) -> None:
        self.starting = None
        if self._quitting:
            collector.stop()
            return
        self.stop_sampling()
        options = self.live_options
        log = options.output_log if options is not None and collector.target.command else None
        run = self.live = LiveRun(collector, note, log)
        self.has_profile = True
        self.paused = False
        self._ended_noted = self._hint_noted = False
        self.session = Session(run.group, merged=run.merged)
        self.live_baseline, self.comparing, self._all_samples, self._comparison = None, False, None, None
        for graph in (self.left_heavy, self.time_order):
            graph.set_model(None, None)
        self._load_profile()
        self._view_stale = True
        self._next_rebuild = 0.0
        if isinstance(self.screen, ProcessPicker):
            self.pop_screen()
        if note:
            self.notify(note, severity="warning", timeout=15, markup=False)
        self.notify(printable(collector.describe()), markup=False)
        self.refresh_bindings()
        self._update_live_status()

    def _start_failed(self, target: Target, reason: str) -> None:
        self.starting = None
        self.notify(f"cannot sample {printable(target.describe())}: {printable(reason)}", title="bpfscope",
                    severity="error", timeout=20, markup=False)
        self._update_live_status()
        if self.live is None and not isinstance(self.screen, ProcessPicker):
            self.action_pick_process()

    def live_tick(self) -> None:
        """Apply what the collector gathered; rebuild the shown pane unless paused or too soon."""
        run = self.live
        if run is None or self._quitting or self._exit or not self.is_running:
            return  # exiting: the widgets may already be gone; quitting stops the collector
        if run.pump():
            self._view_stale = True
        if run.ended and not self._ended_noted:
            self._ended_noted = self._view_stale = True
            if not run.stopped:
                self.notify(run.state(False), markup=False)
            self.refresh_bindings()
        hint = run.collector.stats.hint()
        if hint and not self._hint_noted:
            self._hint_noted = True
            self.notify(hint, title="hint", severity="warning", timeout=20, markup=False)
        if self._view_stale and not self.paused and self._clock() >= self._next_rebuild:
            self.rebuild_live_view()
        self._update_live_status()

    def rebuild_live_view(self) -> None:
        """Rebuild the shown pane from the grown profile, keeping selection and zoom (the
        other panes catch up when shown); a slow rebuild spaces out the next ones."""
        start = time.perf_counter()
        self._view_stale = False
        if self.comparing and self.live_baseline is not None:
            self.live_baseline.sync()
        self.session.invalidate()
        with self.batch_update():
            self._loaded.clear()
            self._ensure_loaded(self.active_pane)
            if self.search_bar.pattern:
                self._apply_search()
            self._refresh_status()
        self.rebuild_seconds = time.perf_counter() - start
        least = LIVE_SANDWICH_TICK if self.active_pane == "sandwich" else LIVE_TICK
        self._next_rebuild = self._clock() + max(least, LIVE_BUSY_FACTOR * self.rebuild_seconds)

    def _clock(self) -> float:
        return self.live_options.clock() if self.live_options is not None else time.monotonic()

    def _update_live_status(self) -> None:
        found = self.screen_stack[0].query(LiveStatus) if self.screen_stack else None
        if not found:
            return  # the app is closing
        status = found.first()
        run = self.live
        if run is not None:
            status.show(status_text(run, self.paused), paused=self.paused, ended=run.ended)
        if self.starting is not None:
            what = f"starting a collector for {printable(self.starting.describe())}…"
            status.show(f"{status.text} · {what}" if run is not None else what)

    def stop_sampling(self) -> None:
        """Stop the collector, if one runs (kernel resources released); the data stays."""
        run = self.live
        if run is not None and not run.stopped:
            run.stop()

    def watch_paused(self) -> None:
        if not self.paused:
            self._next_rebuild = 0.0
        self._update_live_status()

    def action_toggle_pause(self) -> None:
        if self.live is not None and not self.live.ended:
            self.paused = not self.paused
            if not self.paused and self._view_stale:
                self.rebuild_live_view()

    def action_stop_sampling(self) -> None:
        run = self.live
        if run is None or run.ended:
            return
        run.stop()
        self._ended_noted = True
        self.paused = False
        self.rebuild_live_view()
        self.refresh_bindings()
        self._update_live_status()
        self.notify("sampling stopped; the data stays (e to export)", markup=False)

    def action_pick_process(self) -> None:
        if self.live_options is not None and not isinstance(self.screen, ProcessPicker):
            self.push_screen(ProcessPicker(self.process_lister))

    def on_process_picker_chosen(self, event: ProcessPicker.Chosen) -> None:
        self.start_sampling(event.target)

    async def action_quit(self) -> None:
        self._quitting = True
        self.stop_sampling()
        self.exit()

    # --- actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_pause", "stop_sampling"):
            return self.live is not None and not self.live.ended
        if action == "pick_process":
            return self.live_options is not None
        if action == "invert":
            return self.active_pane == "left-heavy"
        if action == "pick_thread":
            # Comparing live shows all threads since the mark: a single thread has no such split.
            return self.session.has_threads and not (self.live is not None and self.comparing)
        if action == "mark_baseline":
            return self.live is not None
        if action == "toggle_comparison":
            return self.baseline_group is not None or self.live_baseline is not None
        if action == "cycle_time_kind":
            return bool(self.session.time_kinds())
        if action == "clear_range":
            return self.session.view.time_range is not None
        if action == "open_file":
            return self.live is None or self.live.ended  # stop sampling (x) first
        return True

    def watch_active_pane(self, pane: str) -> None:
        self._ensure_loaded(pane)
        self._show_density()
        self.query_one("#panes", ContentSwitcher).current = pane
        self._focus_pane()
        self.refresh_bindings()
        self._refresh_status()

    def action_show_pane(self, pane: str) -> None:
        if pane in PANES:
            self.active_pane = pane

    def action_search(self) -> None:
        # `/` is a priority binding: over other screens or in a text field it is a character.
        if not self.screen.query("#panes") or isinstance(self.focused, Input):
            raise SkipAction()
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
        self.push_screen(ThreadPicker(s.choices(), s.index), self._thread_chosen)

    def _thread_chosen(self, index: int | None) -> None:
        if index is None or index == self.session.index:
            return
        self.select_profile(index)

    def select_profile(self, index: int) -> None:
        """Show profile `index` of the group (or MERGED)."""
        self.session.index = index
        self._view_changed()
        gc.freeze()

    def action_flatten_recursion(self) -> None:
        self.session.flattened = not self.session.flattened
        self._view_changed()
        self.notify("recursion flattened" if self.session.flattened else "recursion shown", markup=False)

    def action_export(self) -> None:
        group = self.session.group

        def save(path: str, fmt: str) -> object:
            return save_profile(group, path, fmt)

        self.push_screen(ExportDialog(group.name, save), self._exported)

    def _exported(self, path: str | None) -> None:
        if path is not None:
            self.notify(f"wrote {_printable(path)}", markup=False)

    def action_open_file(self) -> None:
        self.push_screen(OpenFileDialog(), self._open_chosen)

    def _open_chosen(self, path: str | None) -> None:
        if path is not None:
            self._read_file(path)

    @work(thread=True, exclusive=True, group="open-file")
    def _read_file(self, path: str) -> None:
        """Load on a worker (a big file takes seconds); a bad file becomes one notification."""
        try:
            group = read_profile_file(path)
        except OpenFailed as e:
            self._from_thread(self._open_failed, str(e))
            return
        self._from_thread(self._file_opened, group, path)

    def _open_failed(self, message: str) -> None:
        self.notify(message, title="cannot open", severity="error", timeout=15, markup=False)

    def _file_opened(self, group: ProfileGroup, path: str) -> None:
        """Show `group` in place of the current profile (a finished live run's included)."""
        if self.live is not None and not self.live.ended:
            self.notify("stop sampling (x) before opening a file", severity="warning", markup=False)
            return
        self.live = None
        self.query_one(LiveStatus).remove_class("-live")  # a file: no live status line
        self.has_profile = True
        self.baseline_group = self._base_profile = self._base_shares = None
        self.live_baseline, self.comparing, self._all_samples, self._comparison = None, False, None, None
        self.session = Session(group)
        for graph in (self.left_heavy, self.time_order):
            graph.set_model(None, None)
        self._comparison_changed()  # every pane again, without comparison colours
        gc.collect()
        gc.freeze()
        self.notify(f"opened {_printable(path)}", markup=False)

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
    ("Stop sampling", "Live: stop the collector, keep the data (x)", "stop_sampling"),
    ("Choose a process", "The process picker: sample another process (p)", "pick_process"),
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
        ("Filter screen", [("Enter", "add the typed filter; in the list: remove the chip"),
                           ("Tab", "between the prompt and the list"), *binding_rows(FilterScreen.BINDINGS)]),
        ("Process picker", [("typing", "filter on name, command line or PID"), *binding_rows(ProcessPicker.BINDINGS),
                            ("header click", "sort by that column")]),
    ]


def _printable(text: str) -> str:
    return printable(text)


def _empty_session() -> Session:
    """What the panes show before the first live samples: nothing, named as such."""
    group = ProfileGroup(name="bpfscope")
    return Session(group, merged=Profile(name="no samples yet", frames=group.frames))


def run_app(group: ProfileGroup, baseline: ProfileGroup | None = None) -> None:
    """Open the TUI on a loaded group (the CLI's entry point); with `baseline`, compared with it."""
    # The loaded profile lives as long as the app: keep the cyclic GC from walking it.
    gc.collect()
    gc.freeze()
    BpfscopeApp(group, baseline=baseline).run()


def run_live(options: LiveOptions) -> int:
    """Open the TUI sampling live (the picker first when `options.target` is None); the
    collector is stopped however the app ends. Returns the exit status."""
    app = BpfscopeApp(live=options)
    try:
        app.run()
    finally:
        app.stop_sampling()
    return app.return_code or 0
