"""Driving a real terminal: a tmux server of our own (`-L`), so tests never touch a user's sessions."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable

import pytest


class Tmux:
    """One tmux server and its session `session`, read back with `capture-pane`."""

    def __init__(self, session: str, timeout: float) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (the end-to-end tests need a real terminal; run `make setup`)")
        self.socket = f"bpfscope-{session}-{uuid.uuid4().hex[:8]}"
        self.session = session
        self.timeout = timeout

    def run(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True)
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", self.session, *(["-l"] if literal else []), *keys)

    def wait_for(self, ok: Callable[[str], bool], what: str, poll: float = 0.05) -> str:
        """The first screen `ok` accepts; the test fails (showing the screen) after the timeout."""
        deadline = time.monotonic() + self.timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if ok(screen):
                return screen
            time.sleep(poll)
        pytest.fail(f"no {what} within {self.timeout:.0f} s; the screen was:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
