"""The process picker, with a fake process listing and the fake collector: listing, sorting,
filtering, in-place updates, hostile names, and Enter starting a profile."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from collectors.live.base import Target
from tests.test_tui.fake_collector import FakeStarter
from tui.app import BpfscopeApp
from tui.live import LiveOptions
from tui.screens.process_picker import ProcessInfo, ProcessPicker, list_processes

SIZE = (120, 30)


def proc(pid: int, name: str, cpu: float, cmdline: str = "", rss: int = 1 << 20, threads: int = 1,
         user: str = "root") -> ProcessInfo:
    return ProcessInfo(pid, user, name, cmdline or f"/usr/bin/{name}", cpu, rss, threads)


PROCESSES = [
    proc(10, "sshd", 0.0, "sshd: /usr/sbin/sshd -D"),
    proc(200, "postgres", 35.0, "postgres: writer", rss=300 << 20, threads=4),
    proc(3021, "python3", 80.5, "python3 /srv/app/server.py --port 8080", threads=12),
    proc(45, "cron", 0.5),
]


class Listing:
    """A process lister whose answer the test changes."""

    def __init__(self, rows: Sequence[ProcessInfo]) -> None:
        self.rows = list(rows)

    def __call__(self) -> list[ProcessInfo]:
        return list(self.rows)


def picker_app(listing: Listing, starter: FakeStarter | None = None) -> BpfscopeApp:
    return BpfscopeApp(live=LiveOptions(starter or FakeStarter(), None, handle_signals=False),
                       process_lister=listing)


async def ready(app: BpfscopeApp) -> ProcessPicker:
    await app.workers.wait_for_complete()
    screen = app.screen
    assert isinstance(screen, ProcessPicker)
    return screen


def cell(picker: ProcessPicker, pid: int, column: str) -> str:
    return picker.table.get_cell(str(pid), column).plain.lstrip(" ")  # text columns lead with a space


async def test_no_argument_opens_the_picker_sorted_by_cpu() -> None:
    """Without a target the picker opens: all processes on top, then the busiest first, cursor on it."""
    app = picker_app(Listing(PROCESSES))
    async with app.run_test(size=SIZE) as pilot:
        picker = await ready(app)
        await pilot.pause()
        assert picker.shown_pids == [3021, 200, 45, 10]
        assert picker.table.get_row_at(0)[5].plain.strip() == "all processes"
        assert picker.highlighted == Target.for_pid(3021)
        assert cell(picker, 200, "rss") == "300.0M" and cell(picker, 3021, "threads") == "12"


async def test_typing_filters_on_name_pid_and_command_line() -> None:
    """After `/`, typed text keeps processes whose name or command line contains it, or whose PID
    starts with it; Esc goes back to the list (keys are commands again), Esc again clears it."""
    app = picker_app(Listing(PROCESSES))
    async with app.run_test(size=SIZE) as pilot:
        picker = await ready(app)
        await pilot.press("slash", *"post")
        assert picker.shown_pids == [200]
        await pilot.press("escape", "escape")
        await pilot.press("slash", *"30")
        assert picker.shown_pids == [3021]
        await pilot.press("escape", "escape")
        await pilot.press("slash", *"8080")
        assert picker.shown_pids == [3021]
        await pilot.press("escape")
        assert picker.filter_text == "8080" and picker.table.has_focus
        await pilot.press("escape")
        assert picker.filter_text == "" and len(picker.shown_pids) == 4


async def test_enter_starts_profiling_the_highlighted_process() -> None:
    """Enter on a process starts the collector on it; the picker closes and the panes sample it."""
    starter = FakeStarter()
    app = picker_app(Listing(PROCESSES), starter)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app)
        await pilot.press("slash", *"cron", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert starter.last.target == Target.for_pid(45)
        assert app.live is not None and not isinstance(app.screen, ProcessPicker)


async def test_esc_leaves_the_picker_for_the_profile_once_there_is_one() -> None:
    """With nothing sampled yet Esc stays in the picker (there is nothing behind it); once a run
    has started, `p` opens the picker again and Esc goes back to the panes."""
    app = picker_app(Listing(PROCESSES))
    async with app.run_test(size=SIZE) as pilot:
        picker = await ready(app)
        picker.table.focus()
        await pilot.press("escape")
        assert app.screen is picker, "no profile behind it"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.live is not None and not isinstance(app.screen, ProcessPicker)
        await pilot.press("p")
        picker = await ready(app)
        picker.table.focus()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ProcessPicker) and app.live is not None


async def test_the_top_entry_profiles_all_processes() -> None:
    """The first row samples every process."""
    starter = FakeStarter()
    app = picker_app(Listing(PROCESSES), starter)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app)
        await pilot.press("up", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert starter.last.target == Target.all_processes()


async def test_sort_keys_change_the_order() -> None:
    """`>` moves the sort to the next column (memory), `<` back to CPU."""
    app = picker_app(Listing(PROCESSES))
    async with app.run_test(size=SIZE) as pilot:
        picker = await ready(app)
        await pilot.press("greater_than_sign")
        assert picker.sort_by == "rss" and picker.shown_pids[0] == 200
        await pilot.press("greater_than_sign")
        assert picker.sort_by == "threads" and picker.shown_pids[0] == 3021
        await pilot.press("less_than_sign", "less_than_sign")
        assert picker.sort_by == "cpu" and picker.shown_pids == [3021, 200, 45, 10]


async def test_refresh_updates_rows_in_place_and_keeps_the_cursor() -> None:
    """A new listing changes cells, drops exited processes, adds new ones, re-sorts, and the
    cursor stays on the row the user put it on (Enter then samples what is shown there)."""
    listing = Listing(PROCESSES)
    app = picker_app(listing)
    async with app.run_test(size=SIZE) as pilot:
        picker = await ready(app)
        await pilot.press("down")
        assert picker.highlighted == Target.for_pid(200)
        listing.rows = [proc(200, "postgres", 90.0, "postgres: writer"), proc(3021, "python3", 1.0),
                        proc(777, "make", 50.0)]
        picker.refresh_processes()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert picker.shown_pids == [200, 777, 3021]
        assert cell(picker, 200, "cpu") == "90.0"
        assert picker.table.cursor_row == 2 and picker.highlighted == Target.for_pid(777)


async def test_hostile_process_names_are_shown_as_text() -> None:
    """Markup and escape sequences in a name or command line are shown escaped, never interpreted."""
    from collectors.safe_text import printable

    evil = proc(66, printable("[bold red]x\x1b]0;pwned\x07"), 99.0, printable("sh -c '\x1b[2J[link=x]y'"))
    app = picker_app(Listing([evil]))
    async with app.run_test(size=SIZE) as pilot:
        picker = await ready(app)
        await pilot.pause()
        assert "[bold red]x" in cell(picker, 66, "name")
        lines = "".join(picker.table.render_line(y).text for y in range(4))
        assert "[bold red]x" in lines and "[link=x]y" in lines and "\x1b" not in lines and "\x07" not in lines


async def test_list_processes_cleans_a_real_hostile_process() -> None:
    """A real process renames itself (comm) and has a command line full of escape sequences and markup:
    `list_processes` itself (not the test) turns them into visible text, and the picker shows that text."""
    comm = "[b]x\x1b]0;p\x07"
    code = ("import ctypes, sys, time; ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0); "
            "print('ready', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code, comm, "\x1b[2J[link=x]y\u202e"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        (row,) = [p for p in list_processes() if p.pid == child.pid]
        assert row.name == "[b]x\\x1b]0;p\\x07"
        assert row.cmdline.endswith(" [b]x\\x1b]0;p\\x07 \\x1b[2J[link=x]y\\u202e")
        app = picker_app(Listing([row]))
        async with app.run_test(size=SIZE) as pilot:
            picker = await ready(app)
            await pilot.pause()
            assert cell(picker, child.pid, "name") == "[b]x\\x1b]0;p\\x07"
            lines = "".join(picker.table.render_line(y).text for y in range(4))
            # the 14-cell NAME column cuts the name, but its escaped ESC shows as text, never raw
            assert "[b]x\\x1b]" in lines and "\x1b" not in lines and "\x07" not in lines
    finally:
        child.kill()
        child.wait()


def test_list_processes_sees_a_child_and_not_itself() -> None:
    """The real listing has a child we started, with its command line, and leaves bpfscope out."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "marker-arg"])
    try:
        rows = {p.pid: p for p in list_processes()}
        assert child.pid in rows and "marker-arg" in rows[child.pid].cmdline
        assert rows[child.pid].threads >= 1 and rows[child.pid].rss > 0
        assert os.getpid() not in rows
    finally:
        child.kill()
        child.wait()
