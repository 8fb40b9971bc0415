"""What the app's mixins may use of the app: its state and the methods they call on each other.

`BpfscopeApp` is put together from mixins (`tui.status_control`, `tui.search_control`,
`tui.filters_control`, `tui.compare`, `tui.live_control`, `tui.files_control`,
`tui.panes_control`), each
one feature's actions, handlers and helpers. They share the app's state, so for the
type checker each mixin derives from `AppHost`, which declares that state and the
methods one part calls on another; at run time a mixin derives from `object` and this
module is never imported (the mixins import it under `TYPE_CHECKING` only). `mypy
--strict` thus checks every use across the parts, and instantiating `BpfscopeApp`
checks that some part defines each method declared here.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

from textual.app import App
from textual.reactive import var

from collectors.diff import FunctionShares, ShareChange
from tui.comparison import Comparison
from tui.live import LiveOptions, LiveRun
from tui.live_driver import LiveDriver
from tui.screens.process_picker import ProcessLister
from tui.search import Search
from tui.session import Session
from tui.shown_panes import ShownPanes
from tui.views import FlameModel
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.sandwich import SandwichView
from tui.widgets.search_bar import SearchBar
from tui.widgets.status import DetailsLine, FrameFacts


class AppHost(App[None]):
    """The app as its mixins see it (for the type checker only: see the module docstring)."""

    active_pane: var[str] = var("left-heavy", init=False)
    paused: var[bool] = var(False, init=False)

    # The state, set in `BpfscopeApp.__init__` (documented there): the session and the
    # feature objects, then the app's own.
    session: Session
    search: Search
    comparison: Comparison
    live_driver: LiveDriver
    panes: ShownPanes
    has_profile: bool
    live_options: LiveOptions | None
    process_lister: ProcessLister
    _quitting: bool
    start_error: str | None
    sync_view_stacks: int

    # --- the panes (tui.app) -----------------------------------------------------------

    @property
    @abstractmethod
    def time_order(self) -> FlameGraph: ...

    @property
    @abstractmethod
    def left_heavy(self) -> FlameGraph: ...

    @property
    @abstractmethod
    def sandwich(self) -> SandwichView: ...

    @property
    @abstractmethod
    def search_bar(self) -> SearchBar: ...

    @property
    @abstractmethod
    def current_graph(self) -> FlameGraph | None: ...

    @property
    @abstractmethod
    def live(self) -> LiveRun | None: ...

    @abstractmethod
    def flame_graphs(self) -> list[FlameGraph]: ...

    @abstractmethod
    def _load_profile(self) -> None: ...

    @abstractmethod
    def _ensure_loaded(self, pane: str) -> None: ...

    @abstractmethod
    def _focus_pane(self) -> None: ...

    @abstractmethod
    def _from_thread(self, callback: Callable[..., object], *args: object) -> bool: ...

    # --- one mixin's methods that another calls ----------------------------------------

    @abstractmethod
    def _apply_search(self) -> None: ...

    @abstractmethod
    def _refresh_status(self) -> None: ...

    def _show_match_count(self) -> None: ...

    @abstractmethod
    def _comparison_label(self) -> str: ...

    @abstractmethod
    def _show_legend(self) -> None: ...

    @abstractmethod
    def _show_change(self, details: DetailsLine, facts: FrameFacts, change: ShareChange | None) -> None: ...

    @abstractmethod
    def _show_base_only_details(self) -> None: ...

    @abstractmethod
    def _function_change(self, fid: int) -> ShareChange | None: ...

    @abstractmethod
    def _comparison_changed(self) -> None: ...

    @abstractmethod
    def _show_since_baseline(self) -> None: ...

    @abstractmethod
    def _compared_shares(self) -> FunctionShares | None: ...

    @abstractmethod
    def _color_graph(self, pane: str, graph: FlameGraph) -> None: ...

    @abstractmethod
    def _show_range(self) -> None: ...

    @abstractmethod
    def _feed_density(self, model: FlameModel) -> None: ...

    @property
    @abstractmethod
    def live_on_worker(self) -> bool: ...

    @abstractmethod
    def refresh_live_view(self, force: bool = False) -> None: ...

    @abstractmethod
    def _live_deferred(self, pane: str) -> bool: ...

    @abstractmethod
    def _live_view_changed(self) -> None: ...
