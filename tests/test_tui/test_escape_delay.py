"""A lone ESC is the Escape key after bpfscope's short wait, not Textual's 100 ms (tui/escape_delay.py).

The latency itself is a `make bench` figure (the tmux pass); these check the pieces: the wait
in force, the input loop's `select` timed to the parser's pending wait (which breaks if the
pinned Textual's parser changes), and the app running with that driver."""

from __future__ import annotations

import pytest
from textual import constants
from textual._xterm_parser import XTermParser
from textual.drivers.headless_driver import HeadlessDriver
from textual.drivers.linux_driver import LinuxDriver

from tests.test_tui.profiles import small_group
from tui.app import BpfscopeApp
from tui.escape_delay import (
    ESCAPE_DELAY_MS,
    IDLE_SELECT,
    QuickEscapeDriver,
    apply_escape_delay,
    driver_for,
    select_timeout,
)


@pytest.fixture
def restore_delay() -> object:
    before = constants.ESCAPE_DELAY
    yield
    constants.ESCAPE_DELAY = before  # type: ignore[misc]


@pytest.mark.usefixtures("restore_delay")
def test_the_wait_is_short_unless_escdelay_is_set() -> None:
    constants.ESCAPE_DELAY = 0.1  # type: ignore[misc]
    assert apply_escape_delay({"ESCDELAY": "300"}) == 0.1  # the user's (Textual read it at import)
    assert apply_escape_delay({}) == ESCAPE_DELAY_MS / 1000


@pytest.mark.usefixtures("restore_delay")
def test_select_waits_only_until_a_lone_escape_is_due() -> None:
    constants.ESCAPE_DELAY = 0.025  # type: ignore[misc]
    parser = XTermParser()
    assert select_timeout(parser, 0.0) == IDLE_SELECT
    assert list(parser.feed("j")) and select_timeout(parser, 0.0) == IDLE_SELECT
    assert list(parser.feed("\x1b")) == []  # an ESC alone: a key or the start of a sequence?
    deadline = parser._timeout_time
    assert deadline is not None
    assert select_timeout(parser, deadline - 0.025) == pytest.approx(0.025)
    assert select_timeout(parser, deadline + 1.0) == 0.0
    events = list(parser.feed("[A"))  # the rest of an arrow's sequence came: no wait pending
    assert [getattr(e, "key", None) for e in events] == ["up"]
    assert select_timeout(parser, 0.0) == IDLE_SELECT


def test_the_app_runs_with_the_quick_escape_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    assert driver_for(LinuxDriver) is QuickEscapeDriver
    assert driver_for(HeadlessDriver) is HeadlessDriver
    assert issubclass(QuickEscapeDriver, LinuxDriver)
    assert BpfscopeApp(small_group()).get_driver_class() is QuickEscapeDriver
