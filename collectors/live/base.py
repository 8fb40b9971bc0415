"""What every live collector offers: a target, a start/stop life cycle and immutable batches.

A collector samples on its own worker thread and hands out `SampleBatch`es: frames and
stacks are numbered by the collector as it first sees them (the batch carries only the new
ones), so a batch is small, immutable and can cross threads. Whoever owns the
`ProfileGroup` (the TUI's UI thread, or `bpfscope record`) applies batches with a
`ProfileBuilder` (see `batches.py`); a collector never touches a profile.

    collector = choose_collector(Target.for_pid(1234), frequency=99)
    collector.start()
    ...  builder.apply_all(collector.drain())  ...
    collector.stop()                            # releases everything, queues the last batch
    builder.apply_all(collector.drain())
"""

from __future__ import annotations

import abc
import os
import queue
import shlex
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from collectors.profile import Frame

if TYPE_CHECKING:
    from collectors.live.command import HeldCommand, RunAs

DEFAULT_FREQUENCY = 99
MAX_FREQUENCY = 10_000
MAX_DRAIN_INTERVAL = 0.5
"""Longest wait between two drains of a collector's buffer. A wake-up costs about a
millisecond of CPU whatever it finds, so at low rates waking less is most of the saving;
half a second is the most a live view may lag (the TUI redraws 4 times a second)."""
MIN_DRAIN_INTERVAL = 0.05


class CollectorError(Exception):
    """A collector cannot run: one sentence saying what is missing and how to fix it."""


class TargetError(CollectorError):
    """The target cannot be sampled by any collector (no such process, command not found)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What to sample: one process, every process, or a command launched for the purpose."""

    pid: int | None = None
    command: tuple[str, ...] = ()
    run_as: RunAs | None = None
    """Whom a launched command runs as (None: bpfscope's own user)."""

    @classmethod
    def for_pid(cls, pid: int) -> Target:
        if pid <= 0:
            raise ValueError(f"not a process id: {pid}")
        return cls(pid=pid)

    @classmethod
    def all_processes(cls) -> Target:
        return cls()

    @classmethod
    def for_command(cls, argv: Sequence[str], run_as: RunAs | None = None) -> Target:
        if not argv:
            raise ValueError("an empty command")
        return cls(command=tuple(argv), run_as=run_as)

    @property
    def is_all(self) -> bool:
        return self.pid is None and not self.command

    def describe(self) -> str:
        if self.command:
            return shlex.join(self.command)
        if self.pid is not None:
            return f"PID {self.pid}"
        return "all processes"


@dataclass(frozen=True, slots=True)
class CommandIO:
    """File descriptors for a launched command's standard streams (None: bpfscope's own).

    The TUI gives the command /dev/null for input and a log file for its output, so that
    it cannot garble the screen; `bpfscope record` lets it share the terminal.
    """

    stdin: int | None = None
    stdout: int | None = None
    stderr: int | None = None


CUT_SHORT = 0.2
"""From this share of user stacks cut short (not reaching a thread's entry point), the user is
told how to get whole stacks (frame pointers)."""
SETTLE_S = 2.0
"""Seconds of sampling before stacks are judged cut short: a process's first stacks are cut
short however it was built (a launched command's exec, its unwind tables loading)."""
WINDOW_STACKS = 100
"""User stacks in a window judged for stacks cut short."""


def cut_short_hint(share: float | None) -> str | None:
    """Advice when `share` of the user stacks are cut short (at least `CUT_SHORT`), else None."""
    if share is None or share < CUT_SHORT:
        return None
    return (f"{share:.0%} of the user stacks stop before the thread's entry point: the "
            "program (or a library on the stack) was probably built without frame pointers; rebuild it "
            "with -fno-omit-frame-pointer (and -mno-omit-leaf-frame-pointer) to see whole stacks")


