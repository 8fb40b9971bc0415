"""One end-to-end run in a real terminal: `bpfscope` on the example profile inside tmux at 80x24,
driven by keys, read back with `capture-pane`, until `q` ends the process.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib.resources import as_file, files
from pathlib import Path

import pytest

from collectors.formats.detect import load_profile
from tests.tmux import Tmux

TIMEOUT = 20.0
ROWS = 24
BPFSCOPE = Path(sys.executable).parent / "bpfscope"


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux("e2e", TIMEOUT)
    try:
        yield server
    finally:
        server.kill()


def lines(screen: str) -> list[str]:
    return screen.splitlines()


def header(screen: str) -> str:
    return lines(screen)[0]


def details(screen: str) -> str:
    """The details line's first row, the selected frame's name: row 22 of 24 (above its weights and the footer)."""
    rows = lines(screen) + [""] * ROWS
    return rows[ROWS - 3]


def test_keys_in_a_real_terminal(tmux: Tmux) -> None:
    """Pane keys, navigation, zoom and search work in tmux at 80x24, and `q` exits with status 0."""
    with as_file(files("tui") / "examples" / "webapp.folded") as example:
        group = load_profile(str(example))
        expected_matches = sum("search" in f.name.lower() for f in group.frames)
        command = f"{BPFSCOPE} {example}; echo bpfscope-exited-$?; sleep 60"
        tmux.run("new-session", "-d", "-s", "e2e", "-x", "80", "-y", str(ROWS), "-e", "TERM=xterm-256color", command)

        # The first frames may be painted before the pane is chosen: wait for the settled header.
        tmux.wait_for(lambda s: "webapp.folded" in header(s) and "Left Heavy" in header(s), "the Left Heavy header")
        tmux.wait_for(lambda s: details(s).startswith("main"), "the root selected")

        tmux.keys("1")
        tmux.wait_for(lambda s: "Time Order" in header(s), "Time Order in the header")
        tmux.keys("2")
        tmux.wait_for(lambda s: "Left Heavy" in header(s), "Left Heavy in the header")

        tmux.keys("j")
        tmux.wait_for(lambda s: details(s).startswith("server.serve_forever"), "child selected")
        tmux.keys("Enter")
        screen = tmux.wait_for(lambda s: "main › server.serve_forever" in lines(s)[1], "zoom breadcrumb")
        assert details(screen).startswith("server.serve_forever")
        # Escape zooms out (a lone ESC, delivered after bpfscope's short wait: tui/escape_delay.py),
        # and an arrow's escape sequence still arrives whole: Up selects the parent.
        tmux.keys("Escape")
        tmux.wait_for(lambda s: "›" not in lines(s)[1], "the zoom breadcrumb gone after Escape")
        tmux.keys("Up")
        tmux.wait_for(lambda s: details(s).startswith("main"), "Up selecting the parent")
        tmux.keys("Down")
        tmux.wait_for(lambda s: details(s).startswith("server.serve_forever"), "Down selecting the child")

        tmux.keys("3")
        tmux.wait_for(lambda s: "Sandwich" in header(s), "Sandwich in the header")
        tmux.keys("1")
        tmux.wait_for(lambda s: "Time Order" in header(s), "Time Order in the header")

        tmux.keys("/")
        # As a person would: type once the prompt shows (keys sent in the same burst as `/`
        # still reach the pane, since focus moves to the prompt a moment later).
        tmux.wait_for(lambda s: "Regex" in lines(s)[-1], "the search prompt's keys in the footer")
        tmux.keys("search", literal=True)
        tmux.keys("Enter")
        # The count is what `n` steps through in Time Order (every frame), the functions after it.
        tmux.wait_for(lambda s: f"matches ({expected_matches} functions)" in s,
                      f"'N matches ({expected_matches} functions)'")

        tmux.keys("q")
        tmux.wait_for(lambda s: "bpfscope-exited-0" in s, "exit status 0 after q")
