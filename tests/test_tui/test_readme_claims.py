"""What README.md promises about the terminal UI, each held to a test: the frame-pointer hint in the live
status line, Ctrl+C as a key, `p` while live, and "applying filters…" while filters compute."""

from __future__ import annotations

import threading
from typing import Any

from tests.test_tui.fake_collector import FakeStarter
from tests.test_tui.profiles import small_group
from tests.test_tui.test_live import Clock, live_app, started, status, tick
from tui.app import BpfscopeApp
from tui.screens.process_picker import ProcessPicker
from tui.widgets.status import ProfileHeader

SIZE = (160, 30)
HINT = "stacks cut short: rebuild with -fno-omit-frame-pointer"


async def test_the_live_status_line_names_the_frame_pointer_fix_when_stacks_are_cut() -> None:
    """README: "Programs built without frame pointers give short stacks; the status line says so and names
    the fix". Whole stacks (from `_start`) give no hint; then mostly cut ones do. The first
    seconds are not judged (a process's first stacks are cut short however it was built)."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(("starting",), 150)  # 1.5 s of stacks cut short while the process starts
        tick(app, clock)
        assert "150 samples" in status(app) and HINT not in status(app)
        c.feed(("_start", "main", "work"), 150)  # settled after 2 s: whole stacks from here
        tick(app, clock)
        c.feed(("_start", "main", "work"), 100)
        tick(app, clock)
        assert "400 samples" in status(app) and HINT not in status(app)
        c.feed(("somewhere", "leaf"), 100)  # user stacks that stop before any thread entry point
        tick(app, clock)
        assert "500 samples" in status(app) and HINT in status(app)


async def test_ctrl_c_quits_and_stops_the_collector() -> None:
    """README's key table: Ctrl+C quits, as q does; a live collector is stopped on the way out."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running
        assert c.stopped


async def test_p_while_live_opens_the_picker_and_switches_the_target() -> None:
    """README: `p` chooses a process to sample, also while sampling one: the old collector stops and the
    new target is sampled."""
    starter = FakeStarter()
    app = live_app(starter)
    async with app.run_test(size=SIZE) as pilot:
        first = await started(app, pilot)
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ProcessPicker)
        await pilot.press("down", "enter")  # the row under "all processes": the lister's one process, PID 99
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(app.screen, ProcessPicker)
        assert first.stopped
        assert len(starter.collectors) == 2 and starter.last.target.pid == 99
        assert app.live is not None and app.live.collector is starter.last


async def test_applying_filters_shows_while_the_view_is_derived() -> None:
    """README: while a filter is being applied to a big profile, the header says "applying filters…";
    it goes once the view is ready. The derivation is held on an event, so no timing is involved."""
    app = BpfscopeApp(small_group())
    release = threading.Event()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.sync_view_stacks = 0  # every profile counts as big: derive on a worker
        prepare = app.session.prepare

        def held_prepare(*args: Any, **kwargs: Any) -> Any:
            release.wait(60)
            return prepare(*args, **kwargs)

        app.session.prepare = held_prepare  # type: ignore[method-assign]
        header = app.query_one(ProfileHeader)
        await pilot.press("j", "d")  # hide the selected function
        await pilot.pause()
        assert "applying filters…" in str(header.render())
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "applying filters…" not in str(header.render())
        assert app.session.pending is False
