"""Handing a worker's result to the UI thread, and starting a worker from a control."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App


def from_thread(app: App[Any], callback: Callable[..., object], *args: object) -> bool:
    """Run `callback` on the UI thread, from a worker; False when the app has exited."""
    try:
        app.call_from_thread(callback, *args)
    except RuntimeError:  # the app has exited
        return False
    return True


def start_worker(app: App[Any], work: Callable[[], object], group: str, *, exclusive: bool = True) -> None:
    """Run `work` on a worker thread of `app` (`exclusive`: the one running in `group` is cancelled)."""
    app.run_worker(work, thread=True, exclusive=exclusive, group=group)
