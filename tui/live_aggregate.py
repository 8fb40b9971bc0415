"""Live aggregation off the UI thread: the collector's samples applied and the shown pane's
trees built on a worker, so that the UI thread only swaps in a finished result. No Textual here.

The handover. A `LiveAggregator` owns the `LiveRun` (the batches applied to the profile
group, the merged "all threads" profile, the baseline mark) and what it keeps to build
incrementally: for each growing profile the weight per stack, summed as samples come, and
its Time Order tree, extended rather than laid out again. Only its methods touch them, under
its lock; the app calls `update` on a worker thread, one call at a time (on the UI thread
while the profile is small, where that costs less than a thread switch), and `group_now`
(export) on the UI thread, which then waits for an update in progress.

`update` takes a `LiveRequest`, frozen, made on the UI thread (what the UI shows: the view
key, the pane, its zoom and selection as paths), and returns a `LiveUpdate` whose every
mutable object was made during that call, from copies (`ProfileGroup.copy`, `Profile.copy`),
and is never touched by the aggregator again: a `Session` over the copies with the requested
view derived in its cache, the pane's model with its zoom stack, selection and the rows of
the first screen, the baseline's profiles and the comparison with them. The UI thread owns
all that from then on (and may expand those trees further). What it still shares with the
aggregator never changes: stack tuples, `Frame`s, strings, the copy of the samples before
the baseline, and the Time Order tree. That tree is not copied (a copy costs as much as the
samples laid out: 445 ms at 168k samples): the aggregator grows its successor, which shares
its finished nodes and changes none of them, and reads only what it shares; the tree reads
only its first `sample_count` entries of the arrays the successor appends to (see
`TimeOrderTree.extended`). (The Sandwich's stack index goes, as before, through
`collectors.calltree`'s per-profile cache, keyed by the copy.)

The UI thread sends plain values down (`LiveRequest`) and takes finished objects back
(`LiveUpdate`): it never reads the run's profiles, and the worker never reads a widget.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

from collectors.calltree import GroupedTree, TimeOrderTree, flatten_recursion, stack_index
from collectors.diff import FunctionShares, LiveBaseline, PathDiff, profiles_shares
from collectors.profile import FrameTable, Profile, ProfileGroup
from tui.chips import apply_chips
from tui.comparison import Compared, LiveMark
from tui.derived import Derived
from tui.live import LiveRun
from tui.sandwich_rows import sorted_functions
from tui.session import Session, ViewKey
from tui.shown_panes import FLAME_PANES
from tui.time_axis import DensityIndex, profile_density
from tui.views import (
    FlameModel,
    FlameNode,
    PaneState,
    Span,
    Viewport,
    carried_view,
    grouped_model,
    layout_rows,
    time_order_model,
)


@dataclass(frozen=True)
class LiveRequest:
    """What the UI thread shows and wants built (all plain, immutable values)."""

    key: ViewKey | None
    """The view (`Session.key`); None: only apply the batches (the view is paused)."""
    pane: str = "left-heavy"
    bottom_up: bool = False
    """Left Heavy shows the bottom-up tree."""
    since_mark: bool = False
    """Comparing: the view is of the samples since the baseline, compared with those before."""
    mark: bool = False
    """Mark a baseline first (`b`): the samples so far, these batches included, are before it."""
    state: PaneState | None = None
    """The flame pane's zoom, selection and width, to lay its new model out for."""
    sandwich: int | None = None
    """The Sandwich's function, whose callers and callees to build (None: the table's first)."""
    sandwich_sort: str = "self"
    """The Sandwich table's order (which function comes first)."""
    series: bool = False
    """The density strip's rows too (Time Order)."""
    force: bool = False
    """Build even when no sample came since the last update (the view or the pane changed)."""


@dataclass(frozen=True, eq=False)
class PreparedPane:
    """A flame pane's new model, laid out for the request's zoom and selection (`carried_view`)."""

    tree: GroupedTree | TimeOrderTree
    model: FlameModel
    state: PaneState
    """What the stack and selection were carried from: valid while the pane still has it."""
    stack: list[Viewport]
    selected: FlameNode | None
    rows: list[list[Span]]
    """The layout of `stack[-1]` at `state.width` cells."""
    series: list[tuple[str, Profile]] | None = None
    """Time Order: the density strip's rows (`Session.thread_series`, in the update's session)."""
    density: list[DensityIndex] | None = None
    """Their samples indexed for binning (`profile_density`)."""


