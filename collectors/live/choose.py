"""Which collector runs: bcc when it can, else perf, saying in one sentence why and how to fix it.

    collector, note = start_collector(Target.for_pid(42), 99)      # bcc, or perf with a note
    collector, note = start_collector(target, 99, which="perf")    # what the user asked for
"""

from __future__ import annotations

from collectors.live.base import DEFAULT_FREQUENCY, Collector, CollectorError, CommandIO, Target, TargetError
from collectors.live.bcc_collector import BccCollector, bcc_unavailable_reason
from collectors.live.perf_collector import PerfCollector, perf_unavailable_reason

__all__ = ["COLLECTORS", "bcc_unavailable_reason", "make_collector", "perf_unavailable_reason", "start_collector"]

COLLECTORS = ("bcc", "perf")


OFF_CPU_NEEDS_BCC = "off-CPU time needs the bcc collector (the perf collector only samples what runs)"


def make_collector(which: str, target: Target, frequency: int = DEFAULT_FREQUENCY,
                   io: CommandIO | None = None, off_cpu: bool = False) -> Collector:
    """`off_cpu`: record off-CPU time too (bcc only: perf refuses it)."""
    if which == "bcc":
        return BccCollector(target, frequency, io, off_cpu=off_cpu)
    if which == "perf":
        if off_cpu:
            raise CollectorError(f"{OFF_CPU_NEEDS_BCC}: drop --collector perf, or drop --off-cpu")
        return PerfCollector(target, frequency, io)
    raise CollectorError(f"unknown collector {which!r} (choose bcc or perf)")


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
        bcc = BccCollector(target, frequency, io, off_cpu=True)
        bcc.start()
        return bcc, None
    if reason is None:
        bcc = BccCollector(target, frequency, io)
        try:
            bcc.start()
            return bcc, None
        except TargetError:
            raise
        except CollectorError as e:
            reason = str(e)
    perf = PerfCollector(target, frequency, io)
    perf.start()
    return perf, f"bcc cannot run ({reason}); sampling with perf instead"
