"""Live sampling: starting a collector, applying its samples, pausing and stopping.

A mixin of `BpfscopeApp` (see `tui.app_host`) running the `tui.live_driver.LiveDriver`
feature object, which decides when an update is due and where it is built: a collector
starts on a worker (bcc compiles for seconds); `live_tick` asks the run's
`tui.live_aggregate.LiveAggregator` at most `1 / LIVE_TICK` times a second to apply what it
gathered and rebuild the shown pane (paused: only to apply it), on a worker once the
profile outgrows the driver's `sync_samples`, and swaps the finished result in
(`_live_landed`): what the UI thread does per update no longer grows with the profile.
Signals, `x` and quitting stop the collector so kernel resources are released.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import TYPE_CHECKING

from textual import work

from collectors.live.base import Collector, CollectorError, Target
from collectors.safe_text import printable
from tui.live import LiveRun, plain_failure, status_text
from tui.live_aggregate import FLAME_PANES, LiveAggregator, LiveRequest, LiveUpdate
from tui.screens.process_picker import ProcessPicker
from tui.widgets.live_status import LiveStatus

if TYPE_CHECKING:
    from tui.app_host import AppHost as _Host
else:
    _Host = object

LIVE_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class LiveControlMixin(_Host):
    """Live sampling: the collector's life, the periodic rebuild, pause and stop."""

    @property
    def live(self) -> LiveRun | None:
        """The live run shown (sampling or ended); None for a file."""
        return self.live_driver.run

    def _handle_signals(self) -> None:
        """SIGTERM, SIGHUP and SIGINT leave the app the normal way (see `_signalled`)."""
        loop = asyncio.get_running_loop()
        for sig in LIVE_SIGNALS:
            loop.add_signal_handler(sig, self._signalled, sig)

    def _release_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in LIVE_SIGNALS:
            loop.remove_signal_handler(sig)

    def _signalled(self, sig: signal.Signals) -> None:
        # Leave through the normal path: unmounting stops the collector and restores the terminal.
        self.stop_sampling()
        self.exit(return_code=128 + int(sig))

    def start_sampling(self, target: Target) -> None:
        """Start a collector on `target` (on a worker: bcc compiles for seconds); the current
        run, if any, goes on until the new one has started."""
        if self.live_options is None or self.live_driver.starting is not None:
            return
        self.live_driver.starting = target
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

    def _started(self, collector: Collector, note: str | None) -> None:
        self.live_driver.starting = None
        if self._quitting:
            collector.stop()
            return
        self.stop_sampling()
        options = self.live_options
        log = options.output_log if options is not None and collector.target.command else None
        aggregator = self.live_driver.begin(LiveRun(collector, note, log))
        self.has_profile = True
        self.paused = False
        self.session = aggregator.first_session()
        self.comparison.new_run()
        for graph in (self.left_heavy, self.time_order):
            with graph.unreported():
                graph.set_model(None, None)
        self._load_profile()
        if isinstance(self.screen, ProcessPicker):
            self.pop_screen()
        if note:
            self.notify(note, severity="warning", timeout=15, markup=False)
        self.notify(printable(collector.describe()), markup=False)
        self.refresh_bindings()
        self._update_live_status()

    def _start_failed(self, target: Target, reason: str) -> None:
        self.live_driver.starting = None
        reason = plain_failure(reason, target)
        if self.live is None and self.live_options is not None and target is self.live_options.target:
            # The target named on the command line (`-p`, `--`): as `bpfscope record`, one line
            # on stderr and exit status 2, not a picker the user never asked for.
            self.start_error = printable(f"cannot sample {target.describe()}: {reason}")
            self.exit(return_code=2)
            return
        self._update_live_status()
        if self.live is None and not isinstance(self.screen, ProcessPicker):
            self.action_pick_process()  # first: the message goes to the picker's line
        self.notify(f"cannot sample {printable(target.describe())}: {printable(reason)}", title="bpfscope",
                    severity="error", timeout=20, markup=False)

    def live_tick(self) -> None:
        """Note the end of sampling and the hints; apply what the collector gathered and
        rebuild the shown pane when due (paused: only apply it)."""
        run = self.live
        if run is None or self._quitting or self._exit or not self.is_running:
            return  # exiting: the widgets may already be gone; quitting stops the collector
        driver = self.live_driver
        if driver.ended_now():  # its last samples are applied, whatever the pause
            if not run.stopped:
                self.notify(run.state(False), markup=False)
            self.refresh_bindings()
        share = driver.hint_now()
        if share is not None:
            self.notify(f"{share:.0%} of the user stacks stop early (no frame pointers?): rebuild with "
                        "-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer to see whole stacks",
                        title="hint", severity="warning", timeout=20, markup=False)
        if driver.due(self.paused):
            self.refresh_live_view()
        self._update_live_status()

    @property
    def live_on_worker(self) -> bool:
        """Live updates are built on a worker (see `LiveDriver.on_worker`)."""
        return self.live_driver.on_worker

    def refresh_live_view(self, force: bool = False) -> None:
        """Apply the samples gathered so far and rebuild the shown pane from them, keeping the
        selection and zoom (`force`: even without new samples: the view changed): at once
        while the profile is small, else on a worker, the panes keeping what they show until
        it lands (`_live_landed`). One build at a time: asked during one, it follows it."""
        driver = self.live_driver
        aggregator = driver.aggregator
        if aggregator is None or not driver.ask(force):
            return
        request = self._live_request()
        if not driver.on_worker:
            self._live_landed(aggregator, aggregator.update(request), False)
            return
        driver.job = request
        self._aggregate(aggregator, request)

    def _live_request(self) -> LiveRequest:
        mark = self.live_driver.take_mark()
        if self.paused:
            return LiveRequest(None, mark=mark)
        force = self.live_driver.take_force()
        s, pane = self.session, self.active_pane
        state = None
        if pane in FLAME_PANES:
            graph = self.left_heavy if pane == "left-heavy" else self.time_order
            state = graph.pane_state(self.panes.carry_places.get(pane))
        frame = self.sandwich.frame if pane == "sandwich" else None
        return LiveRequest(s.key, pane, s.bottom_up, self.comparison.comparing, mark, state, frame,
                           self.sandwich.sort_by, pane == "time-order", force)

    @work(thread=True, group="live-update")
    def _aggregate(self, aggregator: LiveAggregator, request: LiveRequest) -> None:
        update = aggregator.update(request)
        self._from_thread(self._live_landed, aggregator, update, True)

    def _live_landed(self, aggregator: LiveAggregator, update: LiveUpdate, on_worker: bool) -> None:
        """Swap in what an update built (UI thread): the copies it made are the app's now.
        The next update waits `LIVE_TICK` (Sandwich: `LIVE_SANDWICH_TICK`), and longer after
        a slow one (see `LIVE_BUSY_FACTOR`)."""
        if not self.live_driver.landed(aggregator, update) or self._quitting:
            return  # another run since, or leaving
        began = time.perf_counter()
        if update.baseline is not None:
            self.comparison.live_baseline = update.baseline
        if update.session is not None:
            self._adopt(update)
        if update.marked:
            self.refresh_bindings()
            self.notify(f"baseline marked at {update.baseline.mark if update.baseline else 0} samples; "
                        "B shows the difference since", markup=False)
        self.live_driver.timed(update, time.perf_counter() - began, on_worker, self.active_pane == "sandwich")
        self._update_live_status()
        if self.live_driver.take_again():
            self.refresh_live_view()

    def _adopt(self, update: LiveUpdate) -> None:
        request = update.request
        assert update.session is not None
        if self.paused or request.since_mark != self.comparison.comparing:
            self.live_driver.dirty = True  # paused, or B since: the next one, when wanted
            return
        s = self.session
        if update.marked and self.comparison.comparing:
            self._show_since_baseline()  # a new mark: the difference starts again from it
            s = self.session
        s.adopt(update.session)
        s.pending = (s.key, s.bottom_up) != (request.key, request.bottom_up) and self.live_on_worker
        if s.pending:  # the view changed meanwhile: build it next
            self.live_driver.dirty = self.live_driver.again = True
        self.comparison.adopt(update.comparison, update.base_shares)
        self.live_driver.prepared = update.pane
        with self.batch_update():
            self.panes.view_changed()
            self._ensure_loaded(self.active_pane)
            if self.search_bar.pattern:
                self._apply_search()
            self._refresh_status()

    def _live_deferred(self, pane: str) -> bool:
        """Whether `pane` waits for a live update (asked for here) rather than being built on
        the UI thread: live on a worker, not paused, and the view shown lacks its tree."""
        if not self.live_on_worker or self.paused:
            return False
        s = self.session
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
        self.call_after_refresh(self.refresh_live_view, True)
        return True

    def _live_view_changed(self) -> None:
        """Chips, range, profile, kind, inversion or recursion changed, live: the view is built
        as any update is (at once while small; else on the worker, the chips showing at once
        and the panes when it lands); paused, from the samples the frozen view has."""
        s = self.session
        if self.paused:
            s.pending = False
            self._load_profile()
            return
        s.pending = self.live_on_worker
        if s.pending:
            self._refresh_status()
        self.refresh_live_view(force=True)

    def _update_live_status(self) -> None:
        found = self.screen_stack[0].query(LiveStatus) if self.screen_stack else None
        if not found:
            return  # the app is closing
        status = found.first()
        run = self.live
        if run is not None:
            status.show(status_text(run, self.paused, status.size.width or 80), paused=self.paused, ended=run.ended)
        starting = self.live_driver.starting
        if starting is not None:
            what = f"starting a collector for {printable(starting.describe())}…"
            status.show(f"{status.text} · {what}" if run is not None else what)

    def stop_sampling(self) -> None:
        """Stop the collector, if one runs (kernel resources released); the data stays."""
        run = self.live
        if run is not None and not run.stopped:
            run.stop_collector()

    def watch_paused(self) -> None:
        if not self.paused:
            self.live_driver.resumed()
        self.refresh_bindings()  # the footer's space: Pause or Resume
        self._update_live_status()

    def action_resume(self) -> None:
        """`space` while paused: the footer says Resume (a binding of its own)."""
        self.action_toggle_pause()

    def action_toggle_pause(self) -> None:
        if self.live is not None and not self.live.ended:
            self.paused = not self.paused
            if not self.paused:
                self.refresh_live_view(force=True)

    def action_stop_sampling(self) -> None:
        run = self.live
        if run is None or run.ended:
            return
        run.stop_collector()  # its last batches: applied by the update, with the rest
        self.live_driver.ended_noted = True
        self.paused = False
        self.refresh_live_view(force=True)
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