@dataclass(frozen=True, slots=True)
class CollectorStats:
    """Running totals since the collector started."""

    samples: int = 0
    lost: int = 0
    """Samples the kernel took but could not hand over (ring buffer full)."""
    stack_errors: int = 0
    """Samples whose user or kernel stack could not be read."""
    frames: int = 0
    """Frames over all samples (a frame in 10 samples counts 10 times)."""
    unknown_frames: int = 0
    """Of `frames`, those without a symbol (`module+0x…` or `[unknown]`)."""
    user_stacks: int = 0
    """Samples with a user-space stack."""
    truncated_stacks: int = 0
    """Of `user_stacks`, those that stop before a thread's entry point (`_start`, `clone`, …)."""

    @property
    def unknown_share(self) -> float:
        return self.unknown_frames / self.frames if self.frames else 0.0

    @property
    def truncated_share(self) -> float:
        return self.truncated_stacks / self.user_stacks if self.user_stacks else 0.0

    @property
    def whole_share(self) -> float:
        """Of the user stacks, the share that reach a thread's entry point (whole stacks)."""
        return 1.0 - self.truncated_share if self.user_stacks else 0.0

    def whole_text(self) -> str | None:
        """`99.9% whole stacks`, once there are user stacks."""
        return f"{self.whole_share:.1%} whole stacks" if self.user_stacks else None


class CutShortJudge:
    """Whether stacks are cut short, judged from `SETTLE_S` after sampling starts: over each
    window of `WINDOW_STACKS` user stacks (live: what the stacks are like now) and over all of
    them since (a recording's closing hint). Fed the collector's stats as sampling goes."""

    def __init__(self) -> None:
        self._settled: tuple[int, int] | None = None
        """(user stacks, cut short) when sampling had gone on `SETTLE_S`."""
        self._window: tuple[int, int] | None = None
        self.last: float | None = None
        """The share cut short in the last window judged; None before one is."""

    def observe(self, stats: CollectorStats, elapsed: float) -> float | None:
        """Note `stats` after `elapsed` seconds of sampling; the last window's share."""
        now = (stats.user_stacks, stats.truncated_stacks)
        if self._window is None:
            if elapsed >= SETTLE_S:
                self._settled = self._window = now
            return None
        users = now[0] - self._window[0]
        if users >= WINDOW_STACKS:
            self.last = (now[1] - self._window[1]) / users
            self._window = now
        return self.last

    def overall(self, stats: CollectorStats) -> float | None:
        """The share cut short of every user stack since settling; None for fewer than a window's."""
        if self._settled is None:
            return None
        users = stats.user_stacks - self._settled[0]
        return (stats.truncated_stacks - self._settled[1]) / users if users >= WINDOW_STACKS else None


@dataclass(frozen=True, slots=True)
class ThreadInfo:
    """A thread as last seen: its process, its id and its command name."""

    pid: int
    tid: int
    comm: str


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Samples collected since the previous batch, ready to apply to a profile group.

    Frame and stack ids are the collector's own: `new_frames[i]` has id `first_frame + i`
    and `new_stacks[i]` (root-first frame ids) has id `first_stack + i`. Samples are
    `(seconds since the start, tid, stack id)` in time order.
    """

    first_frame: int
    new_frames: tuple[Frame, ...]
    first_stack: int
    new_stacks: tuple[tuple[int, ...], ...]
    threads: tuple[ThreadInfo, ...]
    """Threads first seen in this batch, or whose command name changed."""
    samples: tuple[tuple[float, int, int], ...]
    stats: CollectorStats


def drain_interval(buffer_seconds: float) -> float:
    """Seconds between two drains of a buffer that fills in `buffer_seconds` at the worst
    (every sample full-size): a quarter of that, so that a drain delayed by busy CPUs or by a
    long batch on the owner's side still finds room, within `MIN_`/`MAX_DRAIN_INTERVAL`."""
    return min(MAX_DRAIN_INTERVAL, max(MIN_DRAIN_INTERVAL, buffer_seconds / 4))


