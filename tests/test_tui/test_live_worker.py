"""The live TUI once updates are built on a worker (`live_driver.sync_samples` = 0: every update after
the first): keys act at once while an update is held in flight, the panes take the finished
result when it lands, and no tree is built on the UI thread meanwhile.

Count-based, never timed: a `Gate` holds the worker's update until the test opens it, so
"in flight" is a state the test controls, not a race it hopes to win.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from collectors.calltree import GroupedTree, TimeOrderTree
from tests.test_tui.fake_collector import FakeCollector, FakeStarter
from tests.test_tui.test_diff_view import text_of
from tests.test_tui.test_filters import child_names, chip_texts, header_lines
from tests.test_tui.test_live import COLD, HOT, SIZE, Clock, live_app, names, selected, started, status, tick, zoomed
from tui.app import BpfscopeApp
from tui.live_aggregate import LiveAggregator, LiveRequest, LiveUpdate
from tui.widgets.status import ProfileHeader


class Gate:
    """Holds every update the worker builds until `open()`; counts them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._open = threading.Event()
        self.entered = threading.Semaphore(0)
        self.calls = 0
        real = LiveAggregator.update

        def held(aggregator: LiveAggregator, request: LiveRequest) -> LiveUpdate:
            if threading.current_thread() is not threading.main_thread():
                self.calls += 1
                self.entered.release()
                assert self._open.wait(30), "the test never opened the gate"
            return real(aggregator, request)

        monkeypatch.setattr(LiveAggregator, "update", held)
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def wait_entered(self, pilot: object) -> None:
        """Until the worker holds an update at the gate (the event loop runs meanwhile: it starts workers)."""
        from textual.pilot import Pilot

        assert isinstance(pilot, Pilot)
        for _ in range(3000):
            if self.entered.acquire(blocking=False):
                return
            await pilot.pause(0.01)
        raise AssertionError("no update reached the worker")


class Builds:
    """Where the trees are built: the threads that laid out a Time Order tree or sorted a Left Heavy one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.threads: list[str] = []
        layout, grouped = TimeOrderTree._layout, GroupedTree.__init__

        def spy_layout(tree: TimeOrderTree, *args: object) -> None:
            self.threads.append(threading.current_thread().name)
            layout(tree, *args)  # type: ignore[arg-type]

        def spy_grouped(tree: GroupedTree, *args: object) -> None:
            self.threads.append(threading.current_thread().name)
            grouped(tree, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(TimeOrderTree, "_layout", spy_layout)
        monkeypatch.setattr(GroupedTree, "__init__", spy_grouped)

    @property
    def on_ui_thread(self) -> int:
        main = threading.main_thread().name
        return sum(1 for t in self.threads if t == main)


async def on_worker(app: BpfscopeApp, pilot: object, clock: Clock) -> FakeCollector:
    """Started, 10 HOT and 5 COLD samples shown (that first update on the UI thread), every
    later update on a worker."""
    c = await started(app, pilot)
    c.feed(HOT, 10)
    c.feed(COLD, 5)
    tick(app, clock)
    assert not app.live_on_worker
    app.live_driver.sync_samples = 0
    assert app.live_on_worker
    return c


async def landed(app: BpfscopeApp, pilot: object) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    for _ in range(5):  # a landing may ask for one more update (the view changed meanwhile)
        await app.workers.wait_for_complete()
        await pilot.pause()
        if app.live_driver.job is None:
            return
    raise AssertionError("updates kept coming")


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    g = Gate(monkeypatch)
    yield g
    g.open()


async def test_keys_act_while_an_update_is_in_flight_and_the_result_lands(gate: Gate,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """With an update held on the worker, each key moves the selection or zoom at once over the
    model shown; when the update lands the pane shows the new samples, keeping what the keys
    did; no tree was built on the UI thread for it."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await on_worker(app, pilot, clock)
        builds = Builds(monkeypatch)
        graph = app.left_heavy
        shown = graph.model
        gate.close()
        c.feed(COLD, 50)  # idle_loop will come first
        tick(app, clock)
        await gate.wait_entered(pilot)
        moves = [("j", "work"), ("l", "idle_loop"), ("h", "work"), ("j", "hot"), ("k", "work")]
        for key, expected in moves:
            await pilot.press(key)
            assert selected(app, graph) == expected, key
        await pilot.press("enter")
        assert zoomed(app, graph) == [None, "work"]
        assert graph.model is shown and shown is not None and shown.total == 15, "the old model until it lands"
        tick(app, clock)  # a tick meanwhile starts no second update
        assert gate.calls == 1
        assert "65 samples" in status(app)
        gate.open()
        await landed(app, pilot)
        assert graph.model is not shown and graph.model is not None and graph.model.total == 65
        assert names(app, graph) == ["main"] and selected(app, graph) == "work"
        assert zoomed(app, graph) == [None, "work"]
        assert graph.zoom_node is not None and graph.zoom_node.total == 10
        assert builds.threads and builds.on_ui_thread == 0, builds.threads


