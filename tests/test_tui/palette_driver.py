"""Driving the real command palette (Ctrl+P) from a Pilot test."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.command import CommandPalette
from textual.pilot import Pilot


async def run_palette_command(app: App[Any], pilot: Pilot[Any], title: str) -> None:
    """Open the palette, type `title`, wait for its hit and press Enter on it."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*title)
    for _ in range(50):  # the palette searches in a worker: wait for the hit, not for a time
        await pilot.pause()
        if app.screen.query("CommandList Option"):
            break
    await pilot.press("enter")
    await pilot.pause()
    assert not isinstance(app.screen, CommandPalette)
