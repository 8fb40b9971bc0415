"""Live sampling: starting a collector, applying its samples, pausing and stopping.

A mixin of `BpfscopeApp` (see `tui.app_host`): a collector starts on a worker (bcc
compiles for seconds), `live_tick` applies what it gathered at most `1 / LIVE_TICK`
times a second and rebuilds the shown pane unless paused or too soon after a slow
rebuild, and signals, `x` and quitting stop it so kernel resources are released. Kept
apart from the app, which only routes.
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
from tui.screens.process_picker import ProcessPicker
from tui.session import Session
from tui.widgets.live_status import LiveStatus

if TYPE_CHECKING:
    from tui.app_host import AppHost as _Host
else:
    _Host = object

LIVE_TICK = 0.25
"""Seconds between live updates (batches applied, panes rebuilt): at most 4 a second."""
LIVE_BUSY_FACTOR = 4.0
"""A pane rebuild that took T seconds waits 4 T before the next, so a big profile keeps
the UI thread at most ~20 % busy with rebuilding and keys stay fast."""
LIVE_SANDWICH_TICK = 1.0
"""The Sandwich refills a table (its drawing is not in the measured rebuild time): at most once a second."""
LIVE_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class LiveControlMixin(_Host):
    """Live sampling: the collector's life, the periodic rebuild, pause and stop."""

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
            share = run.collector.stats.truncated_share
            self.notify(f"{share:.0%} of the user stacks stop early (no frame pointers?): rebuild with "
                        "-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer to see whole stacks",
                        title="hint", severity="warning", timeout=20, markup=False)
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
            status.show(status_text(run, self.paused, status.size.width or 80), paused=self.paused, ended=run.ended)
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
        self.refresh_bindings()  # the footer's space: Pause or Resume
        self._update_live_status()

    def action_resume(self) -> None:
        """`space` while paused: the footer says Resume (a binding of its own)."""
        self.action_toggle_pause()

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
