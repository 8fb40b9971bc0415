"""The header and details lines come from totals cached with the derived view: moving around, zooming
and switching panes never sums the profile's samples again (100k samples: milliseconds per key)."""

from __future__ import annotations

import pytest

from collectors.profile import Profile
from tests.test_tui.profiles import small_group, threaded_group
from tui.app import BpfscopeApp
from tui.widgets.status import ProfileHeader

SIZE = (120, 30)
KEYS = ("j", "k", "l", "h", "enter", "escape", "0", "1", "j", "enter", "2", "i", "i", "3", "j", "k", "2")


def counting(monkeypatch: pytest.MonkeyPatch) -> list[Profile]:
    """Every `Profile.total_weight()` call from now on, by profile."""
    calls: list[Profile] = []
    original = Profile.total_weight

    def total_weight(self: Profile) -> float:
        calls.append(self)
        return original(self)

    monkeypatch.setattr(Profile, "total_weight", total_weight)
    return calls


def header(app: BpfscopeApp) -> str:
    return app.query_one(ProfileHeader).render().plain  # type: ignore[union-attr]


async def test_keys_do_not_sum_the_samples_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the first screen, the keys that move, zoom and switch panes redraw the header and
    details without one `Profile.total_weight()` call; the header still gives the total."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("3")  # the Sandwich's totals, built once
        await pilot.press("2")
        await pilot.pause()
        calls = counting(monkeypatch)
        for key in KEYS:
            await pilot.press(key)
        await pilot.pause()
        assert calls == []
        assert "total 100 samples" in header(app)


async def test_a_new_view_sums_once_then_keys_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed view (here: another thread's profile; on the Sandwich, where Left Heavy is not
    rebuilt and its total cannot serve) is summed once, however many keys follow."""
    app = BpfscopeApp(threaded_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        calls = counting(monkeypatch)
        await pilot.press("t", "down", "enter")  # the thread picker: the other thread
        await pilot.pause()
        for key in ("j", "k", "j", "k", "j"):
            await pilot.press(key)
        await pilot.pause()
        assert calls == [app.session.profile]  # the header and the Sandwich's totals share one sum
        assert app.session.profile.name == "T2" and "total 30" in header(app), header(app)
