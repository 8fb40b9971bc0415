"""The live session's driver, as a feature object: when an update is due, where it is built,
one at a time, and what it leaves to do.

Textual-free (`tui.live_control` runs it: the timer, the worker, the swap-in): the run and its
`tui.live_aggregate.LiveAggregator`, the update being built, the flags that ask for the next
one, and the back-off after a slow one.
"""

from __future__ import annotations

from collections.abc import Callable

from collectors.live.base import CUT_SHORT, Target
from tui.live import LiveRun
from tui.live_aggregate import LiveAggregator, LiveRequest, LiveUpdate, PreparedPane

LIVE_TICK = 0.25
"""Seconds between live updates (batches applied, panes rebuilt): at most 4 a second."""
LIVE_BUSY_FACTOR = 4.0
"""An update whose swap-in took T seconds of the UI thread waits 4 T before the next; one that
took W seconds on the worker waits W (the worker holds the GIL meanwhile, which slows keys)."""
SYNC_LIVE_SAMPLES = 5_000
"""Up to this many samples, live updates are built on the UI thread (a few ms: less than the
thread hand-offs would cost); above, on a worker."""
LIVE_SANDWICH_TICK = 1.0
"""The Sandwich refills a table (its drawing is not in the measured rebuild time): at most once a second."""


class LiveDriver:
    """One live session's updates: due when, built where, one at a time."""

    def __init__(self, clock: Callable[[], float], sync_samples: int = SYNC_LIVE_SAMPLES) -> None:
        self.clock = clock
        self.sync_samples = sync_samples
        """Above this many samples, updates are built on a worker."""
        self.run: LiveRun | None = None
        self.aggregator: LiveAggregator | None = None
        """The run's worker side: the only one to touch its profiles."""
        self.starting: Target | None = None
        """A target whose collector is starting (the current run goes on meanwhile)."""
        self.job: LiveRequest | None = None
        """The update being built on a worker."""
        self.samples = 0
        """Samples in the last update."""
        self.dirty = False
        """The next update must build even without new samples (the view changed)."""
        self.again = False
        """An update was asked for while one was being built: it follows."""
        self.mark_wanted = False
        """`b`: the next update marks the baseline."""
        self.prepared: PreparedPane | None = None
        """The shown pane's model as the last update laid it out."""
        self.next_rebuild = 0.0
        self.ended_noted = False
        self.hint_noted = False
        self.rebuild_seconds = 0.0
        """How long the last update took the UI thread (its swap-in; built there: all of it)."""
        self.paused = False
        """The view is frozen while sampling goes on (updates only apply the batches)."""

    def begin(self, run: LiveRun) -> LiveAggregator:
        """A new run: the first update is due at once and builds whatever it finds."""
        self.run = run
        self.aggregator = LiveAggregator(run)
        self.job, self.samples, self.prepared = None, 0, None
        self.dirty, self.again, self.mark_wanted = True, False, False
        self.ended_noted = self.hint_noted = False
        self.next_rebuild = 0.0
        return self.aggregator

    def end(self) -> None:
        """No run any more (a file was opened): what it built is dropped."""
        self.run = self.aggregator = self.job = self.prepared = None
        self.samples = 0

    @property
    def on_worker(self) -> bool:
        """Updates are built on a worker: the profile outgrew `sync_samples` (or will with what
        the collector has gathered: its count is safe to read from any thread)."""
        run = self.run
        return run is not None and max(self.samples, run.collector.stats.samples) > self.sync_samples

    def ended_now(self) -> bool:
        """Whether sampling has just been seen to end (once per run); its last samples are then
        applied whatever the pause."""
        if self.run is None or not self.run.ended or self.ended_noted:
            return False
        self.ended_noted = self.dirty = True
        return True

    def hint_now(self) -> float | None:
        """The share of stacks cut short, the first time a window of them is mostly cut short
        (see `LiveRun.cut_share`): the user is told once how to get whole stacks."""
        run = self.run
        if run is None or self.hint_noted:
            return None
        share = run.cut_share()
        if share is None or share < CUT_SHORT:
            return None
        self.hint_noted = True
        return share

    def due(self) -> bool:
        """An update may start: none is being built and the back-off is over (paused: at once:
        it only applies the batches)."""
        return self.job is None and (self.paused or self.clock() >= self.next_rebuild)

    def ask(self, force: bool) -> bool:
        """Ask for an update (`force`: even without new samples); False when one is being built
        (this one then follows it)."""
        self.dirty = self.dirty or force
        if self.job is not None:
            self.again = True
            return False
        return True

    def take_mark(self) -> bool:
        mark, self.mark_wanted = self.mark_wanted, False
        return mark

    def take_force(self) -> bool:
        force, self.dirty = self.dirty, False
        return force

    def landed(self, aggregator: LiveAggregator, update: LiveUpdate) -> bool:
        """An update is done; whether it is this run's (else it is dropped)."""
        if self.job is update.request:
            self.job = None
        if aggregator is not self.aggregator:
            return False
        self.samples = update.samples
        return True

    def timed(self, update: LiveUpdate, swapped: float, on_worker: bool, sandwich: bool) -> None:
        """The UI thread took `swapped` seconds to swap `update` in: the next update waits
        `LIVE_TICK` (`LIVE_SANDWICH_TICK` for the Sandwich), longer after a slow one."""
        worker = update.seconds if on_worker else 0.0
        self.rebuild_seconds = swapped + (0.0 if on_worker else update.seconds)
        if update.session is not None:
            least = LIVE_SANDWICH_TICK if sandwich else LIVE_TICK
            self.next_rebuild = self.clock() + max(least, LIVE_BUSY_FACTOR * self.rebuild_seconds, worker)

    def take_again(self) -> bool:
        again, self.again = self.again, False
        return again

    def set_paused(self, paused: bool) -> None:
        """Pause or resume the view; resumed, an update is due at once and builds."""
        self.paused = paused
        if not paused:
            self.next_rebuild = 0.0
            self.dirty = True
