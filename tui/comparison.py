"""Comparing with a baseline, as a feature object: what is compared with, and the comparison of
the shown view with it, built once per view.

Textual-free (`tui.compare` draws it and runs its big builds on a worker): the baseline is the
base file of `bpfscope diff BASE NEW` (its threads merged) or, live, the samples before the
mark `b` made; `B` turns comparing on and off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from collectors.calltree import flatten_recursion
from collectors.diff import FunctionShares, NodeShares, PathDiff, profiles_shares
from collectors.profile import Profile, ProfileGroup, merge_profiles
from collectors.safe_text import printable
from tui.chips import Chip, apply_chips
from tui.derived import Derived
from tui.session import Session, ViewState
from tui.views import FlameNode

SYNC_COMPARE_STACKS = 20_000
"""Up to this many unique stacks in the base and the shown profile together, the comparison
is built at once; above, on a worker."""
EXPAND_PCT = 0.5
"""The worker also groups every call path of at least this share (a cell at 200 columns), so
colouring the first screen of a flame graph groups nothing on the UI thread."""


@dataclass(frozen=True, eq=False)
class LiveMark:
    """The baseline as the UI sees it: `mark` samples `before` it, `after` it those since (copies)."""

    mark: int
    before: Profile
    after: Profile


@dataclass(frozen=True)
class Compared:
    """The shown view (`derived`) against the base as compared (`base`: recursion and filters
    applied as to the view), call path by call path (`diff`)."""

    derived: Derived
    diff: PathDiff
    base: Profile


@dataclass(frozen=True)
class CompareJob:
    """A comparison too big for the UI thread: `build` it on a worker, then hand it to `landed`."""

    derived: Derived
    base: Profile
    flattened: bool
    chips: Sequence[Chip]

    def build(self) -> tuple[Compared, FunctionShares]:
        """The comparison and the base's per-function shares (any thread: reads only its inputs)."""
        compared = apply_chips(flatten_recursion(self.base) if self.flattened else self.base, self.chips)
        diff = PathDiff(compared, self.derived.profile)
        diff.expand(EXPAND_PCT)
        shares = diff.rekey_shares(profiles_shares(compared.frames, [compared]))
        return Compared(self.derived, diff, compared), shares


class Comparison:
    """The baseline, whether the panes show the change from it, and the comparison of the shown view."""

    def __init__(self, baseline_group: ProfileGroup | None, sync_stacks: int = SYNC_COMPARE_STACKS) -> None:
        self.baseline_group = baseline_group
        """`bpfscope diff`'s base file."""
        self.live_baseline: LiveMark | None = None
        """Live: the samples before and since the mark `b` made."""
        self.comparing = baseline_group is not None
        """The panes show the change from the baseline (colours, Sandwich columns)."""
        self.all_samples: Session | None = None
        """Live, comparing: the session of every sample, shown again when comparing stops."""
        self.sync_stacks = sync_stacks
        self.current: Compared | None = None
        """The comparison of the view last compared (valid while it is the view shown)."""
        self.base_shares: tuple[PathDiff, FunctionShares] | None = None
        """The base's per-function shares for the Sandwich, keyed to the comparison they came with."""
        self.node_shares: dict[str, NodeShares[FlameNode]] = {}
        """Each flame pane's colours: the change of each of its nodes' share."""
        self.job: CompareJob | None = None
        """The comparison being built on a worker (its result is dropped if the view or base changed)."""
        self._base_profile: Profile | None = None

    @property
    def has_baseline(self) -> bool:
        return self.baseline_group is not None or self.live_baseline is not None

    def baseline(self, live: bool) -> Profile | None:
        """The profile compared with (before the view's filters): the base file's threads
        merged, or in a live session the samples before the mark."""
        if live:
            return self.live_baseline.before if self.live_baseline is not None else None
        group = self.baseline_group
        if group is None or not group.profiles:
            return None
        if self._base_profile is None:
            self._base_profile = group.profiles[0] if len(group.profiles) == 1 else merge_profiles(group)
        return self._base_profile

    def compare(self, session: Session, live: bool, live_on_worker: bool) -> Compared | CompareJob | None:
        """The shown view against the baseline, built here once per view; a `CompareJob` when
        it is big and not yet built or being built (the panes stay uncoloured until it lands);
        None when not comparing, or live on a worker (each live update brings its comparison)."""
        if not self.comparing:
            return None
        derived = session.current
        if self.current is not None and self.current.derived is derived:
            return self.current
        base = self.baseline(live)
        if base is None or live_on_worker:
            return None
        if not live and len(base.stacks) + len(derived.profile.stacks) > self.sync_stacks:
            job = self.job
            if job is not None and job.derived is derived and job.base is base:
                return None  # on its way
            self.job = CompareJob(derived, base, session.flattened, session.view.chips)
            return self.job
        compared = apply_chips(flatten_recursion(base) if session.flattened else base, session.view.chips)
        self.current = Compared(derived, PathDiff(compared, derived.profile), compared)
        return self.current

    def landed(self, job: CompareJob, compared: Compared, shares: FunctionShares, shown: Derived) -> bool:
        """Take a worker's comparison if it is still wanted (the job is the latest, comparing is
        on and its view is the one `shown`); whether it was taken."""
        if job is not self.job:
            return False  # the view, the baseline or comparing changed since
        self.job = None
        if not self.comparing or compared.derived is not shown:
            return False
        self.current = compared
        self.base_shares = (compared.diff, shares)
        return True

    def function_shares(self, compared: Compared) -> FunctionShares:
        """The base's per-function shares, computed once per comparison."""
        cached = self.base_shares
        if cached is None or cached[0] is not compared.diff:
            base = compared.base
            shares = compared.diff.rekey_shares(profiles_shares(base.frames, [base]))
            cached = self.base_shares = (compared.diff, shares)
        return cached[1]

    def adopt(self, compared: Compared | None, base_shares: FunctionShares | None) -> None:
        """Live: what an update built on the worker."""
        self.current = compared
        if compared is not None and base_shares is not None:
            self.base_shares = (compared.diff, base_shares)

    def label(self, live: bool) -> str:
        mark = self.live_baseline
        if live and mark is not None:
            return f"difference since the baseline ({mark.mark} samples before, {mark.after.sample_count} since)"
        name = self.baseline_group.name if self.baseline_group is not None else ""
        return f"compared with {printable(name) or 'the baseline'}"

    def changed(self) -> None:
        """Comparing turned on or off, or the baseline moved: nothing built so far holds."""
        self.current = self.job = None
        self.node_shares.clear()

    def new_run(self) -> None:
        """A new live run: no mark, not comparing."""
        self.live_baseline, self.comparing, self.all_samples = None, False, None
        self.changed()

    def since_mark(self, shown: Session) -> Session:
        """Live: the session of the samples since the mark, the filters and toggles of `shown`
        carried over (a time range is not: the timeline starts at the mark), showing `shown`'s
        trees until the next update lands. `shown` is kept, to go back to."""
        mark = self.live_baseline
        assert mark is not None
        if self.all_samples is None:
            self.all_samples = shown
        since = Session(shown.group, merged=mark.after)
        since.flattened, since.bottom_up = shown.flattened, shown.bottom_up
        since.view = ViewState(chips=shown.view.chips)
        since.show_meanwhile(shown.current)
        return since

    def every_sample(self, shown: Session) -> Session | None:
        """Live, comparing stopped: the session of every sample again, with `shown`'s toggles."""
        every, self.all_samples = self.all_samples, None
        if every is not None:
            every.flattened, every.bottom_up = shown.flattened, shown.bottom_up
        return every
