"""The terminal's rows as text, as a person reads them (Pilot tests at a fixed size)."""

from __future__ import annotations

from textual.app import App


def screen_lines(app: App[object]) -> list[str]:
    """Every row of the screen in view, rendered (notifications and docked lines included)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_text(app: App[object]) -> str:
    return "\n".join(screen_lines(app))
