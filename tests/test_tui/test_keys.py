"""The global keys come from one declaration each (`tui.keys.GLOBAL_KEYS`): every declared key is
bound, runs an action the app has, is offered in the palette and listed in the help with the same
key text, and is refused exactly in the states its predicate says; a new declaration shows up in
all of them with nothing else written."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from textual.app import App
from textual.binding import Binding, BindingType

from tests.test_tui.fake_collector import FakeStarter
from tests.test_tui.profiles import small_group, threaded_group
from tests.test_tui.test_live import Clock, live_app, started, tick
from tui.app import BpfscopeApp
from tui.app_help import help_sections
from tui.keys import GLOBAL_KEYS, GlobalKey, key_bindings
from tui.live import LiveOptions
from tui.screens.help import HelpScreen
from tui.screens.process_picker import ProcessInfo, ProcessPicker

SIZE = (160, 30)


def everywhere_rows(keys: tuple[GlobalKey, ...]) -> dict[str, str]:
    """The help's "Everywhere" table as {key text: what it does}."""
    title, rows = help_sections(keys)[0]
    assert title == "Everywhere"
    return dict(rows)


def palette(app: App[Any]) -> dict[str, str]:
    """The palette's system commands as {title: text}."""
    return {c.title: c.help for c in app.get_system_commands(app.screen)}


def test_every_declared_key_is_bound_as_declared() -> None:
    """Each declaration is one of the app's bindings, in the declared order, with its key, action,
    footer label, help text and footer visibility; nothing else is bound at app level."""
    bound = [b for b in BpfscopeApp.BINDINGS if isinstance(b, Binding)]
    assert [(b.key, b.action, b.description, b.tooltip, b.show) for b in bound] == [
        (k.key, k.action, k.description, k.help_text, k.footer) for k in GLOBAL_KEYS
    ]
    merged = BpfscopeApp._merged_bindings
    assert merged is not None
    for k in GLOBAL_KEYS:
        for key in k.key.split(","):
            assert any(b.action == k.action for b in merged.key_to_bindings[key]), (key, k.action)


def test_every_declared_key_has_an_action_method() -> None:
    """The action a declaration names exists on the app (a typo would make the key do nothing)."""
    for k in GLOBAL_KEYS:
        assert callable(getattr(BpfscopeApp, f"action_{k.method}", None)), k.action


def test_one_action_has_one_predicate() -> None:
    """Textual asks `check_action` by the action's name only: the keys sharing a name (`1`/`2`/`3`:
    `show_pane`) must share when they may act."""
    by_method: dict[str, object] = {}
    for k in GLOBAL_KEYS:
        assert by_method.setdefault(k.method, k.available) is k.available, k.method


async def test_palette_and_help_name_the_same_key() -> None:
    """Every key with a palette entry is offered in the real palette, its text ending with the key in
    parentheses; the help's table lists every key with its text, and the palette's key is the first of
    the help's keys for that action (`e` of `e / Ctrl+S`)."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        offered = palette(app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        help_rows = dict(app.screen.sections[0][1])
    first_of_key: dict[str, GlobalKey] = {}
    for k in GLOBAL_KEYS:
        first_of_key.setdefault(k.key_text, k)
        assert k.key_text in help_rows, k.key_text
        # space: Pause and Resume are one row, the first one's text
        assert help_rows[k.key_text] == first_of_key[k.key_text].help_text
        if k.palette is None:
            continue
        title, text = k.palette
        assert offered[title] == f"{text} ({k.palette_key})"
        assert k.key_text.split(" / ")[0] == k.palette_key
    assert {"Keys", "Export", "Choose a process"} <= offered.keys()


# --- refused where the predicate says ------------------------------------------------------------

REFUSED_OPENING_A_FILE = {"toggle_pause", "resume", "stop_sampling", "pick_process", "mark_baseline",
                          "toggle_comparison", "cycle_time_kind", "clear_range"}
"""Written from the README, not from the predicates: what a file opened on Left Heavy refuses."""


def refused(app: BpfscopeApp) -> set[str]:
    """The declared actions the app's `check_action` refuses now, each checked against its predicate."""
    out = set()
    for k in app.GLOBAL_KEYS:
        answer = app.check_action(k.method, ("x",) if "(" in k.action else ())
        assert answer is (k.available is None or k.available(app.key_state)), k.action
        if not answer:
            out.add(k.method)
    return out