async def test_a_pane_shown_for_the_first_time_is_built_on_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """`1` then `3`: Time Order and Sandwich are built by a live update, not on the UI thread."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await on_worker(app, pilot, clock)
        builds = Builds(monkeypatch)
        await pilot.press("1")
        await landed(app, pilot)
        assert app.time_order.model is not None and app.time_order.model.total == 15
        await pilot.press("3")
        await landed(app, pilot)
        assert app.sandwich.totals is not None and app.sandwich.totals.grand_total == 15
        await pilot.press("2")
        await landed(app, pilot)
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 15
        assert builds.threads and builds.on_ui_thread == 0, builds.threads


async def test_pausing_while_an_update_is_in_flight_keeps_the_view(gate: Gate) -> None:
    """An update that lands after `space` is not shown; resuming shows every sample."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await on_worker(app, pilot, clock)
        shown = app.left_heavy.model
        gate.close()
        c.feed(COLD, 50)
        tick(app, clock)
        await gate.wait_entered(pilot)
        await pilot.press("space")
        assert app.paused
        gate.open()
        await landed(app, pilot)
        assert app.left_heavy.model is shown
        await pilot.press("space")
        await landed(app, pilot)
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 65


async def test_stopping_while_an_update_is_in_flight_shows_every_sample(gate: Gate) -> None:
    """`x` during an update: the collector stops at once, and the update after it has the last samples."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await on_worker(app, pilot, clock)
        gate.close()
        c.feed(COLD, 20)
        tick(app, clock)
        await gate.wait_entered(pilot)
        c.feed(HOT, 7)  # queued after the update took its batches
        await pilot.press("x")
        assert c.stopped
        gate.open()
        await landed(app, pilot)
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 42
        assert "stopped" in status(app) and "42 samples" in status(app)


async def test_a_filter_shows_at_once_and_the_panes_follow(gate: Gate) -> None:
    """`d` on the worker: the chip and "applying filters…" show at once, the panes when it lands."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await on_worker(app, pilot, clock)
        gate.close()
        await pilot.press("j", "d")  # hide `work`
        await gate.wait_entered(pilot)
        assert chip_texts(app) == ["hide work"]
        assert "applying filters…" in header_lines(app)[0]
        assert child_names(app) == ["work", "idle_loop"], "the panes as they were until it lands"
        gate.open()
        await landed(app, pilot)
        assert child_names(app) == ["hot", "idle_loop"]
        assert "applying" not in header_lines(app)[0]
        await pilot.press("u")
        await landed(app, pilot)
        assert child_names(app) == ["work", "idle_loop"]


async def test_the_baseline_on_the_worker() -> None:
    """`b` marks at the samples gathered so far, `B` shows those since, coloured, and back."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await on_worker(app, pilot, clock)
        await pilot.press("b")
        await landed(app, pilot)
        assert app.comparison.live_baseline is not None and app.comparison.live_baseline.mark == 15
        assert any("baseline marked at 15 samples" in m for _, m in app.messages)
        c.feed(HOT, 30)
        tick(app, clock)
        await landed(app, pilot)
        await pilot.press("B")
        await landed(app, pilot)
        graph = app.left_heavy
        assert graph.model is not None and graph.model.total == 30 and graph.colorer is not None
        assert "15 samples before, 30 since" in text_of(app.query_one(ProfileHeader))
        await pilot.press("B")
        await landed(app, pilot)
        assert graph.model is not None and graph.model.total == 45 and graph.colorer is None
