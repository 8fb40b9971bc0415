"""Frame names are data: markup, escape sequences and wide characters are shown, never obeyed."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from textual.coordinate import Coordinate

from tests.test_tui.profiles import hostile_group, small_group
from tests.test_tui.test_app_keys import capture_terminal_writes
from tui.app import BpfscopeApp
from tui.screens.export import default_path

SIZE = (80, 24)


async def test_rows_have_no_escape_characters_and_exact_width() -> None:
    """Every rendered row is exactly the pane's width in cells and carries no control characters."""
    app = BpfscopeApp(hostile_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "j")
        graph = app.left_heavy
        lines = [graph.render_line(y).text for y in range(graph.scrollable_content_region.height)]
        assert lines[0].startswith("[bold]x ")
        for line in lines:
            assert cell_len(line) == graph.layout_width
            assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in line)
        joined = "\n".join(lines)
        assert "\\x1b[31mred" in joined
        assert "函数" in joined


async def test_screen_shows_markup_literally() -> None:
    """The header, details and the sandwich table show `[bold]` as text, escapes as \\x1b."""
    app = BpfscopeApp(hostile_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        header = app.query_one("#header").render().plain  # type: ignore[union-attr]
        assert header.startswith("\\x1b]0;pwned\\x07evil.folded · ")
        details = app.query_one("#details").render().plain  # type: ignore[union-attr]
        assert details.startswith("[bold]x")
        await pilot.press("3")
        table = app.sandwich.table
        cells = [str(table.get_cell_at(Coordinate(r, 4))).strip() for r in range(table.row_count)]
        assert "[bold]x" in cells
        assert any(c.startswith("tab\\there\\u202e") for c in cells)  # escaped (and maybe cut with …)
        svg = app.export_screenshot()
        assert "\x1b" not in svg


async def test_search_for_markup_text_matches_literally() -> None:
    """Searching `[bold]` (substring, not regex) finds the frame named `[bold]x`."""
    app = BpfscopeApp(hostile_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"[bold]")
        assert app.match_count == 1


async def test_copy_keeps_the_raw_name() -> None:
    """c copies the real name (OSC 52 base64-encodes it, so escapes cannot leak)."""
    app = BpfscopeApp(hostile_group())
    async with app.run_test(size=SIZE) as pilot:
        written = capture_terminal_writes(app)
        await pilot.press("j", "c")
        assert app.clipboard == "\x1b[31mred\x1b[0m"
        osc = [w for w in written if w.startswith("\x1b]52;")]
        assert osc == ["\x1b]52;c;G1szMW1yZWQbWzBt\a"]  # the raw name in base64: no escape reaches the terminal


def test_default_export_name_is_safe() -> None:
    """The default export name drops directories and control characters."""
    assert default_path("\x1b]0;pwned\x07evil.folded", "speedscope") == "0_pwned_evil.speedscope.json"
    assert default_path("../../etc/passwd", "folded") == "passwd.folded"
    assert default_path("", "speedscope") == "profile.speedscope.json"


async def test_no_color_keeps_the_selection_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    """With NO_COLOR the app runs monochrome, and the selection is still reverse video."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.no_color
        segment = next(iter(app.left_heavy.render_line(0)))
        assert segment.style is not None and segment.style.reverse and segment.style.bold
