"""Live sampling: starting a collector, applying its samples, pausing and stopping.

`LiveControl` runs the `tui.live_driver.LiveDriver` feature object (in the view state),
which decides when an update is due and where it is built: a collector starts on a worker
(bcc compiles for seconds); `tick` asks the run's `tui.live_aggregate.LiveAggregator` at
most `1 / LIVE_TICK` times a second to apply what it gathered and rebuild the shown pane
(paused: only to apply it), on a worker once the profile outgrows the driver's
`sync_samples`, and swaps the finished result in (`_live_landed`): what the UI thread does
per update no longer grows with the profile. Signals, `x` and quitting stop the collector
so kernel resources are released.
"""

from __future__ import annotations

import asyncio
import signal
import time
from functools import partial
from typing import Any

from textual.app import App

from collectors.live.base import Collector, CollectorError, Target
from collectors.safe_text import printable
from tui.live import LiveOptions, LiveRun, plain_failure, status_text
from tui.live_aggregate import LiveAggregator, LiveRequest, LiveUpdate
from tui.pane_set import PaneSet
from tui.panes_control import PanesControl
from tui.screens.process_picker import ProcessLister, ProcessPicker
from tui.search_control import SearchControl
from tui.shown_panes import FLAME_PANES
from tui.status_control import StatusControl
from tui.ui_thread import from_thread, start_worker
from tui.view_state import ViewState

