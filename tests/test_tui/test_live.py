"""The live TUI driven by a fake collector (deterministic batches, frozen clock), and once by
the real collector on a busy C program.

Ticks are run by the tests (`app.live_tick()`) with the clock moved by hand; the app's own
timer may tick too, which changes nothing the tests look at (it applies the same batches).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from collectors.live.base import Collector, Target
from tests.test_tui.fake_collector import FakeCollector, FakeStarter
from tui.app import BpfscopeApp
from tui.live import LiveOptions
from tui.screens.export import ExportDialog
from tui.screens.process_picker import ProcessInfo, ProcessPicker
from tui.views import FlameNode
from tui.widgets.flame_graph import FlameGraph
from tui.widgets.live_status import LiveStatus
from tui.widgets.message_line import MessageLine

SIZE = (100, 30)
HOT = ("main", "work", "hot")
COLD = ("main", "idle_loop")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def live_app(starter: FakeStarter, target: Target | None = None, clock: Clock | None = None,
             log: str | None = None, signals: bool = False) -> BpfscopeApp:
    options = LiveOptions(starter, target if target is not None else Target.for_pid(4242), log,
                          handle_signals=signals, clock=clock or Clock())
    return BpfscopeApp(live=options, process_lister=lambda: [ProcessInfo(99, "root", "busy", "busy --x", 50.0,
                                                                         1 << 20, 1)])


async def started(app: BpfscopeApp, pilot: object) -> FakeCollector:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert app.live is not None
    c = app.live.collector
    assert isinstance(c, FakeCollector)
    return c


def names(app: BpfscopeApp, graph: FlameGraph) -> list[str]:
    """Top frames of a graph, in order."""
    assert graph.model is not None
    frames = app.session.group.frames
    return [frames[n.frame].name for n in graph.model.children(graph.model.root)]


def selected(app: BpfscopeApp, graph: FlameGraph) -> str | None:
    sel = graph.selected
    return None if sel is None else app.session.group.frames[sel.frame].name


def zoomed(app: BpfscopeApp, graph: FlameGraph) -> list[str | None]:
    frames = app.session.group.frames
    return [None if v.node is None else frames[v.node.frame].name for v in graph.zoom_stack]


def status(app: BpfscopeApp) -> str:
    return app.query_one(LiveStatus).text


def tick(app: BpfscopeApp, clock: Clock) -> None:
    clock.now += 1.0
    app.live_tick()


async def test_samples_appear_in_left_heavy_and_the_status_counts_them() -> None:
    """Fed samples show up in Left Heavy after a tick; the status says `N samples` and the rest
    (on a terminal wide enough for every field)."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=(200, 30)) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 30)
        tick(app, clock)
        await pilot.pause()
        assert names(app, app.left_heavy) == ["main"]
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 30
        text = status(app)
        for part in ("fake", "PID 4242", "99 Hz", "30 samples", "0 lost", "0.3 s", "0.0% [unknown]", "sampling"):
            assert part in text, (part, text)


async def test_every_pane_updates() -> None:
    """Time Order and Sandwich show the samples too, rebuilt when shown."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 10)
        tick(app, clock)
        await pilot.press("1")
        assert app.time_order.model is not None and app.time_order.model.total == 10
        c.feed(COLD, 5)
        tick(app, clock)
        assert app.time_order.model.total == 15
        await pilot.press("3")
        assert app.sandwich.totals is not None and app.sandwich.totals.grand_total == 15


async def test_only_the_shown_pane_is_rebuilt() -> None:
    """While Left Heavy is shown, updates build neither the Time Order tree nor function totals."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        for _ in range(3):
            c.feed(HOT, 10)
            tick(app, clock)
        derived = app.session.current
        assert derived._time_order is None and not derived.totals_ready
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 30


