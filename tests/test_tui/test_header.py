"""The header's first line at 80 columns: one line, with the pane and the kind of time in view."""

from __future__ import annotations

from collectors.profile import ON_CPU, Frame, ProfileGroup, Unit
from tui.app import BpfscopeApp
from tui.widgets.status import ProfileHeader


def long_named_group() -> ProfileGroup:
    group = ProfileGroup(name="/usr/bin/python3 " + "very/long/path/" * 8 + "server.py --workers 16")
    p = group.new_profile("main on-CPU", Unit.SECONDS)
    p.time_kind = ON_CPU
    p.add_sample((group.frames.intern(Frame("main")),), 0.01, 0.0)
    return group


async def test_a_long_name_gives_way_to_the_pane_and_kind() -> None:
    """A command line longer than the terminal is cut; the pane and kind of time stay on the first line."""
    app = BpfscopeApp(long_named_group())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        first = str(app.query_one(ProfileHeader).render()).splitlines()[0]
        assert len(first) <= 80
        assert "Left Heavy" in first and "on-CPU" in first
        assert first.startswith("/usr/bin/python3 very/long") and "…" in first