LIVE_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class LiveControl:
    """Live sampling: the collector's life, the periodic rebuild, pause and stop."""

    def __init__(self, app: App[Any], ui: PaneSet, state: ViewState, options: LiveOptions | None,
                 process_lister: ProcessLister, panes: PanesControl, search: SearchControl,
                 status: StatusControl) -> None:
        """`options`: the app samples live (`bpfscope live`); None: it shows files."""
        self.app = app
        self.ui = ui
        self.state = state
        self.options = options
        self.process_lister = process_lister
        self.panes = panes
        self.search = search
        self.status = status
        self.quitting = False
        """The app is leaving: a collector that starts now is stopped at once."""
        self.start_error: str | None = None
        """Why the target given on the command line could not be sampled (the app then exits 2)."""

    @property
    def live(self) -> LiveRun | None:
        return self.state.live_driver.run

    def handle_signals(self) -> None:
        """SIGTERM, SIGHUP and SIGINT leave the app the normal way (see `_signalled`)."""
        loop = asyncio.get_running_loop()
        for sig in LIVE_SIGNALS:
            loop.add_signal_handler(sig, self._signalled, sig)

    def release_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in LIVE_SIGNALS:
            loop.remove_signal_handler(sig)

    def _signalled(self, sig: signal.Signals) -> None:
        # Leave through the normal path: unmounting stops the collector and restores the terminal.
        self.stop_sampling()
        self.app.exit(return_code=128 + int(sig))

    def start_sampling(self, target: Target) -> None:
        """Start a collector on `target` (on a worker: bcc compiles for seconds); the current
        run, if any, goes on until the new one has started."""
        if self.options is None or self.state.live_driver.starting is not None:
            return
        self.state.live_driver.starting = target
        self.update_status()
        start_worker(self.app, partial(self._start_collector, target), "collector")

    def _start_collector(self, target: Target) -> None:  # on a worker
        assert self.options is not None
        try:
            collector, note = self.options.starter(target)
        except (CollectorError, ValueError) as e:
            from_thread(self.app, self._start_failed, target, str(e))
            return
        except Exception as e:  # a bug in a collector: say so, keep the app usable
            from_thread(self.app, self._start_failed, target, repr(e))
            return
        if not from_thread(self.app, self._started, collector, note):
            collector.stop()  # the app is gone: release the kernel resources anyway

    def _started(self, collector: Collector, note: str | None) -> None:
        self.state.live_driver.starting = None
        if self.quitting:
            collector.stop()
            return
        self.stop_sampling()
        options = self.options
        log = options.output_log if options is not None and collector.target.command else None
        aggregator = self.state.live_driver.begin(LiveRun(collector, note, log))
        self.state.has_profile = True
        self.set_paused(False)
        self.state.session = aggregator.first_session()
        self.state.comparison.new_run()
        self.panes.clear_graphs()
        self.panes.load_profile()
        if isinstance(self.app.screen, ProcessPicker):
            self.app.pop_screen()
        if note:
            self.app.notify(note, severity="warning", timeout=15, markup=False)
        self.app.notify(printable(collector.describe()), markup=False)
        self.app.refresh_bindings()
        self.update_status()

    def _start_failed(self, target: Target, reason: str) -> None:
        self.state.live_driver.starting = None
        reason = plain_failure(reason, target)
        if self.live is None and self.options is not None and target is self.options.target:
            # The target named on the command line (`-p`, `--`): as `bpfscope record`, one line
            # on stderr and exit status 2, not a picker the user never asked for.
            self.start_error = printable(f"cannot sample {target.describe()}: {reason}")
            self.app.exit(return_code=2)
            return
        self.update_status()
        if self.live is None and not isinstance(self.app.screen, ProcessPicker):
            self.pick_process()  # first: the message goes to the picker's line
        self.app.notify(f"cannot sample {printable(target.describe())}: {printable(reason)}", title="bpfscope",
                        severity="error", timeout=20, markup=False)

    def tick(self) -> None:
        """Note the end of sampling and the hints; apply what the collector gathered and
        rebuild the shown pane when due (paused: only apply it)."""
        run = self.live
        if run is None or self.quitting or self.app._exit or not self.app.is_running:
            return  # exiting: the widgets may already be gone; quitting stops the collector
        driver = self.state.live_driver
        if driver.ended_now():  # its last samples are applied, whatever the pause
            if not run.stopped:
                self.app.notify(run.state(False), markup=False)
            self.app.refresh_bindings()
        share = driver.hint_now()
        if share is not None:
            self.app.notify(f"{share:.0%} of the user stacks stop early (no frame pointers?): rebuild with "
                            "-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer to see whole stacks",
                            title="hint", severity="warning", timeout=20, markup=False)
        if driver.due():
            self.refresh_live_view()
        self.update_status()

    def refresh_live_view(self, force: bool = False) -> None:
        """Apply the samples gathered so far and rebuild the shown pane from them, keeping the
        selection and zoom (`force`: even without new samples: the view changed): at once
        while the profile is small, else on a worker, the panes keeping what they show until
        it lands (`_live_landed`). One build at a time: asked during one, it follows it."""
        driver = self.state.live_driver
        aggregator = driver.aggregator
        if aggregator is None or not driver.ask(force):
            return
        request = self._live_request()
        if not driver.on_worker:
            self._live_landed(aggregator, aggregator.update(request), False)
            return
        driver.job = request
        start_worker(self.app, partial(self._aggregate, aggregator, request), "live-update", exclusive=False)

    def _live_request(self) -> LiveRequest:
        mark = self.state.live_driver.take_mark()
        if self.state.paused:
            return LiveRequest(None, mark=mark)
        force = self.state.live_driver.take_force()
        s, pane = self.state.session, self.ui.active_pane
        state = None
        if pane in FLAME_PANES:
            graph = self.ui.graph(pane)
            state = graph.pane_state(self.state.panes.carry_places.get(pane))
        frame = self.ui.sandwich.frame if pane == "sandwich" else None
        return LiveRequest(s.key, pane, s.bottom_up, self.state.comparison.comparing, mark, state, frame,
                           self.ui.sandwich.sort_by, pane == "time-order", force)

    def _aggregate(self, aggregator: LiveAggregator, request: LiveRequest) -> None:  # on a worker
        update = aggregator.update(request)
        from_thread(self.app, self._live_landed, aggregator, update, True)

    def _live_landed(self, aggregator: LiveAggregator, update: LiveUpdate, on_worker: bool) -> None:
        """Swap in what an update built (UI thread): the copies it made are the app's now.
        The next update waits `LIVE_TICK` (Sandwich: `LIVE_SANDWICH_TICK`), and longer after
        a slow one (see `LIVE_BUSY_FACTOR`)."""
        if not self.state.live_driver.landed(aggregator, update) or self.quitting:
            return  # another run since, or leaving
        began = time.perf_counter()
        if update.baseline is not None:
            self.state.comparison.live_baseline = update.baseline
        if update.session is not None:
            self._adopt(update)
        if update.marked:
            self.app.refresh_bindings()
            self.app.notify(f"baseline marked at {update.baseline.mark if update.baseline else 0} samples; "
                            "B shows the difference since", markup=False)
        driver = self.state.live_driver
        driver.timed(update, time.perf_counter() - began, on_worker, self.ui.active_pane == "sandwich")
        self.update_status()
        if driver.take_again():
            self.refresh_live_view()

    def _adopt(self, update: LiveUpdate) -> None:
        request = update.request
        assert update.session is not None
        driver = self.state.live_driver
        if self.state.paused or request.since_mark != self.state.comparison.comparing:
            driver.dirty = True  # paused, or B since: the next one, when wanted
            return
        s = self.state.session
        if update.marked and self.state.comparison.comparing:
            self.show_since_baseline()  # a new mark: the difference starts again from it
            s = self.state.session
        s.adopt(update.session)
        s.pending = (s.key, s.bottom_up) != (request.key, request.bottom_up) and driver.on_worker
        if s.pending:  # the view changed meanwhile: build it next
            driver.dirty = driver.again = True
        self.state.comparison.adopt(update.comparison, update.base_shares)
        driver.prepared = update.pane
        with self.app.batch_update():
            self.state.panes.view_changed()
            self.panes.ensure_loaded(self.ui.active_pane)
            if self.ui.search_bar.pattern:
                self.search.apply()
            self.status.refresh()

    def show_since_baseline(self) -> None:
        """Live: the panes show the samples since the mark, coloured against those before it
        (over the last update's copies until the next one lands)."""
        if self.live is not None and self.state.comparison.live_baseline is not None:
            self.state.session = self.state.comparison.since_mark(self.state.session)

    def deferred(self, pane: str) -> bool:
        """Whether `pane` waits for a live update (asked for here) rather than being built on
        the UI thread: live on a worker, not paused, and the view shown lacks its tree."""
        if not self.state.live_driver.on_worker or self.state.paused:
            return False
        s = self.state.session
        d = s.current
        if pane == "left-heavy":
            ready = s.is_ready()
        elif pane == "time-order":
            ready = d.time_order_ready
        else:
            ready = d.totals_ready
        if ready and not s.pending:
            return False
        # After the next layout: a pane just switched to has no width yet to lay its model out for.
        self.app.call_after_refresh(self.refresh_live_view, True)
        return True

    def view_changed(self) -> None:
        """Chips, range, profile, kind, inversion or recursion changed, live: the view is built
        as any update is (at once while small; else on the worker, the chips showing at once
        and the panes when it lands); paused, from the samples the frozen view has."""
        s = self.state.session
        if self.state.paused:
            s.pending = False
            self.panes.load_profile()
            return
        s.pending = self.state.live_driver.on_worker
        if s.pending:
            self.status.refresh()
        self.refresh_live_view(force=True)

    def update_status(self) -> None:
        status = self.ui.live_status()
        if status is None:
            return  # the app is closing
        run = self.live
        if run is not None:
            paused = self.state.paused
            status.show(status_text(run, paused, status.size.width or 80), paused=paused, ended=run.ended)
        starting = self.state.live_driver.starting
        if starting is not None:
            what = f"starting a collector for {printable(starting.describe())}…"
            status.show(f"{status.text} · {what}" if run is not None else what)

    def stop_sampling(self) -> None:
        """Stop the collector, if one runs (kernel resources released); the data stays."""
        run = self.live
        if run is not None and not run.stopped:
            run.stop_collector()

    def set_paused(self, paused: bool) -> None:
        """Freeze the view (sampling goes on) or let it follow again (an update at once)."""
        self.state.live_driver.set_paused(paused)
        self.app.refresh_bindings()  # the footer's space: Pause or Resume
        self.update_status()

    def toggle_pause(self) -> None:
        if self.live is not None and not self.live.ended:
            self.set_paused(not self.state.paused)
            if not self.state.paused:
                self.refresh_live_view(force=True)

    def stop_by_user(self) -> None:
        run = self.live
        if run is None or run.ended:
            return
        run.stop_collector()  # its last batches: applied by the update, with the rest
        self.state.live_driver.ended_noted = True
        self.set_paused(False)
        self.refresh_live_view(force=True)
        self.app.refresh_bindings()
        self.update_status()
        self.app.notify("sampling stopped; the data stays (e to export)", markup=False)

    def pick_process(self) -> None:
        if self.options is not None and not isinstance(self.app.screen, ProcessPicker):
            self.app.push_screen(ProcessPicker(self.process_lister))

    def quit(self) -> None:
        """Leave the app, the collector stopped first (kernel resources released)."""
        self.quitting = True
        self.stop_sampling()
        self.app.exit()
