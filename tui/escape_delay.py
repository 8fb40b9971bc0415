"""How soon a lone Escape byte counts as the Escape key.

A terminal sends Escape as the byte ESC, and arrows, function keys and Alt combinations as
ESC followed by more bytes; Textual tells them apart by waiting `ESCAPE_DELAY` after an ESC
for more (100 ms unless `ESCDELAY` says otherwise, as in curses). Its Linux driver notices
that the wait is over only when its `select` on the terminal returns, which with nothing
more to read is after 0.1 s. Escape is bpfscope's "zoom out / back" key, and through tmux it
took 106-111 ms (p95) where every other key took 10-29 ms (`make bench`, 100k-stack profile).

Here: the wait is `ESCAPE_DELAY_MS` unless the user set `ESCDELAY` (milliseconds), and
`QuickEscapeDriver` (Textual's Linux driver with the input loop's `select` timed to the
parser's pending wait) delivers the key when the wait ends. The bytes of one key's sequence
are written at once by the terminal and travel together (in one SSH packet too), so a short
wait still keeps sequences whole; `ESCDELAY` is there for a link that splits them.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder
from collections.abc import Mapping

from textual import constants
from textual._loop import loop_last
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

ESCAPE_DELAY_MS = 25
"""bpfscope's wait after a lone ESC, in milliseconds, when `ESCDELAY` is not set (neovim's
`ttimeoutlen` is 50, tmux's `escape-time` 10 by default since 3.5)."""
IDLE_SELECT = 0.1
"""The input loop's `select` timeout when no wait is pending (Textual's own)."""


def apply_escape_delay(environ: Mapping[str, str] = os.environ) -> float:
    """Set Textual's wait after a lone ESC to bpfscope's unless `ESCDELAY` is set; the
    wait in force, in seconds."""
    if "ESCDELAY" not in environ:
        constants.ESCAPE_DELAY = ESCAPE_DELAY_MS / 1000.0  # type: ignore[misc]
    return float(constants.ESCAPE_DELAY)


def select_timeout(parser: XTermParser, now: float) -> float:
    """How long the input loop may block: until the parser's pending wait ends, if one is
    (a lone ESC), else `IDLE_SELECT`."""
    deadline = getattr(parser, "_timeout_time", None)
    if deadline is None:
        return IDLE_SELECT
    return min(IDLE_SELECT, max(0.0, float(deadline) - now))


class QuickEscapeDriver(LinuxDriver):
    """Textual's Linux driver (textual is pinned: this is its `run_input_thread`), with the
    `select` timed by `select_timeout` so that a lone ESC is delivered when its wait ends."""

    def run_input_thread(self) -> None:
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick
        decode = getincrementaldecoder("utf-8")().decode

        def process(events: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for last, (_key, mask) in loop_last(events):
                if mask & selectors.EVENT_READ:
                    data = decode(os.read(fileno, 1024 * 4), final=final and last)
                    if not data:
                        break
                    for event in feed(data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(select_timeout(parser, get_time())))
            selector.unregister(self.fileno)
            process(selector.select(IDLE_SELECT), final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):  # as Textual's loop: input may end mid-sequence
                pass


def driver_for(base: type[Driver]) -> type[Driver]:
    """The driver bpfscope runs with in place of Textual's choice `base`."""
    return QuickEscapeDriver if base is LinuxDriver else base
