"""`MessageLine`: what the app has to say (`wrote …`, `recursion flattened`, errors, live
hints), in one or two rows above the status lines instead of a notification box that
would cover the panes. A message stays for its timeout (errors and hints longer), until
the next one replaces it, or until clicked.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import events
from textual.timer import Timer
from textual.widgets import Static

from collectors.safe_text import printable

SEVERITY_PREFIX = {"information": "", "warning": "! ", "error": "error: "}
"""Under NO_COLOR the severity still reads: a prefix, not only a colour."""


ROWS = 2


def message_rows(text: str, width: int, rows: int = ROWS) -> list[str]:
    """`text` broken every `width` cells (a path is cut where the row ends, not moved to the
    next row whole), at most `rows` rows, the last ending in `…` when there is more."""
    out: list[str] = []
    row: list[str] = []
    used = 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width and row:
            out.append("".join(row))
            row = []
            used = 0
        row.append(ch)
        used += w
    if row:
        out.append("".join(row))
    if len(out) > rows:
        out = out[:rows]
        out[-1] = set_cell_size(out[-1], max(1, width - 1)) + "…"
    return out


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

    def on_mount(self) -> None:
        """Show what the app said while this line's screen was being composed."""
        pending = getattr(self.app, "pending_message", None)
        if pending is not None:
            self.app.pending_message = None  # type: ignore[attr-defined]
            self.show(*pending)

    def show(self, message: str, title: str = "", severity: str = "information", timeout: float = 5.0) -> None:
        """Show `message` (plain text, never markup) for `timeout` seconds."""
        self.text = message_text(message, title, severity)
        self.set_class(severity == "warning", "-warning")
        self.set_class(severity == "error", "-error")
        self.add_class("-shown")
        width = self.size.width or self.app.size.width or 80
        self.update(Text("\n".join(message_rows(self.text, width)), no_wrap=True, overflow="crop"))
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
