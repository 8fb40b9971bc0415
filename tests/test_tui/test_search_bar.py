"""The `/` prompt takes the keys typed right after `/`, even in the same burst of input."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input

from tests.test_tui.profiles import small_group
from tui.app import BpfscopeApp

SIZE = (80, 24)


@pytest.mark.parametrize(("keys", "text"), [
    pytest.param((("slash", "/"), ("d", "d"), ("b", "b")), "db", id="db"),
    pytest.param((("slash", "/"), ("j", "j"), ("1", "1")), "j1", id="pane-keys"),  # j moves, 1 switches pane
])
async def test_keys_in_the_same_burst_as_slash_go_to_the_prompt(
        keys: tuple[tuple[str, str], ...], text: str) -> None:
    """`/` then keys queued before the app runs again: all land in the Input, none in the pane."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = app.left_heavy.selected
        for key, char in keys:  # queued together, as a fast typist's bytes arrive from the terminal
            app.post_message(events.Key(key, char))
        await pilot.pause()
        assert app.search_bar.input.value == text
        assert app.focused is app.search_bar.input
        assert app.active_pane == "left-heavy" and app.left_heavy.selected is before


async def test_slash_is_typed_in_other_text_fields() -> None:
    """`/` in the export dialog's file name is a character, not the search key."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await pilot.pause()
        field = app.screen.query_one(Input)
        field.value = ""
        await pilot.press("slash", "t", "m", "p", "slash")
        assert field.value == "/tmp/"
        assert not app.search_bar.has_class("-open")


async def test_slash_in_the_prompt_is_part_of_the_pattern() -> None:
    """With the prompt open, `/` is typed into the pattern."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", "a", "slash", "b")
        assert app.search_bar.input.value == "a/b"


def test_match_labels_say_what_n_steps_through() -> None:
    """Frames when they are more than the functions; only functions when frames were not counted."""
    from tui.widgets.search_bar import match_label

    assert match_label(1, 1) == "1 match"
    assert match_label(2, 5) == "5 matches (2 functions)"
    assert match_label(3) == "3 matches"
    assert match_label(2, None, uncounted=True) == "2 functions"


def test_count_matches_gives_up_on_a_huge_tree() -> None:
    from collectors.calltree import left_heavy
    from tests.test_tui.profiles import small_group
    from tui.views import count_matches, grouped_model

    model = grouped_model(left_heavy(small_group().profiles[0]))
    assert count_matches(model, lambda f: True) == 5
    assert count_matches(model, lambda f: True, limit=3) is None