@dataclass(frozen=True, eq=False)
class LiveUpdate:
    """What one `update` made: the UI thread's from now on (see the module docstring)."""

    request: LiveRequest
    samples: int
    """Samples in the merged profile."""
    added: int
    """Samples applied by this update."""
    session: Session | None
    """The copies with the requested view derived; None when nothing was built (paused, or
    no new sample for an unforced request)."""
    pane: PreparedPane | None = None
    baseline: LiveMark | None = None
    marked: bool = False
    """This update made a new mark."""
    comparison: Compared | None = None
    """Comparing: the view, its diff with the baseline, the baseline as compared (filtered)."""
    base_shares: FunctionShares | None = None
    """Comparing, in the Sandwich: the baseline's per-function shares."""
    seconds: float = 0.0
    """How long `update` took."""


class Growing:
    """A profile that only grows (the merged one, or the samples since the baseline) and what
    is kept to build its views incrementally: the weight per stack, summed as samples come
    (what `Profile.stack_weights` sums again over every sample), and its Time Order tree,
    extended with the new samples only (`TimeOrderTree.extended`). The aggregator's alone."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.weights: dict[int, float] = {}
        self._summed = 0
        self._tree: TimeOrderTree | None = None
        self.time_order_seconds = (0.0, 0.0)
        """The last `time_order`'s seconds growing the tree, then laying its first screen out."""

    def sync(self) -> None:
        """Add the samples appended since the last call to the sums (in order: the same sums)."""
        p = self.profile
        n, done = p.sample_count, self._summed
        if n > done:
            weights = self.weights
            get = weights.get
            for sid, w in zip(p.sample_stacks[done:n], p.weights[done:n], strict=True):
                weights[sid] = get(sid, 0.0) + w
            self._summed = n

    def time_order(self, copy: Profile, state: PaneState | None) -> tuple[TimeOrderTree, Layout | None]:
        """The Time Order tree of the profile now (`copy` is a copy of it): this profile's tree
        extended, and laid out for `state` (the pane's zoom and selection). The tree is handed
        over as it is: growing it next time makes a new tree, which shares this one's nodes
        but changes none of them (`TimeOrderTree.extended`)."""
        began = time.perf_counter()
        earlier = self._tree  # kept until the new tree is laid out: its nodes are what the new one carries over
        tree = self._tree = TimeOrderTree(self.profile) if earlier is None else earlier.extended(self.profile)
        if tree.sample_count != copy.sample_count:
            raise ValueError(f"a copy of {tree.sample_count} samples was expected, not {copy.sample_count}")
        grown = time.perf_counter()
        layout = _lay_out(time_order_model(tree), state) if state is not None else None
        self.time_order_seconds = (grown - began, time.perf_counter() - grown)
        return tree, layout


Layout = tuple[list[Viewport], FlameNode | None, list[list[Span]]]
"""A pane's zoom stack, selection and the rows of its first screen (`carried_view`, `layout_rows`)."""


def _lay_out(model: FlameModel, state: PaneState) -> Layout:
    stack, selected = carried_view(model, state)
    return stack, selected, layout_rows(model, stack[-1], state.width)