async def test_selection_and_zoom_survive_updates() -> None:
    """A selected, zoomed frame stays selected and zoomed when a heavier branch overtakes it."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 10)
        c.feed(COLD, 5)
        tick(app, clock)
        await pilot.press("j", "enter")
        graph = app.left_heavy
        assert selected(app, graph) == "work" and zoomed(app, graph) == [None, "work"]
        c.feed(COLD, 50)  # idle_loop now comes first in Left Heavy
        tick(app, clock)
        await pilot.pause()
        assert selected(app, graph) == "work"
        assert zoomed(app, graph) == [None, "work"]
        assert graph.zoom_node is not None and graph.zoom_node.total == 10
        assert graph.model is not None and graph.model.total == 65


async def test_time_order_keeps_its_selection() -> None:
    """In Time Order the selected run stays selected as later samples extend the axis."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(COLD, 10)
        c.feed(HOT, 10)
        tick(app, clock)
        await pilot.press("1", "j", "l")
        graph = app.time_order
        assert selected(app, graph) == "work"
        before = graph.selected
        assert before is not None
        c.feed(COLD, 20)
        tick(app, clock)
        after = graph.selected
        assert after is not None and selected(app, graph) == "work" and after.start == before.start


async def test_space_pauses_the_view_while_sampling_goes_on() -> None:
    """Paused, the panes keep what they showed while the samples still come in; resuming shows them."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 10)
        tick(app, clock)
        await pilot.press("space")
        assert app.paused
        model = app.left_heavy.model
        c.feed(COLD, 40)
        tick(app, clock)
        tick(app, clock)
        assert app.left_heavy.model is model and model is not None and model.total == 10
        assert c.stats.samples == 50 and not c.stopped
        assert "paused" in status(app) and "50 samples" in status(app)
        await pilot.press("space")
        assert not app.paused
        tick(app, clock)
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 50


async def test_x_stops_sampling_and_the_data_stays() -> None:
    """x stops the collector; the panes keep every sample and the status says stopped."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 12)
        await pilot.press("x")
        assert c.stopped
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 12
        assert "stopped" in status(app) and "12 samples" in status(app)
        assert app.check_action("toggle_pause", ()) is False


async def test_export_works_while_sampling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """e writes what was collected so far, sampling still running."""
    monkeypatch.chdir(tmp_path)
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 3)
        tick(app, clock)
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        dialog.query_one("#format-folded").value = True  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        written = list(tmp_path.glob("*.folded"))
        assert len(written) == 1 and written[0].read_text().splitlines() == ["main;work;hot 3"]
        assert not c.stopped


async def test_target_exit_keeps_the_data_and_says_so() -> None:
    """When the target exits the samples stay and the status names the reason."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 8)
        c.exit("the command exited with status 0")
        tick(app, clock)
        assert "target exited (the command exited with status 0)" in status(app)
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 8


async def test_command_output_log_is_named_in_the_status() -> None:
    """For `-- CMD`, the status says where the command's output goes."""
    app = live_app(FakeStarter(), target=Target.for_command(["sleep", "1"]), log="/tmp/x/command.log")
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        app.live_tick()
        assert "output in /tmp/x/command.log" in status(app) and "sleep 1 (PID 4321)" in status(app)


async def test_a_command_line_target_that_cannot_start_exits_2() -> None:
    """The target named on the command line (`-p`, `--`) failing to start ends the app with exit
    status 2 and the reason for stderr, as `bpfscope record` does: no picker the user never asked for."""
    from textual.worker import WorkerCancelled

    app = live_app(FakeStarter(error="bcc is missing: install python3-bpfcc"))
    async with app.run_test(size=SIZE) as pilot:
        with contextlib.suppress(WorkerCancelled):  # the app exits under the worker
            await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.live is None
        assert not isinstance(app.screen, ProcessPicker)
    assert app.return_code == 2
    assert app.start_error == "cannot sample PID 4242: bcc is missing: install python3-bpfcc"


async def test_a_picked_process_that_cannot_start_is_reported_and_the_picker_stays() -> None:
    """A process chosen in the picker that cannot be sampled is an error notification with its
    reason; the picker stays usable and the app goes on."""
    starter = FakeStarter(error="bcc is missing: install python3-bpfcc")
    app = BpfscopeApp(live=LiveOptions(starter, None, handle_signals=False, clock=Clock()),
                      process_lister=lambda: [ProcessInfo(99, "root", "busy", "busy --x", 50.0, 1 << 20, 1)])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ProcessPicker)
        app.start_sampling(Target.for_pid(99))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.live is None and app.return_code is None
        assert any("bcc is missing: install python3-bpfcc" in m and severity == "error"
                   for severity, m in app.messages)
        assert "bcc is missing: install python3-bpfcc" in app.screen.query_one(MessageLine).text
        assert isinstance(app.screen, ProcessPicker)