class Collector(abc.ABC):
    """Samples a target on a worker thread; batches are picked up with `drain()`.

    `start()` raises `CollectorError` when the collector cannot run (and leaves nothing
    behind); `stop()` may be called at any time, more than once, and from any thread but
    the worker; after it, `drain()` returns the last batches.
    """

    name: str = "collector"
    """Short name shown to users: `bcc` or `perf`."""

    def __init__(self, target: Target, frequency: int = DEFAULT_FREQUENCY, io: CommandIO | None = None) -> None:
        """`io`: where a launched command's standard streams go (default: ours)."""
        if not 1 <= frequency <= MAX_FREQUENCY:
            raise CollectorError(f"the sampling rate must be 1 to {MAX_FREQUENCY} Hz, not {frequency}")
        self.target = target
        self.frequency = frequency
        self._command: HeldCommand | None = None
        self._stop_lock = threading.Lock()
        self._stopped = False
        self.io = io or CommandIO()
        self.start_ns = 0
        """`time.monotonic_ns()` when sampling began: sample times count from it."""
        self.stop_ns = 0
        """`time.monotonic_ns()` when `stop()` was called (0 while running)."""
        self._batches: queue.SimpleQueue[SampleBatch] = queue.SimpleQueue()
        self._finished = threading.Event()
        self._stats = CollectorStats()
        self.exit_note: str | None = None
        """Why sampling ended on its own (the target exited), None while it goes on."""
        self.failure: BaseException | None = None
        """An unexpected error that ended the worker (a bug: the owner shows it and stops)."""
        self.wakeups = 0
        """Times the worker woke up on a timer (not for data): the collector's fixed cost (0 for perf,
        whose reader wakes only when `perf script` writes)."""

    # --- life cycle ---------------------------------------------------------------------

    @abc.abstractmethod
    def start(self) -> None:
        """Begin sampling (launching the target command, if there is one)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop sampling, release every kernel resource and queue the last batch."""

    def _claim_stop(self) -> bool:
        """Mark the collector stopped; True for the one caller that must do the stopping."""
        with self._stop_lock:
            if self._stopped:
                return False
            self._stopped = True
            self.stop_ns = time.monotonic_ns()
            return True

    @property
    def pid(self) -> int | None:
        """The process sampled (the launched command's, once started); None for all processes."""
        if self._command is not None:
            return self._command.pid
        return self.target.pid

    @property
    def command(self) -> HeldCommand | None:
        """The command launched for a `Target.for_command`, once started."""
        return self._command

    def describe(self) -> str:
        """`bcc (eBPF) sampling PID 42 at 99 Hz`, for status lines."""
        what = self.target.describe()
        if self.target.command and self.pid is not None:
            what = f"{what} (PID {self.pid})"
        return f"{self.name} sampling {what} at {self.frequency} Hz"

    def runtime(self) -> str | None:
        """What the target runs, when the collector recognised it (`Python 3.11.7`, or why
        its interpreter frames cannot be shown), for status lines; None otherwise."""
        return None

    # --- results ------------------------------------------------------------------------

    def drain(self) -> list[SampleBatch]:
        """The batches queued since the last call (possibly none); never blocks."""
        out: list[SampleBatch] = []
        try:
            while True:
                out.append(self._batches.get_nowait())
        except queue.Empty:
            return out

    @property
    def stats(self) -> CollectorStats:
        return self._stats

    @property
    def finished(self) -> bool:
        """True once the target has exited (or `stop()` ran): no more samples will come."""
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until `finished` or the timeout; returns `finished`."""
        return self._finished.wait(timeout)

    def _publish(self, batch: SampleBatch | None) -> None:
        if batch is not None:
            self._stats = batch.stats
            self._batches.put(batch)

    def elapsed(self) -> float:
        """Seconds sampled so far (up to `stop()`)."""
        if not self.start_ns:
            return 0.0
        return ((self.stop_ns or time.monotonic_ns()) - self.start_ns) / 1e9

    def wakeups_per_second(self) -> float:
        """`wakeups` over the time sampled so far."""
        elapsed = self.elapsed()
        return self.wakeups / elapsed if elapsed > 0 else 0.0

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def process_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may contain any byte.
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
    return state not in (b"Z", b"X", b"")


def check_pid(pid: int) -> None:
    """Raise `CollectorError` unless process `pid` exists."""
    if not process_alive(pid):
        raise TargetError(f"there is no running process with PID {pid}")
    if pid == os.getpid():
        raise TargetError("bpfscope cannot profile itself")
