"""The Sandwich pane's callers/callees rebuild: at once after a rest, once at the end of a run of moves."""

from __future__ import annotations

from time import monotonic

from tests.test_tui.profiles import small_group
from tui.app import BpfscopeApp
from tui.widgets.sandwich import SandwichView
from tui.widgets.status import DetailsLine

SIZE = (80, 24)


def count_rebuilds(sw: SandwichView) -> list[int]:
    """Wrap the view's sandwich source; the returned list grows by the frame of each rebuild."""
    source = sw.sandwich_of
    assert source is not None
    built: list[int] = []

    def counting(frame: int) -> object:
        built.append(frame)
        return source(frame)

    sw.sandwich_of = counting  # type: ignore[assignment]
    return built


async def test_a_move_after_a_rest_rebuilds_at_once() -> None:
    """With the cursor resting longer than the rebuild delay between moves, each move rebuilds immediately."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        sw = app.sandwich
        clock = [monotonic() + 1000.0]  # later than the moves made while opening the pane
        sw.clock = lambda: clock[0]
        built = count_rebuilds(sw)
        for _ in range(2):
            clock[0] += 1.0
            await pilot.press("down")
            assert sw.graphs_frame == sw.frame and built[-1] == sw.frame
        assert len(built) == 2


async def test_quick_moves_rebuild_once_at_the_end() -> None:
    """Moves faster than the rebuild delay select at once but build callers/callees only for the last one."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        sw = app.sandwich
        now = monotonic() + 1000.0
        sw.clock = lambda: now  # after a rest, then no time passes between moves
        sw.rebuild_delay = 0.5  # the timer is real: longer than Pilot takes for two keys
        built = count_rebuilds(sw)
        await pilot.press("down")
        assert built == [sw.order[1]]
        await pilot.press("down", "down")
        assert sw.frame == sw.order[3] and sw.graphs_frame == sw.order[1] and built == [sw.order[1]]
        await pilot.pause(sw.rebuild_delay * 1.5)
        assert built == [sw.order[1], sw.order[3]] and sw.graphs_frame == sw.frame


async def test_enter_builds_pending_graphs_before_focusing_them() -> None:
    """Enter during a run of quick moves builds the pending callers/callees at once."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        sw = app.sandwich
        now = monotonic() + 1000.0
        sw.clock = lambda: now
        built = count_rebuilds(sw)
        await pilot.press("down", "down", "enter")
        assert built == [sw.order[1], sw.order[2]] and sw.graphs_frame == sw.order[2]
        assert app.focused is sw.callers


async def test_the_callers_graph_is_searched_and_its_selection_described() -> None:
    """The Sandwich's callers and callees are flame graphs like the panes: a search highlights its
    matches there too, and moving in the callers graph shows the selected frame on the details line."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"main", "enter")
        await pilot.press("3")
        sw = app.sandwich
        frames = app.session.group.frames
        fid = {f.name: i for i, f in enumerate(frames)}
        sw.show_function(fid["b"])
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is sw.callers
        assert sw.callers.matches == sw.callees.matches == app.left_heavy.matches == frozenset({fid["main"]})
        details = app.query_one(DetailsLine)
        names = []
        for key in ("j", "j", "k"):
            await pilot.press(key)
            await pilot.pause()
            selected = sw.callers.selected
            assert selected is not None
            names.append(frames[selected.frame].name)
            shown = details.render()
            assert str(shown).startswith(f"{names[-1]}  {names[-1]}.c"), (names, shown)
        assert {"a", "b"} <= set(names), "the cursor moved between b and its caller"