class LiveAggregator:
    """The worker side of a live run: applies its batches and builds what the UI shows."""

    def __init__(self, run: LiveRun) -> None:
        self.run = run
        self._lock = threading.Lock()
        self._merged = Growing(run.merged)
        self._baseline: LiveBaseline | None = None
        self._since: Growing | None = None
        self._before: Profile | None = None
        """A copy of the samples before the mark (with its own stack table): never changes."""

    @property
    def time_order_seconds(self) -> tuple[float, float]:
        """The last Time Order update of the merged profile: seconds growing its tree, then
        laying the pane's first screen out (`make bench` reports them apart)."""
        return self._merged.time_order_seconds

    def first_session(self) -> Session:
        """A session over copies of what there is now (before any sample: nothing)."""
        with self._lock:
            group = self.run.group.copy()
            return Session(group, merged=self.run.merged.copy(group.frames))

    def group_now(self) -> ProfileGroup:
        """A copy of the group with every sample gathered so far (what `e` exports, even paused)."""
        with self._lock:
            self.run.pump()
            return self.run.group.copy()

    def update(self, request: LiveRequest) -> LiveUpdate:
        """Apply the batches queued since the last call and, unless `request.key` is None,
        build the requested view over copies of the profiles (see the module docstring)."""
        with self._lock:
            began = time.perf_counter()
            added = self.run.pump()
            marked = request.mark
            if marked:
                self._mark()
            if request.key is None or not (added or marked or request.force):
                frames = self.run.group.frames.copy() if marked else None
                baseline = self._live_mark(frames) if frames is not None else None
                return LiveUpdate(request, self.run.merged.sample_count, added, None, baseline=baseline,
                                  marked=marked, seconds=time.perf_counter() - began)
            update = self._build(request, added, marked)
            return dataclasses.replace(update, seconds=time.perf_counter() - began)

    def _mark(self) -> None:
        base = self._baseline = LiveBaseline(self.run.merged)
        self._before = base.before.copy()  # its own stack table (the slice shares the merged one's)
        self._since = Growing(base.after)

    def _live_mark(self, frames: FrameTable) -> LiveMark | None:
        """The baseline's profiles as of now, over `frames` (a copy of the group's)."""
        base, since, before = self._baseline, self._since, self._before
        if base is None or since is None or before is None:
            return None
        base.sync()
        since.sync()
        # The view's frame table (a diff then matches frames by id, not by name); `before` never changes.
        return LiveMark(base.mark, dataclasses.replace(before, frames=frames), since.profile.copy(frames))

    def _build(self, request: LiveRequest, added: int, marked: bool) -> LiveUpdate:
        assert request.key is not None
        group = self.run.group.copy()
        merged = self._merged
        merged.sync()
        shown, growing = merged.profile.copy(group.frames), merged
        mark = self._live_mark(group.frames)
        if request.since_mark and mark is not None and self._since is not None:
            shown, growing = mark.after, self._since
        session = Session(group, merged=shown)
        key = request.key
        _, kind, flattened, chips, time_range = key
        pane = request.pane
        wants_time_order = pane == "time-order" or time_range is not None

        laid: dict[int, Layout] = {}

        def seed(d: Derived) -> None:
            d.seed(stack_weights=dict(growing.weights))
            if wants_time_order:
                tree, layout = growing.time_order(shown, request.state if pane == "time-order" else None)
                d.seed(time_order=tree)
                if layout is not None:
                    laid[id(tree)] = layout

        session.preset_merged(kind, seed)
        derived = session.derive(key)
        _ = derived.total_weight
        prepared = series = density = None
        if pane in FLAME_PANES:
            tree: GroupedTree | TimeOrderTree
            if pane == "left-heavy":
                tree = derived.bottom_up if request.bottom_up else derived.left_heavy
                model = grouped_model(tree)
            else:
                tree = derived.time_order
                model = time_order_model(tree)
                if request.series and tree.timed:
                    series = session.thread_series(key)
                    density = [profile_density(p) for _, p in series]
            state = request.state or PaneState((), None, 0)
            layout = laid.get(id(tree)) or _lay_out(model, state)
            prepared = PreparedPane(tree, model, state, *layout, series, density)
        else:
            totals = derived.totals
            stack_index(derived.profile, derived.stack_weights)  # what `_index_stacks` would start a worker for
            frame = request.sandwich
            if frame is None or frame not in totals.total:  # the one the table will select: its first
                frame = next(iter(sorted_functions(totals, group.frames, request.sandwich_sort)), None)
            if frame is not None:
                derived.sandwich(frame)
        comparison = shares = None
        if request.since_mark and mark is not None:
            base = apply_chips(flatten_recursion(mark.before) if flattened else mark.before, chips)
            diff = PathDiff(base, derived.profile)
            comparison = Compared(derived, diff, base)
            if pane == "sandwich":
                shares = diff.rekey_shares(profiles_shares(base.frames, [base]))
        return LiveUpdate(request, merged.profile.sample_count, added, session, prepared, mark, marked, comparison,
                          shares)
