"""Headless recording (`bpfscope record`): sample until the duration, the target's exit or a
signal, then hand back everything collected, whichever way it ended.

SIGINT, SIGTERM and SIGHUP (the SSH session dropped) only ask the loop to stop (when
installed from the main thread), so the collector is always stopped and released and its
last samples are kept.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import TextIO

from collectors.live.base import Collector, CommandIO, CutShortJudge, Target
from collectors.live.batches import ProfileBuilder
from collectors.live.choose import start_collector
from collectors.profile import ProfileGroup

POLL_INTERVAL = 0.25
PROGRESS_INTERVAL = 1.0
PLAIN_PROGRESS_INTERVAL = 5.0
"""Seconds between progress lines when stderr is not a terminal (a log file)."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True, slots=True)
class Recording:
    group: ProfileGroup
    collector: Collector
    ended: str
    """Why sampling ended: `duration reached`, `SIGTERM`, `the command exited with status 0`, …"""
    cut_share: float | None = None
    """Of the user stacks after the first `SETTLE_S` seconds, the share cut short (None: too few)."""


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[dict[str, str]]:
    """While inside, SIGINT, SIGTERM and SIGHUP set `stop` (the dict gets the signal's name)."""
    got: dict[str, str] = {}
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        got.setdefault("signal", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield got
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def progress_line(collector: Collector) -> str:
    st = collector.stats
    runtime = collector.runtime()
    target = collector.target.describe() + (f" ({runtime})" if runtime else "")
    return (f"{collector.name}: {target} at {collector.frequency} Hz: "
            f"{st.samples} samples, {st.lost} lost, {collector.elapsed():.1f} s, "
            f"{st.unknown_share:.1%} [unknown]" + (f", {st.whole_text()}" if st.user_stacks else ""))


def record(target: Target, frequency: int, duration: float | None = None, which: str | None = None,
           progress: TextIO | None = None, interactive: bool = False,
           command_io: CommandIO | None = None, off_cpu: bool = False) -> Recording:
    """Sample `target` and return the profile group; `CollectorError` when it cannot start.

    `progress` gets a start line, progress (rewritten in place when `interactive`, else
    every few seconds) and the reason sampling ended. `command_io`: where a launched
    command's standard streams go (default: ours). `off_cpu`: record where the target
    waits too (bcc only), every profile then in seconds, two per thread (on- and off-CPU).
    """
    stop = threading.Event()
    with stop_on_signals(stop) as got:
        collector, note = start_collector(target, frequency, which, command_io, off_cpu)
        builder = ProfileBuilder(_group_name(target), frequency, off_cpu)
        ended = ""
        judge = CutShortJudge()
        try:
            _say(progress, note)
            _say(progress, f"recording: {collector.describe()}; Ctrl-C stops and saves")
            last_shown = time.monotonic()
            every = PROGRESS_INTERVAL if interactive else PLAIN_PROGRESS_INTERVAL
            while True:
                finished = collector.wait(POLL_INTERVAL)
                builder.apply_all(collector.drain())
                judge.observe(collector.stats, collector.elapsed())
                if finished:
                    ended = collector.exit_note or "sampling ended"
                elif stop.is_set():
                    ended = f"stopped by {got.get('signal', 'request')}"
                elif duration is not None and collector.elapsed() >= duration:
                    ended = "duration reached"
                if ended:
                    break
                if progress is not None and time.monotonic() - last_shown >= every:
                    last_shown = time.monotonic()
                    if interactive:
                        _write(progress, f"\r\x1b[K{progress_line(collector)}")
                    else:
                        _say(progress, progress_line(collector))
        finally:
            collector.stop()
            builder.apply_all(collector.drain())
            if progress is not None and interactive:
                _write(progress, "\r\x1b[K")
    _say(progress, f"{ended}: {progress_line(collector)}")
    return Recording(builder.finish(), collector, ended, judge.overall(collector.stats))


def _group_name(target: Target) -> str:
    """`PID 42 (nginx)`, `all processes`, or the command line."""
    name = target.describe()
    if target.pid is not None:
        try:
            with open(f"/proc/{target.pid}/comm", encoding="utf-8", errors="replace") as f:
                name = f"{name} ({f.read().strip()})"
        except OSError:
            pass
    return name


def _say(stream: TextIO | None, text: str | None) -> None:
    if stream is not None and text:
        _write(stream, text + "\n")


def _write(stream: TextIO, text: str) -> None:
    """Progress is a courtesy: a terminal gone with a dropped SSH session (EIO) must not
    keep the samples from being saved."""
    with contextlib.suppress(OSError, ValueError):
        stream.write(text)
        stream.flush()
