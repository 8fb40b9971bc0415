"""Live mode without Textual: a running collector's batches applied to a profile group.

The app owns one `LiveRun` per target, through a `tui.live_aggregate.LiveAggregator`, the
only one to call `pump()` (on a worker thread): it drains the collector and applies
everything queued with a `ProfileBuilder` (one profile per thread) and appends the same
samples, in time order, to `merged`, the "all threads" profile the view opens on: kept
incrementally, so an update costs the new samples only. The UI thread reads the collector
(its state and counts, which are safe to read from any thread) and `stopped`, never the
profiles. `status_text` says what the status line shows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.cells import cell_len

from collectors.live.base import CUT_SHORT, Collector, CollectorError, CutShortJudge, Target
from collectors.live.batches import ProfileBuilder
from collectors.live.offcpu import records_off_cpu
from collectors.profile import Profile
from collectors.safe_text import printable

CollectorStarter = Callable[[Target], tuple[Collector, "str | None"]]
"""Starts a collector on a target (blocking: bcc compiles for seconds) and returns it with,
when the preferred collector could not run, the sentence saying why; raises
`CollectorError` with one sentence when none can run."""

SHORT_HINT = "stacks cut short: rebuild with -fno-omit-frame-pointer"

_PERF_REFUSED = ("Access to performance monitoring", "perf_event_paranoid", "No permission to enable",
                 "Permission denied")


def plain_failure(reason: str, target: Target, owner: Callable[[int], int | None] | None = None) -> str:
    """`reason` (a collector's error, perhaps perf's many-line refusal) as one sentence with
    the fix: perf refusing a non-root user names sudo, and for one's own processes
    `kernel.perf_event_paranoid`; anything else is `reason` unchanged."""
    me = _euid()
    if me == 0 or not any(mark in reason for mark in _PERF_REFUSED):
        return reason
    pid = target.pid
    uid = (owner or _process_owner)(pid) if pid is not None else None
    if uid is not None and uid != me:
        return (f"PID {pid} belongs to another user, and only root may sample it: "
                "run bpfscope with sudo")
    return ("the kernel does not let this user sample with perf: run bpfscope with sudo, or allow it with "
            "`sudo sysctl kernel.perf_event_paranoid=1`")


def _euid() -> int:
    return os.geteuid()


def _process_owner(pid: int) -> int | None:
    """The real user id of process `pid` (None when it is gone or cannot be seen)."""
    import psutil

    try:
        return int(psutil.Process(pid).uids().real)
    except (psutil.Error, OSError):
        return None


@dataclass(frozen=True)
class LiveOptions:
    """How the TUI samples: the collector starter, and what to sample first (None: the picker)."""

    starter: CollectorStarter
    target: Target | None = None
    output_log: str | None = None
    """Where a launched command's output goes (shown in the status line)."""
    handle_signals: bool = True
    """SIGTERM, SIGHUP and SIGINT end the app cleanly (so the collector is stopped)."""
    clock: Callable[[], float] = time.monotonic
    """When the panes may next be rebuilt is measured on it (tests freeze it)."""
    off_cpu: bool = False
    """The starter records off-CPU time too (`--off-cpu`): every profile in seconds, an
    on-CPU and an off-CPU one per thread, and "all threads" adding both (wall time)."""


