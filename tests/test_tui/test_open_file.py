"""`o` opens another profile file: bad files (missing, a directory, a FIFO, binary, and broken
captures from the fuzz corpus) give one error notification and the current profile stays; a
good file replaces the view."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from collectors.formats.detect import parse_profile
from collectors.formats.errors import ProfileError
from tests.fuzz_corpus import PROFILES, mutate
from tests.test_tui.palette_driver import run_palette_command
from tests.test_tui.profiles import small_group
from tui.app import BpfscopeApp
from tui.screens.open_file import OpenFileDialog

SIZE = (100, 30)


def broken_captures(count: int) -> list[tuple[str, bytes]]:
    """Mutated real captures (fuzz corpus) that bpfscope refuses to read, first found first."""
    found: list[tuple[str, bytes]] = []
    sources = [PROFILES / "speedscope" / "0.0.1" / "simple.speedscope.json", PROFILES / "stackcollapse" / "simple.txt"]
    for source in sources:
        data = source.read_bytes()
        for kind in ("truncate", "bitflip", "nul", "junk", "splice"):
            for seed in range(20):
                mutated = mutate(data, kind, seed)
                try:
                    parse_profile(mutated, source.name)
                except ProfileError:
                    found.append((f"{source.stem}-{kind}-{seed}", mutated))
                    break
            if len(found) >= count:
                return found
    return found


def bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {"missing": tmp_path / "no-such-file.json", "directory": tmp_path / "a-directory"}
    files["directory"].mkdir()
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)
    files["fifo"] = fifo
    binary = tmp_path / "random.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    files["binary"] = binary
    for label, data in broken_captures(4):
        path = tmp_path / label
        path.write_bytes(data)
        files[label] = path
    return files


async def open_path(app: BpfscopeApp, pilot: object, path: str, key: str = "o") -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await pilot.press(key)
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, OpenFileDialog)
    dialog.query_one("#open-path").value = path  # type: ignore[attr-defined]
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.pause()


class Recording(BpfscopeApp):
    """The app, keeping every error notification (shown ones expire, and a slow run outlives them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors: list[str] = []

    def notify(self, message: str, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("severity") == "error":
            self.errors.append(str(message))
        super().notify(message, *args, **kwargs)


def errors(app: BpfscopeApp) -> list[str]:
    assert isinstance(app, Recording)
    return app.errors


def test_the_corpus_gives_broken_captures() -> None:
    """The fuzz corpus yields at least four mutated captures that fail to read (the bad files below)."""
    assert len(broken_captures(4)) == 4


async def test_bad_files_leave_the_current_profile_and_the_app_usable(tmp_path: Path) -> None:
    """Each bad file gives exactly one one-line error naming it; the profile shown stays the same
    and keys still work after each."""
    group = small_group()
    app = Recording(group)
    files = bad_files(tmp_path)
    assert len(files) >= 8
    async with app.run_test(size=SIZE) as pilot:
        for label, path in files.items():
            before = len(errors(app))
            await open_path(app, pilot, str(path))
            new = errors(app)[before:]
            assert len(new) == 1, (label, new)
            assert "\n" not in new[0] and str(path) in new[0], (label, new[0])
            assert app.session.group is group, label
            assert not isinstance(app.screen, OpenFileDialog)
            await pilot.press("3")
            assert app.active_pane == "sandwich"
            await pilot.press("2")
            assert app.active_pane == "left-heavy" and app.left_heavy.model is not None


async def test_a_good_file_replaces_the_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A path typed into the prompt (`/` is a character there, not search) opens that profile in
    place of the one shown; its functions are in the Left Heavy pane."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    good = tmp_path / "d" / "good.folded"
    good.write_text("main;alpha 5\nmain;beta 2\n")
    app = Recording(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.pause()
        await pilot.press(*"d/good.folded", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert errors(app) == []
        assert app.session.group.name == "good.folded"
        model = app.left_heavy.model
        assert model is not None and model.total == 7
        names = {app.session.group.frames[f].name for f in range(len(app.session.group.frames))}
        assert {"main", "alpha", "beta"} <= names


async def test_ctrl_o_opens_the_dialog_in_sandwich() -> None:
    """In Sandwich `o` sorts; Ctrl+O opens the dialog there, and Esc closes it with nothing changed."""
    group = small_group()
    app = Recording(group)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, OpenFileDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, OpenFileDialog) and app.session.group is group


async def test_open_is_in_the_palette() -> None:
    """The command palette offers opening a file: choosing it there shows the open dialog."""
    app = Recording(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await run_palette_command(app, pilot, "Open a profile file")
        assert isinstance(app.screen, OpenFileDialog)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null"])
async def test_devices_are_refused_without_reading(path: str) -> None:
    """A device (which /dev/zero never ends) is refused at once, not read."""
    app = Recording(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await open_path(app, pilot, path)
        assert any("not a regular file" in e for e in errors(app))


async def test_after_live_sampling_stops_a_file_replaces_the_live_view(tmp_path: Path) -> None:
    """While sampling, `o` is disabled; once stopped (x), a file replaces the live view and the
    live status line goes away."""
    from tests.test_tui.fake_collector import FakeStarter
    from tests.test_tui.test_live import HOT, live_app, started
    from tui.widgets.live_status import LiveStatus

    good = tmp_path / "after-live.folded"
    good.write_text("main;gamma 4\n")
    app = live_app(FakeStarter())
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(HOT, 5)
        app.live_tick()
        assert app.check_action("open_file", ()) is False
        await pilot.press("x")
        assert app.check_action("open_file", ()) is True
        await open_path(app, pilot, str(good))
        assert app.live is None and app.session.group.name == "after-live.folded"
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 4
        assert not app.query_one(LiveStatus).has_class("-live")


async def test_a_file_opened_during_a_diff_ends_the_comparison(tmp_path: Path) -> None:
    """Opened over `bpfscope diff BASE NEW`, a file is shown on its own: comparing is off and
    `B` has no baseline to turn it back on with."""
    good = tmp_path / "plain.folded"
    good.write_text("main;delta 3\n")
    app = Recording(small_group(), baseline=small_group())
    async with app.run_test(size=SIZE) as pilot:
        assert app.comparing
        await open_path(app, pilot, str(good))
        assert not app.comparing and app.session.group.name == "plain.folded"
        assert app.check_action("toggle_comparison", ()) is False
