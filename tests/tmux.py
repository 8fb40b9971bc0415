"""Driving a real terminal: a tmux server of our own (`-L`), so tests never touch a user's sessions."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

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


@contextmanager
def root_tmux(session: str, timeout: float, needs: str) -> Iterator[Tmux]:
    """A tmux server for a live test (`needs`: what needs root, for the failure message),
    killed afterwards; not being root fails the test, since CI runs as root."""
    if os.geteuid() != 0:
        pytest.fail(f"{needs} needs root (bcc); CI runs as root")
    server = Tmux(session, timeout)
    try:
        yield server
    finally:
        server.kill()


@contextmanager
def short_directory(prefix: str) -> Iterator[Path]:
    """A temporary directory with a short path (a command in it leaves the status line room
    for the counts), removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