class LiveRun:
    """One collector and the profiles built from its batches."""

    def __init__(self, collector: Collector, note: str | None = None, output_log: str | None = None) -> None:
        self.collector = collector
        self.note = note
        self.output_log = output_log
        self.builder = ProfileBuilder(collector.target.describe(), collector.frequency,
                                      records_off_cpu(collector))
        self.group = self.builder.group
        self.merged = Profile(name="all threads", frames=self.group.frames, unit=self.builder.unit)
        self.merged.sample_period = 1.0 / collector.frequency
        self.stopped = False
        """`x` was pressed (or the app is quitting): collection ended on request."""
        self.released = False
        """The collector was stopped (kernel resources freed), on request or because it ended."""
        self._cut_short = CutShortJudge()
        self._applied: list[int] = []
        """Per profile of the group: how many of its samples are already in `merged`."""
        self._last_time = float("-inf")

    def cut_share(self) -> float | None:
        """Of the user stacks in the last window judged, the share cut short (not reaching a
        thread's entry point); None until one is (see `CutShortJudge`: the first `SETTLE_S`
        seconds are not judged). Read on the UI thread only."""
        return self._cut_short.observe(self.collector.stats, self.collector.elapsed())

    @property
    def cut_short(self) -> bool:
        """Many stacks are cut short now: the status line names the fix."""
        share = self.cut_share()
        return share is not None and share >= CUT_SHORT

    @property
    def ended(self) -> bool:
        """No more samples will come (stopped, target exited, or the collector failed)."""
        return self.stopped or self.collector.finished or self.collector.failure is not None

    def pump(self) -> int:
        """Apply the batches queued since the last call; returns how many samples were added.

        A collector that ended on its own (the target exited, or its worker failed) is
        stopped here, so its BPF programs are unloaded now rather than when the app quits.
        """
        if self.collector.finished and not self.released:
            self.released = True
            self.collector.stop()
        batches = self.collector.drain()
        if not batches:
            return 0
        self.builder.apply_all(batches)
        return self._extend_merged()

    def _extend_merged(self) -> int:
        profiles = self.group.profiles
        applied = self._applied
        applied.extend([0] * (len(profiles) - len(applied)))
        rows: list[tuple[float, int, tuple[int, ...], float]] = []
        for i, p in enumerate(profiles):
            done, n = applied[i], p.sample_count
            if n == done:
                continue
            assert p.times is not None
            stacks = p.stacks.stacks
            rows.extend(zip(p.times[done:n], [i] * (n - done), map(stacks.__getitem__, p.sample_stacks[done:n]),
                            p.weights[done:n], strict=True))
            applied[i] = n
        rows.sort(key=lambda r: (r[0], r[1]))
        merged = self.merged
        intern = merged.stacks.intern
        last = self._last_time
        for t, _, stack, w in rows:
            # Batches from different CPUs can overlap by a hair (and an off-CPU sample, timed
            # when its wait began, comes when it ends); time order must not go back.
            if t < last:
                t = last
            last = t
            merged.add_stack_sample(intern(stack), w, t)
        self._last_time = last
        return len(rows)

    def stop_collector(self) -> None:
        """Stop collecting (kernel resources released); the last batches wait for `pump`."""
        self.stopped = self.released = True
        self.collector.stop()

    def stop(self) -> None:
        """Stop collecting (kernel resources released) and keep the last samples."""
        self.stop_collector()
        self.pump()

    def state(self, paused: bool) -> str:
        c = self.collector
        if c.failure is not None:
            reason = str(c.failure) if isinstance(c.failure, CollectorError) else repr(c.failure)
            return f"sampling failed: {printable(plain_failure(reason, c.target))}"
        if self.stopped:
            return "stopped"
        if c.finished:
            return f"target exited ({printable(c.exit_note or 'sampling ended')}); the data stays"
        return "paused" if paused else "sampling"


STATUS_SEP = " · "


def status_fields(run: LiveRun, paused: bool) -> list[tuple[int, str]]:
    """The live status line's fields in order, each with its rank: when the line is too
    narrow, the highest rank goes first (the state and the log path stay to the last)."""
    c = run.collector
    st = c.stats
    target = c.target.describe()
    if c.target.command and c.pid is not None:
        target = f"{target} (PID {c.pid})"
    runtime = c.runtime()
    if runtime:
        target = f"{target}, {runtime}"
    name = f"{c.name} + off-CPU" if records_off_cpu(c) else c.name
    fields = [(6, name), (3, printable(target)), (7, f"{c.frequency} Hz"), (2, f"{st.samples} samples")]
    fields.append((4 if st.lost else 9, f"{st.lost} lost"))
    fields += [(5, f"{c.elapsed():.1f} s"), (8, f"{st.unknown_share:.1%} [unknown]")]
    whole = st.whole_text()
    if whole:
        fields.append((4, whole))
    if st.stack_errors:
        fields.append((5, f"{st.stack_errors} stack errors"))
    if run.cut_short:
        fields.append((4, SHORT_HINT))
    fields.append((0, run.state(paused)))
    if run.output_log:
        fields.append((1, f"output in {printable(run.output_log)}"))
    return fields


def fit_fields(fields: list[tuple[int, str]], width: int | None) -> str:
    """The fields joined by ` · `, dropping the highest-ranked ones until the line fits
    `width` cells (None: all of them); what is left and still too long is cut by the widget."""
    kept = list(fields)
    while width is not None and len(kept) > 1 and cell_len(STATUS_SEP.join(t for _, t in kept)) > width:
        worst = max(range(len(kept)), key=lambda i: (kept[i][0], i))
        del kept[worst]
    line = STATUS_SEP.join(t for _, t in kept)
    if width is not None and cell_len(line) > width and kept[-1][0] == 1:
        # Still too long with the log path last: the path loses its start, not its file name.
        room = width - cell_len(STATUS_SEP.join(t for _, t in kept[:-1])) - cell_len(STATUS_SEP) - 1
        if room >= 8:
            line = line[: len(line) - len(kept[-1][1])] + "…" + kept[-1][1][-room:]
    return line


def status_text(run: LiveRun, paused: bool, width: int | None = None) -> str:
    """The live status line: collector, target, rate, samples, lost, elapsed, [unknown] share,
    state and the command's log; at `width` cells, the lesser fields dropped first."""
    return fit_fields(status_fields(run, paused), width)