async def test_the_fallback_note_is_shown() -> None:
    """When bcc could not run, the reason for the fallback is shown as a warning."""
    app = live_app(FakeStarter(note="bcc cannot run (no headers); sampling with perf instead"))
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        assert any("sampling with perf instead" in m and severity == "warning" for severity, m in app.messages)


async def test_quitting_stops_the_collector() -> None:
    """q stops the collector (so the kernel resources are released)."""
    app = live_app(FakeStarter())
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        await pilot.press("q")
        await pilot.pause()
        assert c.stopped and not app.is_running


async def test_sigterm_exits_cleanly_and_stops_the_collector() -> None:
    """SIGTERM to bpfscope ends the app through its normal exit, stopping the collector."""
    app = live_app(FakeStarter(), signals=True)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(600):  # the signal is handled on the event loop: wait for its effect, not a time
            if c.stopped and app.return_code is not None:
                break
            await pilot.pause(0.05)
        assert c.stopped
        assert app.return_code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


async def test_hostile_names_in_live_frames_render_as_text() -> None:
    """A frame name with markup and escape sequences reaches the screen escaped, never interpreted."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(("main", "[bold]evil\x1b[31m"), 5)
        tick(app, clock)
        await pilot.press("j")
        line = "".join(app.left_heavy.render_line(y).text for y in range(3))
        assert "[bold]evil" in line and "\x1b" not in line


# --- the real collector --------------------------------------------------------------

BUSY_C = r"""
#include <time.h>
static volatile unsigned long sink;
__attribute__((noinline)) void burn_cpu_here(void) {
    volatile unsigned long acc = 0;
    for (unsigned long i = 0; i < 20000000UL; i++) acc += i;
    sink += acc;
}
int main(void) {
    time_t end = time(0) + 120;
    while (time(0) < end) burn_cpu_here();
    return 0;
}
"""


@pytest.mark.live
async def test_real_collector_shows_the_hot_function_and_leaves_no_bpf_program(tmp_path: Path) -> None:
    """As root: the automatically chosen collector is bcc (not a perf fallback), its hot function appears
    in Left Heavy, its BPF programs are loaded while it samples, and after quitting with `q` alone
    (no `x` first) the app has exited and no BPF program of ours is loaded."""
    from collectors.live.choose import start_collector
    from tests.test_collectors.live.helpers import our_programs
    from tests.test_collectors.live.workloads import build

    assert os.geteuid() == 0, "the live TUI test needs root (CI is root)"
    before = our_programs()
    exe = build(tmp_path, "busy", BUSY_C)
    proc = subprocess.Popen([str(exe)])
    try:
        notes: list[str | None] = []

        def starter(target: Target) -> tuple[Collector, str | None]:
            collector, note = start_collector(target, 99)
            notes.append(note)
            return collector, note

        options = LiveOptions(starter, Target.for_pid(proc.pid), handle_signals=False)
        app = BpfscopeApp(live=options)
        async with app.run_test(size=SIZE) as pilot:
            deadline = time.monotonic() + 60
            found = False
            while time.monotonic() < deadline and not found:
                await pilot.pause(0.3)
                graph = app.left_heavy
                if app.live is not None and graph.model is not None:
                    found = any(app.session.group.frames[n.frame].name == "burn_cpu_here"
                                for n in _walk(graph))
            errors = [m for severity, m in app.messages if severity == "error"]
            assert found, f"burn_cpu_here never appeared; errors: {errors}; status: {status(app)}"
            assert app.live is not None
            collector = app.live.collector
            assert (collector.name, notes) == ("bcc", [None]), notes
            assert collector.name in status(app)
            assert our_programs() - before, "no BPF program of ours is loaded while bcc samples"
            await pilot.press("q")
            await pilot.pause()
            assert not app.is_running
    finally:
        proc.kill()
        proc.wait()
    # Programs of another run on this machine may come and go meanwhile: what matters is that none of ours stays.
    assert not (our_programs() - before)


def _walk(graph: FlameGraph) -> list[FlameNode]:
    assert graph.model is not None
    out: list[FlameNode] = []
    todo = list(graph.model.children(graph.model.root))
    while todo:
        n = todo.pop()
        out.append(n)
        if n.depth < 64:
            todo.extend(graph.model.children(n))
    return out