async def test_a_file_refuses_the_sampling_keys() -> None:
    """Opening a file: the live keys, comparing, the time kind and clearing an unset range are refused;
    on Time Order `i` is too; with a range set, Esc clears it."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert refused(app) == REFUSED_OPENING_A_FILE
        await pilot.press("1")
        assert refused(app) == REFUSED_OPENING_A_FILE | {"flip_root"}
        app.session.set_range((0.0, 50.0))
        assert refused(app) == REFUSED_OPENING_A_FILE - {"clear_range"} | {"flip_root"}


async def test_sampling_pausing_and_stopping_change_what_is_refused() -> None:
    """Sampling: space pauses (not resume), x stops, b marks, o waits for x; paused: space resumes;
    with a mark, B compares, and comparing refuses `t`; stopped: the file keys come back."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    always_refused = {"cycle_time_kind", "clear_range"}  # live merged profile: wall time only, no range
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(("main", "work"), 10)
        tick(app, clock)
        assert refused(app) - always_refused == {"resume", "toggle_comparison", "open_file"}
        await pilot.press("space")
        assert refused(app) - always_refused == {"toggle_pause", "toggle_comparison", "open_file"}
        await pilot.press("space", "b", "B")
        await pilot.pause()
        assert app.comparing
        assert refused(app) - always_refused == {"resume", "pick_thread", "open_file"}
        await pilot.press("B", "x")
        await pilot.pause()
        assert refused(app) - always_refused == {"toggle_pause", "resume", "stop_sampling"}


async def test_the_picker_refuses_the_pane_keys_and_search() -> None:
    """Over the process picker, `1`/`2`/`3` and `/` are refused (its own `/` filters the list)."""
    options = LiveOptions(FakeStarter(), None, None, handle_signals=False, clock=Clock())
    app = BpfscopeApp(live=options, process_lister=lambda: [ProcessInfo(99, "root", "busy", "busy", 1.0, 1, 1)])
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ProcessPicker)
        assert {"show_pane", "search"} <= refused(app)
        await pilot.press("escape")
        await pilot.pause()


async def test_a_refused_key_does_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The predicate is what Textual consults: a refused key's action is not run, an allowed one is."""
    ran: list[str] = []
    monkeypatch.setattr(BpfscopeApp, "action_stop_sampling", lambda self: ran.append("x"))
    monkeypatch.setattr(BpfscopeApp, "action_flip_root", lambda self: ran.append("i"))
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x", "i", "1", "i")
        await pilot.pause()
    assert ran == ["i"]  # x: not sampling; the second i: not on Left Heavy


# --- one declaration is enough --------------------------------------------------------------------

FAKE = GlobalKey("z", "fake", "Fake", "a key declared by the test",
                 ("Fake command", "Does what the test declares"),
                 lambda s: s.active_pane == "sandwich", footer=True)


class WithFakeKey(BpfscopeApp):
    """The app with one more declaration: the only lines that name it are these."""

    GLOBAL_KEYS: ClassVar[tuple[GlobalKey, ...]] = (*GLOBAL_KEYS, FAKE)
    BINDINGS: ClassVar[list[BindingType]] = [*key_bindings(GLOBAL_KEYS)]
    pressed = 0

    def action_fake(self) -> None:
        self.pressed += 1


def footer_text(app: App[Any]) -> str:
    from tests.test_tui.screen_text import screen_lines

    return screen_lines(app)[-1]


async def test_a_new_declaration_appears_everywhere() -> None:
    """A fake declaration is bound (its key runs its action), refused where its predicate says (and
    then left out of the footer), offered in the palette and listed in the help."""
    app = WithFakeKey(threaded_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.check_action("fake", ()) is False
        assert " Fake " not in footer_text(app)
        await pilot.press("z")
        assert app.pressed == 0
        await pilot.press("3")
        await pilot.pause()
        assert app.check_action("fake", ()) is True
        assert "z Fake" in footer_text(app)
        await pilot.press("z")
        assert app.pressed == 1
        assert palette(app)["Fake command"] == "Does what the test declares (z)"
        assert everywhere_rows(app.GLOBAL_KEYS)["z"] == "a key declared by the test"
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert ("z", "a key declared by the test") in app.screen.sections[0][1]
