"""The Textual app: composes the panes, owns the view state and routes keys and messages.

What is shown is a `tui.view_state.ViewState`: the session (what is looked at, and the trees
derived from it) and the feature objects over it, plain classes without Textual. Each feature
is a control that drives its part of that state and draws it through the panes
(`tui.pane_set.PaneSet`), handed only what it uses: `tui.status_control` (the header,
legend and details lines), `tui.search_control` (search), `tui.panes_control` (what each pane
draws, its colours, the time range and density strip), `tui.live_control` (live sampling),
`tui.filters_control` (filters, range, thread, recursion, inversion, time kind),
`tui.compare` (`b` / `B`) and `tui.files_control` (export, open). The app routes each key's
action and each pane's message to one of them. The global keys are declared in `tui.keys`
(one `GlobalKey` per action: its binding, when it may act, its palette entry and help row);
`tui.app_help` makes the palette's entries and the help's tables from them; `?` lists them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import ClassVar

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.reactive import var
from textual.screen import ModalScreen, Screen
from textual.widgets import ContentSwitcher, Footer, Static

from collectors.live.base import Target
from collectors.profile import Profile, ProfileGroup
from collectors.safe_text import printable
from tui.app_help import PALETTE_COMMANDS, help_sections, palette_commands
from tui.compare import ComparisonControl
from tui.comparison import Comparison
from tui.escape_delay import apply_escape_delay, driver_for
from tui.files_control import FilesControl
from tui.filters_control import FiltersControl
from tui.gc_tuning import settle_gc, tune_gc
from tui.key_state import AppKeyState
from tui.keys import GLOBAL_KEYS, GlobalKey, is_available, key_bindings
from tui.live import LiveOptions, LiveRun
from tui.live_control import LiveControl
from tui.live_driver import LIVE_TICK, LiveDriver
from tui.pane_set import PANES, PaneSet
from tui.panes_control import SYNC_TOTALS_STACKS, PanesControl
from tui.screens.filters import FilterScreen
from tui.screens.help import HelpScreen
from tui.screens.process_picker import ProcessLister, ProcessPicker, list_processes
from tui.search import Search
from tui.search_control import SearchControl
from tui.session import MERGED, Session
from tui.shown_panes import ShownPanes
from tui.status_control import DIFF_SCALE, StatusControl
from tui.view_state import ViewState
from tui.views import FlameNode
from tui.widgets.density import DensityStrip
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.live_status import LiveStatus
from tui.widgets.message_line import MessageLine
from tui.widgets.sandwich import SandwichView
from tui.widgets.search_bar import SearchBar
from tui.widgets.status import DetailsLine, ProfileHeader

__all__ = ["DIFF_SCALE", "PALETTE_COMMANDS", "BpfscopeApp", "run_app", "run_live"]


class BpfscopeApp(App[None]):
    """bpfscope's TUI over a loaded `ProfileGroup` (tests build one in code), or sampling live.

    It composes the panes, owns the view state and hands each control the part it drives;
    keys (declared in `tui.keys`) and the panes' messages are routed to the controls."""

    TITLE = "bpfscope"

    GLOBAL_KEYS: ClassVar[tuple[GlobalKey, ...]] = GLOBAL_KEYS
    BINDINGS: ClassVar[list[BindingType]] = [*key_bindings(GLOBAL_KEYS)]

    CSS = """
    #panes { height: 1fr; }
    #diff-legend { height: 1; background: $panel; display: none; }
    """

    active_pane: var[str] = var("left-heavy", init=False)

    def __init__(self, group: ProfileGroup | None = None, *, live: LiveOptions | None = None,
                 process_lister: ProcessLister = list_processes, baseline: ProfileGroup | None = None) -> None:
        """Open `group`, or with `live`, sample (`live.target`, or one chosen in the picker);
        with `baseline`, coloured by the change from it (`bpfscope diff BASE NEW`)."""
        super().__init__()
        if group is None and live is None:
            raise ValueError("nothing to show: give a profile group or live options")
        session = Session(group) if group is not None else _empty_session()
        if baseline is not None and session.has_threads:
            session.index = MERGED  # as `bpfscope diff` compares: every thread of each file
        self.state = ViewState(session, Comparison(baseline),
                               LiveDriver(live.clock if live is not None else time.monotonic), Search(),
                               ShownPanes(), has_profile=group is not None)
        """What is shown: the one owner of the session and the feature objects."""
        self.live_options = live
        self.pending_message: tuple[str, str, str, float] | None = None
        """A message for a screen whose message line is not mounted yet."""
        self.messages: list[tuple[str, str]] = []
        """The last 100 messages, (severity, text), oldest first (tests read them)."""
        ui = self.ui = PaneSet(self, lambda: self.active_pane)
        self.status = StatusControl(ui, self.state)
        self.search_control = SearchControl(self, ui, self.state)
        self.panes = PanesControl(self, ui, self.state, self.status, self.search_control,
                                  lambda pane: self.live_control.deferred(pane))
        self.live_control = LiveControl(self, ui, self.state, live, process_lister, self.panes,
                                         self.search_control, self.status)
        self.filters = FiltersControl(self, ui, self.state, self.panes, self.live_control, self.action_show_pane,
                                      SYNC_TOTALS_STACKS)
        self.compare_control = ComparisonControl(self, self.state, self.panes, self.live_control)
        self.key_state = AppKeyState(ui, self.state, live is not None)
        """What the keys' availability reads (`tui.keys.KeyState`)."""
        self.files = FilesControl(self, ui, self.state, self.panes.clear_graphs, self.compare_control.changed)

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
        yield MessageLine(id="message")
        yield LiveStatus(id="live-status")
        yield Footer()

    def on_mount(self) -> None:
        for graph in self.ui.every_graph():
            self._watch_graph(graph)
        self.panes.watch_time_order()
        self.panes.load_profile()
        self.left_heavy.focus()
        live = self.live_options
        if live is None:
            return
        if live.handle_signals:
            self.live_control.handle_signals()
        self.set_interval(LIVE_TICK, self.live_tick)
        if live.target is not None:
            self.start_sampling(live.target)
        else:
            self.action_pick_process()

    def on_unmount(self) -> None:
        self.live_control.quitting = True
        self.stop_sampling()
        if self.live_options is not None and self.live_options.handle_signals:
            self.live_control.release_signals()

    # --- what tests and tools read -------------------------------------------------------

    @property
    def session(self) -> Session:
        return self.state.session

    @property
    def comparison(self) -> Comparison:
        return self.state.comparison

    @property
    def has_profile(self) -> bool:
        """A profile is shown (the process picker's Esc goes back to it)."""
        return self.state.has_profile

    @property
    def live_driver(self) -> LiveDriver:
        return self.state.live_driver

    @property
    def live(self) -> LiveRun | None:
        """The live run shown (sampling or ended); None for a file."""
        return self.state.live

    @property
    def live_on_worker(self) -> bool:
        """Live updates are built on a worker (see `LiveDriver.on_worker`)."""
        return self.state.live_driver.on_worker

    @property
    def start_error(self) -> str | None:
        """Why the target given on the command line could not be sampled (the app then exits 2)."""
        return self.live_control.start_error

    @property
    def sync_view_stacks(self) -> int:
        """Above this many unique stacks, a filter, range or time kind change is derived on a
        worker (a transform of 100k stacks takes about 0.2 s)."""
        return self.filters.sync_view_stacks

    @sync_view_stacks.setter
    def sync_view_stacks(self, stacks: int) -> None:
        self.filters.sync_view_stacks = stacks

    @property
    def match_count(self) -> int | None:
        return self.state.search.count

    @property
    def search_error(self) -> str | None:
        return self.state.search.error

    @property
    def time_order(self) -> FlameGraph:
        return self.ui.time_order

    @property
    def left_heavy(self) -> FlameGraph:
        return self.ui.left_heavy

    @property
    def sandwich(self) -> SandwichView:
        return self.ui.sandwich

    @property
    def search_bar(self) -> SearchBar:
        return self.ui.search_bar

    @property
    def density(self) -> DensityStrip:
        return self.ui.density

    @property
    def current_graph(self) -> FlameGraph | None:
        """The graph keys act on: the focused one, else the active pane's."""
        return self.ui.current_graph

    def start_sampling(self, target: Target) -> None:
        """Start a collector on `target` (see `LiveControl.start_sampling`)."""
        self.live_control.start_sampling(target)

    def stop_sampling(self) -> None:
        """Stop the collector, if one runs (kernel resources released); the data stays."""
        self.live_control.stop_sampling()

    def live_tick(self) -> None:
        self.live_control.tick()

    def select_profile(self, index: int) -> None:
        """Show profile `index` of the group (or MERGED)."""
        self.filters.select_profile(index)

    # --- messages up from the panes ------------------------------------------------------

    def _watch_graph(self, graph: FlameGraph) -> None:
        # Watchers, not messages: they run at once, so the details line is painted in the
        # same frame as the graph's rows.
        def selected(_: FlameNode | None) -> None:
            if graph is self.current_graph:
                self.status.show_details(graph)

        def zoomed(_: int) -> None:
            if graph is self.current_graph:
                self.status.refresh()

        self.watch(graph, "selected", selected, init=False)
        self.watch(graph, "zoom_generation", zoomed, init=False)

    def on_flame_graph_back_at_top(self, event: FlameGraph.BackAtTop) -> None:
        if self.search_control.active:
            self.search_control.clear()
        elif self.state.session.view.time_range is not None:
            self.filters.clear_range()

    def on_flame_graph_range_selected(self, event: FlameGraph.RangeSelected) -> None:
        if event.graph is self.time_order:
            self.filters.set_range((event.start, event.end))

    def on_flame_graph_range_cleared(self, event: FlameGraph.RangeCleared) -> None:
        if event.graph is self.time_order:
            self.filters.set_range(None)

    def on_density_strip_bin_clicked(self, event: DensityStrip.BinClicked) -> None:
        # The user's doing, as a drag on the graph: the graph draws it at once and reports it.
        self.time_order.time_range = (event.start, event.end)

    def on_sandwich_view_function_selected(self, event: SandwichView.FunctionSelected) -> None:
        self.status.refresh()

    def on_descendant_focus(self) -> None:
        self.status.refresh()

    def on_search_bar_changed(self, event: SearchBar.Changed) -> None:
        self.search_control.apply()

    def on_search_bar_done(self, event: SearchBar.Done) -> None:
        self.search_control.done(event.cleared)

    def on_filter_screen_added(self, event: FilterScreen.Added) -> None:
        self.filters.add_chip(event.chip)

    def on_filter_screen_removed(self, event: FilterScreen.Removed) -> None:
        self.filters.remove_chip(event.index)

    def on_profile_header_chip_removed(self, event: ProfileHeader.ChipRemoved) -> None:
        self.filters.remove_chip(event.index)

    def on_process_picker_chosen(self, event: ProcessPicker.Chosen) -> None:
        self.start_sampling(event.target)

    # --- keys: when each may act (`tui.keys.KeyState`) -----------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return is_available(self.GLOBAL_KEYS, action, self.key_state)

    @property
    def paused(self) -> bool:
        """Live: the view is frozen while sampling goes on."""
        return self.state.paused

    @property
    def comparing(self) -> bool:
        return self.state.comparison.comparing

    # --- keys: what each does (declared in `tui.keys`) ------------------------------------

    def watch_active_pane(self, pane: str) -> None:
        self.panes.ensure_loaded(pane)
        self.panes.show_density()
        self.query_one("#panes", ContentSwitcher).current = pane
        self.ui.focus_pane()
        self.refresh_bindings()
        self.status.refresh()
        if self.state.search.matches is not None:
            self.search_control.show_match_count()

    def action_show_pane(self, pane: str) -> None:
        if pane in PANES:
            self.active_pane = pane

    def action_open_sandwich(self) -> None:
        graph = self.current_graph
        if graph is None or graph.selected is None:
            return
        frame = graph.selected.frame
        self.active_pane = "sandwich"
        self.panes.ensure_loaded("sandwich")
        self.sandwich.show_function(frame)
        self.sandwich.table.focus()

    def action_flip_root(self) -> None:
        self.left_heavy.root_at_bottom = not self.left_heavy.root_at_bottom

    def action_copy_name(self) -> None:
        fid = self.ui.selected_frame()
        if fid is None:
            return
        name = self.session.group.frames[fid].name
        self.copy_to_clipboard(name)
        self.notify(f"copied {printable(name)}", markup=False)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_sections(self.GLOBAL_KEYS)))

    def action_search(self) -> None:
        self.search_control.open()

    def action_next_match(self) -> None:
        self.search_control.step(backwards=False)

    def action_previous_match(self) -> None:
        self.search_control.step(backwards=True)

    def action_pick_thread(self) -> None:
        self.filters.pick_thread()

    def action_flatten_recursion(self) -> None:
        self.filters.flatten_recursion()

    def action_focus_function(self) -> None:
        self.filters.add_frame_chip("focus")

    def action_hide_function(self) -> None:
        self.filters.add_frame_chip("hide")

    def action_collapse_module(self) -> None:
        self.filters.add_frame_chip("collapse")

    def action_filters(self) -> None:
        self.filters.open_filters()

    def action_undo(self) -> None:
        self.filters.undo()

    def action_redo(self) -> None:
        self.filters.redo()

    def action_toggle_bottom_up(self) -> None:
        self.filters.toggle_bottom_up()

    def action_cycle_time_kind(self) -> None:
        self.filters.cycle_time_kind()

    def action_clear_range(self) -> None:
        self.filters.clear_range()

    def action_mark_baseline(self) -> None:
        self.compare_control.mark_baseline()

    def action_toggle_comparison(self) -> None:
        self.compare_control.toggle()

    def action_export(self) -> None:
        self.files.export()

    def action_open_file(self) -> None:
        self.files.open()

    def action_toggle_pause(self) -> None:
        self.live_control.toggle_pause()

    def action_resume(self) -> None:
        """`space` while paused: the footer says Resume (a binding of its own)."""
        self.live_control.toggle_pause()

    def action_stop_sampling(self) -> None:
        self.live_control.stop_by_user()

    def action_pick_process(self) -> None:
        self.live_control.pick_process()

    async def action_quit(self) -> None:
        self.live_control.quit()

    # --- messages to the user ------------------------------------------------------------

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Messages go to the message line of the screen in view (never a box over the
        panes); `markup` is ignored: messages are plain text. Kept in `messages` too."""
        self.messages = [*self.messages[-99:], (severity, message)]
        default = 5.0 if severity == "information" else 15.0
        shown = (message, title, severity, default if timeout is None else timeout)
        line = self.message_line()
        if line is None:  # a screen being composed: its line shows it once mounted
            self.pending_message = shown
            return
        line.show(*shown)

    def message_line(self) -> MessageLine | None:
        """The message line in view: the top screen's, or under modal dialogs the screen's below."""
        for screen in reversed(self.screen_stack):
            for line in screen.query(MessageLine):
                if isinstance(line, MessageLine):
                    return line
            if not isinstance(screen, ModalScreen):
                return None
        return None

    def get_driver_class(self) -> type[Driver]:
        return driver_for(super().get_driver_class())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from palette_commands(self, self.GLOBAL_KEYS)


def _empty_session() -> Session:
    """What the panes show before the first live samples: nothing, named as such."""
    group = ProfileGroup(name="bpfscope")
    return Session(group, merged=Profile(name="no samples yet", frames=group.frames))


def run_app(group: ProfileGroup, baseline: ProfileGroup | None = None) -> None:
    """Open the TUI on a loaded group (the CLI's entry point); with `baseline`, compared with it."""
    settle_gc()
    apply_escape_delay()
    BpfscopeApp(group, baseline=baseline).run()


def run_live(options: LiveOptions) -> int:
    """Open the TUI sampling live (the picker first when `options.target` is None); the
    collector is stopped however the app ends. Returns the exit status."""
    tune_gc()
    apply_escape_delay()
    app = BpfscopeApp(live=options)
    try:
        app.run()
    finally:
        app.stop_sampling()
    if app.start_error is not None:
        print(f"bpfscope: {app.start_error}", file=sys.stderr)
    return app.return_code or 0
