"""A terminal resized while sampling (a window dragged, tmux panes rearranged): the samples
stay, sampling goes on, selection survives and every row drawn fits the new width."""

from __future__ import annotations

from tests.test_tui.fake_collector import FakeStarter
from tests.test_tui.test_live import HOT, Clock, live_app, names, selected, started, status, tick


async def test_resizing_while_sampling_keeps_samples_and_redraws_to_the_new_size() -> None:
    """Shrink to 80x24, grow to 160x50, shrink to 40x12 while fed: totals only grow, the
    selected frame stays, the status still counts and each rendered row is as wide as the pane."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 20)
        tick(app, clock)
        await pilot.press("j")
        before = selected(app, app.left_heavy)
        assert before == "work"
        fed = 20
        for size in ((80, 24), (160, 50), (40, 12), (80, 24)):
            await pilot.resize_terminal(*size)
            c.feed(HOT, 10)
            fed += 10
            tick(app, clock)
            await pilot.pause()
            graph = app.left_heavy
            assert graph.model is not None and graph.model.total == fed
            assert names(app, graph) == ["main"]
            assert selected(app, graph) == before
            assert f"{fed} samples" in status(app)
            width = graph.scrollable_content_region.width
            for y in range(min(3, graph.scrollable_content_region.height)):
                assert graph.render_line(y).cell_length == width
        assert not c.stopped
