"""The Textual app: composes the panes and routes keys and messages between them.

The panes draw; `tui.session.Session` holds what is being looked at (which thread,
recursion flattened or not) and the trees derived from it. Each feature's actions,
handlers and helpers are a mixin in its own module: `tui.status_control` (the header
and details lines), `tui.search_control` (search), `tui.filters_control` (filters, time
range, inversion, time kind), `tui.compare` (the comparison with a baseline),
`tui.live_control` (live sampling), `tui.files_control` (export, open), `tui.panes_control`
(loading what each pane draws); `tui.app_help`
makes the command palette's entries and the help's key tables. The global keys are
declared in `tui.keys` (one `GlobalKey` per action: its binding, when it may act, its
palette entry and help row); `?` lists them.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterable
from typing import ClassVar

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.reactive import var
from textual.screen import ModalScreen, Screen
from textual.widgets import ContentSwitcher, Footer, Static

from collectors.profile import Profile, ProfileGroup
from collectors.safe_text import printable
from tui.app_help import PALETTE_COMMANDS, help_sections, palette_commands
from tui.compare import DIFF_SCALE, ComparisonMixin
from tui.comparison import Comparison
from tui.escape_delay import apply_escape_delay, driver_for
from tui.files_control import FilesMixin
from tui.filters_control import FiltersMixin
from tui.gc_tuning import settle_gc, tune_gc
from tui.keys import GLOBAL_KEYS, GlobalKey, is_available, key_bindings
from tui.live import LiveOptions
from tui.live_control import LiveControlMixin
from tui.live_driver import LIVE_TICK, LiveDriver
from tui.panes_control import SYNC_TOTALS_STACKS, PanesMixin
from tui.screens.help import HelpScreen
from tui.screens.process_picker import ProcessLister, ProcessPicker, list_processes
from tui.screens.thread_picker import ThreadPicker
from tui.search import Search
from tui.search_control import SearchMixin
from tui.session import MERGED, Session
from tui.shown_panes import ShownPanes
from tui.status_control import StatusMixin
from tui.views import FlameNode, PathMap, without_repeats
from tui.widgets.density import DensityStrip
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.live_status import LiveStatus
from tui.widgets.message_line import MessageLine
from tui.widgets.sandwich import SandwichView
from tui.widgets.search_bar import SearchBar
from tui.widgets.status import DetailsLine, ProfileHeader

__all__ = ["DIFF_SCALE", "PALETTE_COMMANDS", "BpfscopeApp", "run_app", "run_live"]

PANES = ("time-order", "left-heavy", "sandwich")


class BpfscopeApp(
    StatusMixin, SearchMixin, FiltersMixin, ComparisonMixin, LiveControlMixin, FilesMixin, PanesMixin, App[None]
):
    """bpfscope's TUI over a loaded `ProfileGroup` (tests build one in code).

    The features live in the mixins (`tui.status_control`, `tui.search_control`,
    `tui.filters_control`, `tui.compare`, `tui.live_control`, `tui.files_control`,
    `tui.panes_control`); this
    class composes the panes, loads them and routes the keys (declared in `tui.keys`)."""

    TITLE = "bpfscope"

    GLOBAL_KEYS: ClassVar[tuple[GlobalKey, ...]] = GLOBAL_KEYS
    BINDINGS: ClassVar[list[BindingType]] = [*key_bindings(GLOBAL_KEYS)]

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
        self.comparison = Comparison(baseline)
        """The baseline and the comparison of the shown view with it (`tui.comparison`)."""
        if group is None and live is None:
            raise ValueError("nothing to show: give a profile group or live options")
        self.has_profile = group is not None
        self.session = Session(group) if group is not None else _empty_session()
        if baseline is not None and self.session.has_threads:
            self.session.index = MERGED  # as `bpfscope diff` compares: every thread of each file
        self.live_options = live
        self.process_lister = process_lister
        self.live_driver = LiveDriver(live.clock if live is not None else time.monotonic)
        """Live: the run and when its updates are built, where (`tui.live_driver`)."""
        self.search = Search()
        """The prompt's pattern and the frames it matches (`tui.search`)."""
        self.panes = ShownPanes()
        """What each pane shows (`tui.shown_panes`)."""
        self._quitting = False
        self.pending_message: tuple[str, str, str, float] | None = None
        """A message for a screen whose message line is not mounted yet."""
        self.messages: list[tuple[str, str]] = []
        """The last 100 messages, (severity, text), oldest first (tests read them)."""
        self.start_error: str | None = None
        """Why the target given on the command line could not be sampled (the app then exits 2)."""
        self.sync_view_stacks = SYNC_TOTALS_STACKS
        """Above this many unique stacks, a filter, range or time kind change is derived on a
        worker (a transform of 100k stacks takes about 0.2 s)."""

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
        for graph in self.flame_graphs():
            self._watch_graph(graph)
        self._watch_time_order()
        self._load_profile()
        self.left_heavy.focus()
        live = self.live_options
        if live is None:
            return
        if live.handle_signals:
            self._handle_signals()
        self.set_interval(LIVE_TICK, self.live_tick)
        if live.target is not None:
            self.start_sampling(live.target)
        else:
            self.action_pick_process()

    def on_unmount(self) -> None:
        self._quitting = True
        self.stop_sampling()
        if self.live_options is not None and self.live_options.handle_signals:
            self._release_signals()

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

    # --- messages ----------------------------------------------------------------------

    def _watch_graph(self, graph: FlameGraph) -> None:
        # Watchers, not messages: they run at once, so the details line is painted in the
        # same frame as the graph's rows.
        def selected(_: FlameNode | None) -> None:
            if graph is self.current_graph:
                self._show_details(graph)

        def zoomed(_: int) -> None:
            if graph is self.current_graph:
                self._refresh_status()

        self.watch(graph, "selected", selected, init=False)
        self.watch(graph, "zoom_generation", zoomed, init=False)

    def on_flame_graph_back_at_top(self, event: FlameGraph.BackAtTop) -> None:
        if self.search.matches is not None or self.search_bar.pattern:
            self._clear_search()
        elif self.session.view.time_range is not None:
            self.action_clear_range()

    def on_sandwich_view_function_selected(self, event: SandwichView.FunctionSelected) -> None:
        self._refresh_status()

    def on_descendant_focus(self) -> None:
        self._refresh_status()

    def _focus_pane(self) -> None:
        if self.active_pane == "sandwich":
            self.sandwich.table.focus()
        else:
            self.query_one(f"#{self.active_pane}", FlameGraph).focus()

    # --- workers -----------------------------------------------------------------------

    def _from_thread(self, callback: Callable[..., object], *args: object) -> bool:
        """Run `callback` on the UI thread, from a worker; False when the app has exited."""
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:  # the app has exited
            return False
        return True

    # --- actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return is_available(self.GLOBAL_KEYS, action, self)

    # --- what the keys' availability reads (`tui.keys.KeyState`) ------------------------

    @property
    def picking_process(self) -> bool:
        return isinstance(self.screen, ProcessPicker)

    @property
    def live_view(self) -> bool:
        return self.live is not None

    @property
    def sampling(self) -> bool:
        return self.live is not None and not self.live.ended

    @property
    def live_mode(self) -> bool:
        return self.live_options is not None

    @property
    def has_baseline(self) -> bool:
        return self.comparison.has_baseline

    @property
    def comparing(self) -> bool:
        return self.comparison.comparing

    @property
    def has_time_kinds(self) -> bool:
        return bool(self.session.time_kinds())

    @property
    def has_time_range(self) -> bool:
        return self.session.view.time_range is not None

    def watch_active_pane(self, pane: str) -> None:
        self._ensure_loaded(pane)
        self._show_density()
        self.query_one("#panes", ContentSwitcher).current = pane
        self._focus_pane()
        self.refresh_bindings()
        self._refresh_status()
        if self.search.matches is not None:
            self._show_match_count()

    def action_show_pane(self, pane: str) -> None:
        if pane in PANES:
            self.active_pane = pane

    def action_open_sandwich(self) -> None:
        graph = self.current_graph
        if graph is None or graph.selected is None:
            return
        frame = graph.selected.frame
        self.active_pane = "sandwich"
        self._ensure_loaded("sandwich")
        self.sandwich.show_function(frame)
        self.sandwich.table.focus()

    def action_flip_root(self) -> None:
        self.left_heavy.root_at_bottom = not self.left_heavy.root_at_bottom

    def action_pick_thread(self) -> None:
        s = self.session
        if not s.has_threads:
            self.notify(f"{s.profile_label(0) or 'this profile'} is the only thread here: nothing to choose",
                        markup=False)
            return
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
        same: PathMap = list
        mapping = without_repeats if self.session.flattened else same
        self.panes.carry(mapping)
        self._view_changed()
        self.notify("recursion flattened" if self.session.flattened else "recursion shown", markup=False)

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
        self.notify(f"copied {printable(name)}", markup=False)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_sections(self.GLOBAL_KEYS)))

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
