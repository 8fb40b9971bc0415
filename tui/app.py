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

from textual import work
from textual.actions import SkipAction
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Input

from collectors.formats.output import save_profile
from collectors.live.base import Collector, CollectorError, Target
from collectors.profile import Profile, ProfileGroup, Unit
from collectors.safe_text import printable
from tui.live import LiveOptions, LiveRun, status_text
from tui.screens.export import ExportDialog
from tui.screens.help import HelpScreen, KeySection, binding_rows
from tui.screens.process_picker import ProcessLister, ProcessPicker, list_processes
from tui.screens.thread_picker import ThreadPicker
from tui.session import MERGED, Session, matching_frames, name_matcher
from tui.views import FlameNode, grouped_model, next_match, time_order_model
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.live_status import LiveStatus
from tui.widgets.sandwich import SandwichView
from tui.widgets.search_bar import SearchBar
from tui.widgets.status import DetailsLine, FrameFacts, ProfileHeader

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
        Binding("e,ctrl+s", "export", "Export", show=False, tooltip="export as speedscope JSON or folded stacks"),
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
    """

    active_pane: var[str] = var("left-heavy", init=False)

    paused: var[bool] = var(False, init=False)
    """Live: the view is frozen while sampling goes on."""

    def __init__(self, group: ProfileGroup | None = None, *, live: LiveOptions | None = None,
                 process_lister: ProcessLister = list_processes) -> None:
        """Open `group`, or with `live`, sample (`live.target`, or one chosen in the picker)."""
        super().__init__()
        if group is None and live is None:
            raise ValueError("nothing to show: give a profile group or live options")
        self.has_profile = group is not None
        self.session = Session(group) if group is not None else _empty_session()
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

    # --- composition -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ProfileHeader(id="header")
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
            model = grouped_model(derived.left_heavy) if pane == "left-heavy" else time_order_model(derived.time_order)
            if self.live is not None:
                graph.update_model(model, frames)  # live: keep the selection and zoom
            else:
                graph.set_model(model, frames)
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
        ("Process picker", [("typing", "filter on name, command line or PID"), *binding_rows(ProcessPicker.BINDINGS),
                            ("header click", "sort by that column")]),
    ]


def _printable(text: str) -> str:
    return printable(text)


def _empty_session() -> Session:
    """What the panes show before the first live samples: nothing, named as such."""
    group = ProfileGroup(name="bpfscope")
    return Session(group, merged=Profile(name="no samples yet", frames=group.frames))


def run_app(group: ProfileGroup) -> None:
    """Open the TUI on a loaded group (the CLI's entry point)."""
    # The loaded profile lives as long as the app: keep the cyclic GC from walking it.
    gc.collect()
    gc.freeze()
    BpfscopeApp(group).run()


def run_live(options: LiveOptions) -> int:
    """Open the TUI sampling live (the picker first when `options.target` is None); the
    collector is stopped however the app ends. Returns the exit status."""
    app = BpfscopeApp(live=options)
    try:
        app.run()
    finally:
        app.stop_sampling()
    return app.return_code or 0
