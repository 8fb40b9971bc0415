"""`LiveStatus`: one line saying what live sampling is doing (hidden for profile files)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class LiveStatus(Static):
    """Collector, target, rate, `N samples`, lost, elapsed, `[unknown]` share and state."""

    DEFAULT_CSS = """
    LiveStatus { height: 1; background: $boost; color: $text; display: none; }
    LiveStatus.-live { display: block; }
    LiveStatus.-paused { color: $warning; text-style: bold; }
    LiveStatus.-ended { color: $text-muted; }
    """

    text = ""

    def show(self, text: str, paused: bool = False, ended: bool = False) -> None:
        """Show `text` (already made printable) as plain text, never as markup."""
        self.text = text
        self.add_class("-live")
        self.set_class(paused and not ended, "-paused")
        self.set_class(ended, "-ended")
        self.update(Text(text, no_wrap=True, overflow="ellipsis"), layout=False)
