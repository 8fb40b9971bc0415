"""Filter chips (focus, hide, collapse, mine): keys, the `F` screen, header chips, undo/redo."""

from __future__ import annotations

import pytest
from textual.content import Content
from textual.widgets import Input, OptionList, Static

from collectors.profile import Frame
from collectors.transforms import TransformError
from tests.test_tui.fake_collector import FakeStarter
from tests.test_tui.profiles import small_group
from tests.test_tui.test_live import COLD, HOT, Clock, live_app, started, tick
from tui.app import BpfscopeApp
from tui.chips import Chip, module_chip, parse_filter
from tui.screens.filters import FilterScreen
from tui.session import Session
from tui.widgets.status import ProfileHeader

SIZE = (80, 24)


def root_names(app: BpfscopeApp) -> list[str]:
    """The names of the Left Heavy pane's top frames, left to right."""
    model = app.left_heavy.model
    assert model is not None
    return [app.session.group.frames[n.frame].name for n in model.children(model.root)]


def child_names(app: BpfscopeApp, index: int = 0) -> list[str]:
    """The names under the `index`-th top frame of Left Heavy."""
    model = app.left_heavy.model
    assert model is not None
    top = model.children(model.root)[index]
    return [app.session.group.frames[n.frame].name for n in model.children(top)]


def header_lines(app: BpfscopeApp) -> list[str]:
    rendered = app.query_one(ProfileHeader).render()
    assert isinstance(rendered, Content)
    return rendered.plain.splitlines()


def chip_texts(app: BpfscopeApp) -> list[str]:
    return [c.text for c in app.session.view.chips]


async def test_f_focuses_on_the_selected_function() -> None:
    """`f` on `a`: only stacks through a, re-rooted at a; the header shows the chip."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "f")
        assert chip_texts(app) == ["focus a"]
        assert root_names(app) == ["a"]
        assert child_names(app) == ["b", "c"]
        assert header_lines(app)[1].startswith(" focus a × ")


async def test_d_hides_the_selected_function_giving_its_time_to_the_caller() -> None:
    """`d` on `a`: b and c move up under main, heaviest first."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "d")
        assert chip_texts(app) == ["hide a"]
        assert child_names(app) == ["d", "b", "c"]


async def test_m_collapses_the_selected_frames_file() -> None:
    """`m` on `a` (file a.c) replaces it by one frame named after the file."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "m")
        assert chip_texts(app) == ["collapse a.c"]
        assert child_names(app) == ["a.c", "d"]


async def test_filters_apply_to_the_sandwich_totals() -> None:
    """A hidden function leaves the Sandwich table; the others keep their totals."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "d", "3")
        await pilot.pause()
        totals = app.sandwich.totals
        assert totals is not None
        frames = app.session.group.frames
        assert {frames[f].name: t for f, t in totals.total.items()} == {"main": 100, "b": 30, "c": 10, "d": 40}


async def test_u_undoes_and_U_redoes_a_chip() -> None:
    """Undo removes the last chip added (the tree comes back), redo adds it again."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "f", "u")
        assert chip_texts(app) == []
        assert root_names(app) == ["main"]
        await pilot.press("U")
        assert chip_texts(app) == ["focus a"]
        assert root_names(app) == ["a"]


async def test_undo_covers_removing_a_chip() -> None:
    """Removing a chip is a change of its own: undo brings the chip back."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "d")
        app.session.remove_chip(0)
        app.action_undo()
        await pilot.pause()
        assert chip_texts(app) == ["hide a"]
        assert child_names(app) == ["d", "b", "c"]


async def test_clicking_a_chips_cross_removes_it() -> None:
    """A click on the × of the second chip in the header removes that chip only."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "f", "j", "d")
        assert chip_texts(app) == ["focus a", "hide b"]
        header = app.query_one(ProfileHeader)
        x0, _, target = header.hits[1]
        assert target == 1
        await pilot.click(ProfileHeader, offset=(x0 + 1, 1))
        await pilot.pause()
        assert chip_texts(app) == ["focus a"]
        assert child_names(app) == ["b", "c"]


async def test_filter_screen_adds_a_typed_filter() -> None:
    """`F`, then `hide ^a$` and Enter adds the chip; the screen's list shows it."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("F")
        assert isinstance(app.screen, FilterScreen)
        await pilot.press(*"hide ^a$", "enter")
        await pilot.pause()
        assert chip_texts(app) == ["hide ^a$"]
        assert app.screen.query_one("#filter-chips", OptionList).option_count == 1
        await pilot.press("escape")
        assert child_names(app) == ["d", "b", "c"]


