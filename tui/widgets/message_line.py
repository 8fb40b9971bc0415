"""`MessageLine`: what the app has to say (`wrote …`, `recursion flattened`, errors, live
hints), in one or two rows above the status lines instead of a notification box that
would cover the panes. A message stays for its timeout (errors and hints longer), until
the next one replaces it, or until clicked.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.timer import Timer
from textual.widgets import Static

from collectors.safe_text import printable

SEVERITY_PREFIX = {"information": "", "warning": "! ", "error": "error: "}
"""Under NO_COLOR the severity still reads: a prefix, not only a colour."""


def message_text(message: str, title: str = "", severity: str = "information") -> str:
    """One message as the line shows it: prefix, title, text, all on one logical line."""
    body = " ".join(printable(part) for part in message.splitlines() if part.strip())
    if title and title != "bpfscope":
        body = f"{printable(title)}: {body}"
    return SEVERITY_PREFIX.get(severity, "") + body


class MessageLine(Static):
    """The latest message; hidden when there is none."""

    DEFAULT_CSS = """
    MessageLine { height: auto; max-height: 2; background: $boost; color: $text; display: none; }
    MessageLine.-shown { display: block; }
    MessageLine.-warning { color: $warning; }
    MessageLine.-error { color: $error; text-style: bold; }
    """

    text = ""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._timer: Timer | None = None

    def show(self, message: str, title: str = "", severity: str = "information", timeout: float = 5.0) -> None:
        """Show `message` (plain text, never markup) for `timeout` seconds."""
        self.text = message_text(message, title, severity)
        self.set_class(severity == "warning", "-warning")
        self.set_class(severity == "error", "-error")
        self.add_class("-shown")
        self.update(Text(self.text, overflow="ellipsis"))
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(max(0.5, timeout), self.dismiss) if timeout > 0 else None

    def dismiss(self) -> None:
        """Hide the message (its timeout, a click)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.text = ""
        self.remove_class("-shown")
        self.update("")

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.dismiss()
