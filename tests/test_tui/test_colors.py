"""Frame colours as terminals show them: 256 colours, 16 colours and `NO_COLOR`.

Textual picks the colour system from TERM/COLORTERM (Rich's detection, unless
TEXTUAL_COLOR_SYSTEM says otherwise) and, with NO_COLOR, turns every colour to grey. These
tests render a flame row in an app started under each environment and check what the
terminal would get: readable labels, kernel frames apart from user frames, and a selection
and search matches that show without any colour.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from rich.color import ColorSystem
from rich.console import Console
from rich.segment import Segment, Segments
from textual.color import Color as TextualColor
from textual.filter import Monochrome
from textual.strip import Strip

from collectors.profile import ProfileGroup, Unit
from tests.test_tui.profiles import add
from tests.test_tui.test_flame_graph import GraphApp
from tui.palette import KERNEL_ANSI, USER_ANSI, contrast, frame_colors, shown_rgb
from tui.widgets.flame_graph import FlameGraph

SIZE = (41, 6)
ENVIRONMENTS = {
    "standard": {"TERM": "xterm", "COLORTERM": None, "NO_COLOR": None},
    "256": {"TERM": "xterm-256color", "COLORTERM": None, "NO_COLOR": None},
    "mono": {"TERM": "xterm-256color", "COLORTERM": None, "NO_COLOR": "1"},
}


def kernel_group() -> ProfileGroup:
    """main(100) → sys_read (kernel, 50), work (50)."""
    group = ProfileGroup("kernel.folded")
    group.new_profile("main", Unit.NONE)
    add(group, 0, ["main", "sys_read"], 50, kernel=["sys_read"])
    add(group, 0, ["main", "work"], 50)
    return group


@pytest.fixture(params=list(ENVIRONMENTS))
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The environment of a terminal with `mode` colours (the app reads it when created)."""
    name: str = request.param
    for key, value in ENVIRONMENTS[name].items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    yield name


def labels(strip: Strip) -> list[Segment]:
    return [seg for seg in strip if seg.text.strip()]


def as_terminal_shows(segments: list[Segment], mode: str) -> list[Segment]:
    """Under NO_COLOR, Textual's Monochrome filter turns colours to grey before output."""
    if mode == "mono":
        return Monochrome().apply(segments, TextualColor(0, 0, 0))
    return segments


def sgr_before(text: str, segments: list[Segment], system: str) -> set[str]:
    """The SGR parameters Rich emits for the segment starting with `text`."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system=system, width=80)  # type: ignore[arg-type]
    console.print(Segments(segments), end="")
    match = re.search(r"\x1b\[([\d;]*)m" + re.escape(text), out.getvalue())
    assert match is not None
    return set(match.group(1).split(";"))


async def test_app_sees_the_colour_system(mode: str) -> None:
    """The graph's colour mode follows the terminal's environment."""
    app = GraphApp(kernel_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.query_one(FlameGraph).color_mode == mode


async def test_labels_keep_contrast_after_downgrade(mode: str) -> None:
    """Every label's text and background, as the terminal shows them, contrast at least 4.5:1."""
    app = GraphApp(kernel_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        graph = app.query_one(FlameGraph)
        graph.select(None)
        segments = [seg for y in range(2) for seg in labels(graph.render_line(y))]
        assert [s.text.strip() for s in segments] == ["main", "sys_read", "work"]
        for seg in as_terminal_shows(segments, mode):
            assert seg.style is not None and seg.style.color is not None and seg.style.bgcolor is not None
            fg, bg = shown_rgb(seg.style.color, mode), shown_rgb(seg.style.bgcolor, mode)  # type: ignore[arg-type]
            assert contrast(fg, bg) >= 4.5, (seg.text, fg, bg)


async def test_selection_and_matches_show_without_colour(mode: str) -> None:
    """The selected frame is in reverse video and a match bold and underlined, in the bytes sent."""
    app = GraphApp(kernel_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        graph = app.query_one(FlameGraph)
        frames = app.group.frames
        work = next(i for i, f in enumerate(frames) if f.name == "work")
        graph.show(replace(graph.input, matches=frozenset({work})))
        system = "256" if mode == "mono" else mode
        row0 = as_terminal_shows(list(graph.render_line(0)), mode)
        assert "7" in sgr_before("main", row0, system)  # selected: reverse
        row1 = as_terminal_shows(list(graph.render_line(1)), mode)
        assert {"1", "4"} <= sgr_before("work", row1, system)  # match: bold, underline
        assert not {"4", "7"} & sgr_before("sys_read", row1, system)  # dimmed: neither


async def test_kernel_frames_are_italic(mode: str) -> None:
    """Kernel frames are italic in every colour mode; user frames are not."""
    app = GraphApp(kernel_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        by_text = {seg.text.strip(): seg for seg in labels(app.query_one(FlameGraph).render_line(1))}
        assert by_text["sys_read"].style is not None and by_text["sys_read"].style.italic
        assert by_text["work"].style is not None and not by_text["work"].style.italic


def test_sixteen_colours_keep_kernel_and_user_apart() -> None:
    """In 16 colours user frames get warm ANSI colours and kernel frames cool ones, never the same."""
    user = {frame_colors(f"user{i}", False, "standard")[1].downgrade(ColorSystem.STANDARD).number
            for i in range(200)}
    kernel = {frame_colors(f"k{i}", True, "standard")[1].downgrade(ColorSystem.STANDARD).number
              for i in range(200)}
    assert user == set(USER_ANSI)
    assert kernel == set(KERNEL_ANSI)
