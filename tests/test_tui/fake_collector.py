"""A collector that samples nothing: tests feed it named stacks and read the time from it.

Batches are made by the real `BatchAssembler`, so the app applies exactly what a real
collector would hand over; `now` is a frozen clock (seconds since the start) that only the
test moves.
"""

from __future__ import annotations

from collections.abc import Sequence

from collectors.live.base import Collector, CollectorError, Target
from collectors.live.batches import BatchAssembler
from collectors.profile import Frame


class FakeCollector(Collector):
    name = "fake"

    def __init__(self, target: Target, frequency: int = 99) -> None:
        super().__init__(target, frequency)
        self.assembler = BatchAssembler()
        self.now = 0.0
        self.started = False
        self.stop_calls = 0

    def start(self) -> None:
        self.started = True
        self.start_ns = 1

    def stop(self) -> None:
        self.stop_calls += 1
        if not self.stop_ns:
            self.stop_ns = 2
        self._finished.set()

    @property
    def stopped(self) -> bool:
        return self.stop_calls > 0

    @property
    def pid(self) -> int | None:
        return self.target.pid if self.target.pid is not None else (4321 if self.target.command else None)

    def elapsed(self) -> float:
        return self.now

    def feed(self, stack: Sequence[str], count: int = 1, tid: int = 7, comm: str = "work",
             step: float = 0.01) -> None:
        """Queue `count` samples of `stack` (names, root first), `step` seconds apart."""
        a = self.assembler
        fids = tuple(a.frame(Frame(name, "work.c")) for name in stack)
        sid = a.stack(fids, len(fids))
        a.thread(self.pid or 1, tid, comm)
        for _ in range(count):
            a.sample(self.now, tid, sid)
            self.now += step
        self._publish(a.take())

    def exit(self, note: str) -> None:
        """The target exits: no more samples."""
        self.exit_note = note
        self._finished.set()


class FakeStarter:
    """A `CollectorStarter` handing out fake collectors (or failing with `error`)."""

    def __init__(self, error: str | None = None, note: str | None = None) -> None:
        self.error = error
        self.note = note
        self.collectors: list[FakeCollector] = []

    def __call__(self, target: Target) -> tuple[Collector, str | None]:
        if self.error is not None:
            raise CollectorError(self.error)
        c = FakeCollector(target)
        c.start()
        self.collectors.append(c)
        return c, self.note

    @property
    def last(self) -> FakeCollector:
        return self.collectors[-1]
