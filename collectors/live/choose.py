"""Which collector runs: bcc when it can, else perf, saying in one sentence why and how to fix it.

    collector, note = start_collector(Target.for_pid(42), 99)      # bcc, or perf with a note
    collector, note = start_collector(target, 99, which="perf")    # what the user asked for

Every collector is registered once, in `COLLECTORS`: a new one is one module (a `Collector`),
one factory and one line there, and its tests; `--collector` takes the registered names.
Factories import their module when called, so importing this module (the CLI does, for its
choices) loads neither the bcc nor the perf collector, nor the unwinders and symbolizers they use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from collectors.live.base import DEFAULT_FREQUENCY, Collector, CollectorError, CommandIO, Target, TargetError

__all__ = ["COLLECTORS", "bcc_unavailable_reason", "collector_names", "make_collector", "perf_unavailable_reason",
           "start_collector"]

CollectorFactory = Callable[[Target, int, "CommandIO | None", bool], Collector]
"""factory(target, frequency, io, off_cpu): a collector, not started."""


def _bcc(target: Target, frequency: int, io: CommandIO | None, off_cpu: bool) -> Collector:
    from collectors.live.bcc_collector import BccCollector

    return BccCollector(target, frequency, io, off_cpu=off_cpu)


def _perf(target: Target, frequency: int, io: CommandIO | None, off_cpu: bool) -> Collector:
    from collectors.live.perf_collector import PerfCollector

    return PerfCollector(target, frequency, io)


@dataclass(frozen=True)
class CollectorEntry:
    name: str
    """What `--collector` takes."""
    make: CollectorFactory
    off_cpu: bool
    """Whether it can record off-CPU time as well."""


COLLECTORS: tuple[CollectorEntry, ...] = (
    CollectorEntry("bcc", _bcc, off_cpu=True),
    CollectorEntry("perf", _perf, off_cpu=False),
)

OFF_CPU_NEEDS_BCC = "off-CPU time needs the bcc collector (the perf collector only samples what runs)"


def collector_names() -> tuple[str, ...]:
    return tuple(c.name for c in COLLECTORS)


def _entry(which: str) -> CollectorEntry:
    for entry in COLLECTORS:
        if entry.name == which:
            return entry
    raise CollectorError(f"unknown collector {which!r} (choose {' or '.join(collector_names())})")


def bcc_unavailable_reason() -> str | None:
    """Why the bcc collector cannot run here, with the fix; None when it should."""
    from collectors.live import bcc_collector

    return bcc_collector.bcc_unavailable_reason()


def perf_unavailable_reason(target: Target) -> str | None:
    """Why the perf collector cannot sample `target`, with the fix; None when it should."""
    from collectors.live import perf_collector

    return perf_collector.perf_unavailable_reason(target)


def make_collector(which: str, target: Target, frequency: int = DEFAULT_FREQUENCY,
                   io: CommandIO | None = None, off_cpu: bool = False) -> Collector:
    """`off_cpu`: record off-CPU time too (bcc only: perf refuses it)."""
    entry = _entry(which)
    if off_cpu and not entry.off_cpu:
        raise CollectorError(f"{OFF_CPU_NEEDS_BCC}: drop --collector {which}, or drop --off-cpu")
    return entry.make(target, frequency, io, off_cpu)


def start_collector(target: Target, frequency: int = DEFAULT_FREQUENCY, which: str | None = None,
                    io: CommandIO | None = None, off_cpu: bool = False) -> tuple[Collector, str | None]:
    """A started collector and, when bcc could not be used, the sentence saying why.

    `which` forces a collector (its failure is raised); None tries bcc, then perf.
    Problems with the target itself (no such process, command not found) are raised as they
    are: perf would fail on them too. With `off_cpu` there is no fallback: why bcc cannot
    run is raised instead.
    """
    if which is not None:
        collector = make_collector(which, target, frequency, io, off_cpu)
        collector.start()
        return collector, None
    reason = bcc_unavailable_reason()
    if off_cpu:
        if reason is not None:
            raise CollectorError(f"{OFF_CPU_NEEDS_BCC}, which cannot run: {reason}")
        bcc = make_collector("bcc", target, frequency, io, off_cpu=True)
        bcc.start()
        return bcc, None
    if reason is None:
        bcc = make_collector("bcc", target, frequency, io)
        try:
            bcc.start()
            return bcc, None
        except TargetError:
            raise
        except CollectorError as e:
            reason = str(e)
    perf = make_collector("perf", target, frequency, io)
    perf.start()
    return perf, f"bcc cannot run ({reason}); sampling with perf instead"