async def test_filter_screen_mine_keeps_only_matching_frames() -> None:
    """`mine ^(main|b)$`: the other frames go, their time to the nearest kept caller."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("F", *"mine ^(main|b)$", "enter", "escape")
        await pilot.pause()
        assert root_names(app) == ["main"]
        assert child_names(app) == ["b"]


async def test_filter_screen_bad_regex_shows_an_error_and_applies_nothing() -> None:
    """A regex that does not compile: an error line, no chip, the typed text kept."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("F", *"focus (", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FilterScreen)
        assert screen.error is not None and "regular expression" in screen.error
        assert "regular expression" in str(screen.query_one("#filter-error", Static).render())
        assert screen.query_one(Input).value == "focus ("
        assert chip_texts(app) == []


async def test_filter_screen_removes_the_highlighted_chip_with_delete_and_enter() -> None:
    """In the chip list, Delete removes the highlighted chip, Enter too."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "d", "j", "l", "f", "F")
        assert chip_texts(app) == ["hide a", "focus b"]
        await pilot.press("shift+tab")  # from the prompt back to the list
        screen = app.screen
        assert isinstance(screen, FilterScreen)
        assert screen.focused is screen.chip_list
        await pilot.press("delete")
        await pilot.pause()
        assert chip_texts(app) == ["focus b"]
        await pilot.press("enter")
        await pilot.pause()
        assert chip_texts(app) == []
        assert screen.chip_list.option_count == 0


async def test_a_big_profile_is_filtered_on_a_worker() -> None:
    """Above `sync_view_stacks` the view is derived on a worker; the panes follow when it is ready."""
    app = BpfscopeApp(small_group())
    app.sync_view_stacks = 0
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "f")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.session.pending
        assert root_names(app) == ["a"]
        assert "applying" not in header_lines(app)[0]


async def test_filters_survive_live_rebuilds() -> None:
    """Live: a hide chip stays applied as new samples arrive and the panes are rebuilt."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 10)
        c.feed(COLD, 5)
        tick(app, clock)
        await pilot.press("j", "d")  # hide `work`
        assert chip_texts(app) == ["hide work"]
        c.feed(HOT, 20)
        tick(app, clock)
        await pilot.pause()
        assert chip_texts(app) == ["hide work"]
        assert child_names(app) == ["hot", "idle_loop"]
        model = app.left_heavy.model
        assert model is not None and model.total == 35


def test_filters_survive_a_live_invalidate() -> None:
    """`invalidate` (every live rebuild) drops the derived trees, never the chips."""
    session = Session(small_group())
    session.add_chip(parse_filter("focus ^a$"))
    session.invalidate()
    assert [c.text for c in session.view.chips] == ["focus ^a$"]
    assert session.profile.total_weight() == 40


@pytest.mark.parametrize(("text", "message"), [
    ("", "type a filter"),
    ("keep x", "unknown filter"),
    ("hide", "needs a regular expression"),
])
def test_parse_filter_errors_are_one_sentence(text: str, message: str) -> None:
    """What the prompt says for empty, unknown or incomplete input."""
    with pytest.raises(ValueError, match=message):
        parse_filter(text)


def test_parse_filter_bad_regex_is_a_transform_error() -> None:
    """A regex that does not compile fails in parsing, before anything is applied."""
    with pytest.raises(TransformError):
        parse_filter("focus [a")


def test_module_chip_uses_the_file_else_the_name_prefix() -> None:
    """`m`: the frame's file when known; else `pkg.mod` of `pkg.mod.func`; else nothing."""
    assert module_chip(Frame("f", "lib/x.py")) == Chip("collapse", r"re:^lib/x\.py$", "lib/x.py")
    chip = module_chip(Frame("pkg01.mod02.func_0001"))
    assert chip is not None and chip.label == "pkg01.mod02"
    assert module_chip(Frame("main")) is None
