"""The whole app at 80x24 as a person reads it: every test drives keys through Pilot and reads
the rendered rows of the screen (`screen_lines`), not only the widgets' state.

Rows at 80x24 for a file: 0-1 the header, then the panes, 21-22 the details line, 23 the
footer; a message takes the row(s) above the status lines, never a box over the panes.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.formats.detect import load_profile, parse_profile
from collectors.live.base import Target
from collectors.profile import ProfileGroup, Unit
from tests.test_tui.fake_collector import FakeStarter
from tests.test_tui.profiles import add, interleaved_group, same_names_group, small_group, threaded_group
from tests.test_tui.screen_text import screen_lines
from tests.test_tui.test_live import Clock, live_app, started, tick
from tests.tmux import short_directory
from tui import live as live_module
from tui.app import BpfscopeApp
from tui.live import LiveOptions, plain_failure
from tui.screens import process_picker
from tui.screens.help import HelpScreen
from tui.screens.process_picker import ProcessInfo, list_processes
from tui.session import Session
from tui.widgets.lists import KeyedScroll
from tui.widgets.message_line import MessageLine
from tui.widgets.status import DetailsLine

SIZE = (80, 24)
EXAMPLE = Path(__file__).resolve().parents[2] / "tui" / "examples" / "webapp.folded"


def header(app: BpfscopeApp) -> list[str]:
    return screen_lines(app)[:2]


def footer(app: BpfscopeApp) -> str:
    return screen_lines(app)[-1]


def details(app: BpfscopeApp) -> list[str]:
    """The details line's two rows, found on screen where the widget is."""
    region = app.query_one(DetailsLine).region
    return screen_lines(app)[region.y:region.y + 2]


def message_row(app: BpfscopeApp) -> str:
    """The message as the screen shows it (its rows are cut every 80 cells: joined again)."""
    line = app.screen.query_one(MessageLine)
    assert line.display, "no message shown"
    rows = screen_lines(app)[line.region.y:line.region.bottom]
    return ("".join(rows[:-1]) + rows[-1]).rstrip()


def no_toasts(app: BpfscopeApp) -> bool:
    return not app.screen.query("Toast")


def pane_rows(app: BpfscopeApp, pane: str) -> list[str]:
    region = app.query_one(f"#{pane}").region
    return screen_lines(app)[region.y:region.bottom]


# --- live status and messages -------------------------------------------------------------


async def test_live_status_keeps_the_state_and_the_log_and_the_footer_says_resume() -> None:
    """At 80 columns the status line drops `[unknown]`, the rate and the collector before the
    state (`paused`, `stopped`) and the log path; while paused the footer offers Resume."""
    clock = Clock()
    app = live_app(FakeStarter(), target=Target.for_command(["python3", "/srv/app/server.py", "--port", "8080"]),
                   clock=clock, log="/tmp/bpfscope-q1w2e3/output.log")
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(("main", "work", "hot"), 30)
        tick(app, clock)
        await pilot.press("space")
        await pilot.pause()
        status = screen_lines(app)[-2]
        assert "paused" in status and "output in /tmp/bpfscope-q1w2e3/output.log" in status, status
        assert "30 samples" in status and "[unknown]" not in status and "Hz" not in status
        assert "Resume" in footer(app) and "Pause" not in footer(app)
        await pilot.press("space")
        await pilot.pause()
        assert "Pause" in footer(app) and "Resume" not in footer(app)
        await pilot.press("x")
        await pilot.pause()
        status = screen_lines(app)[-2]
        assert "stopped" in status and "output in /tmp/bpfscope-q1w2e3/output.log" in status, status


async def test_a_target_that_exits_says_so_at_80_columns() -> None:
    """`target exited (...)` stays on the status line when the fields do not all fit."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(("main", "work"), 30)
        c.exit("process 4242 exited")
        tick(app, clock)
        await pilot.pause()
        assert "target exited (process 4242 exited)" in screen_lines(app)[-2]


async def test_the_stacks_hint_is_a_message_line_not_a_box_over_the_graph() -> None:
    """The hint about short stacks shows in the message line; the graph's rows stay whole."""
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(("main", "work", "hot"), 200)  # the first 2 s are not judged
        tick(app, clock)
        c.feed(("main", "work", "hot"), 100)
        tick(app, clock)
        await pilot.pause()
        assert "-fno-omit-frame-pointer" in message_row(app)
        assert no_toasts(app)
        graph_rows = pane_rows(app, "left-heavy")
        assert graph_rows[0].startswith("main ") and graph_rows[2].startswith("hot ")
        assert not any("frame pointer" in row for row in graph_rows)


async def test_messages_never_cover_the_panes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`recursion flattened` and `wrote ...` (with the full path) show in the message line,
    the graph and details rows stay readable, and no notification box is drawn."""
    monkeypatch.chdir(tmp_path)
    app = BpfscopeApp(load_profile(str(EXAMPLE)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert message_row(app) == "recursion flattened"
        assert no_toasts(app) and details(app)[0].startswith("main")
        await pilot.press("e")
        await pilot.press("enter")
        await pilot.pause()
        assert message_row(app) == f"wrote {tmp_path / 'webapp.speedscope.json'}"
        assert no_toasts(app) and pane_rows(app, "left-heavy")[0].startswith("main ")
        await pilot.click(MessageLine)
        await pilot.pause()
        assert not app.query_one(MessageLine).display  # a click dismisses it


# --- Sandwich ------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 120])
async def test_sandwich_names_repeated_functions_by_file_and_cuts_with_an_ellipsis(width: int) -> None:
    """`main` twice and `<module>` three times read `name (file)`; a long name ends in `…` at
    80 columns and is whole at 120."""
    app = BpfscopeApp(same_names_group())
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        for label in ("main (worker.py)", "main (server.py)", "<module> (cli.py)"):
            assert label in text, text
        assert "<module> (server" in text and "<module> (worker" in text
        if width == 80:
            rows = screen_lines(app)
            for start in ("JSONEncoder.iter", "parse_records_fr"):
                row = next(r for r in rows if f"% {start}" in r)
                cell = row.split("% ", 2)[-1].split("  ")[0]
                assert cell.startswith(start) and cell.endswith("…"), row
        else:
            assert "JSONEncoder.iterencode_with_a_long_name" in text
            assert "parse_records_from_the_input_stream" in text


async def test_j_and_k_move_in_the_sandwich_table() -> None:
    """j / k move the table's cursor as the arrows do; the details line follows."""
    app = BpfscopeApp(same_names_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await pilot.pause()
        assert details(app)[0].startswith("JSONEncoder.iterencode_with_a_long_name")
        await pilot.press("j")
        await pilot.pause()
        assert details(app)[0].startswith("main  /srv/app/worker.py:12")
        await pilot.press("k")
        await pilot.pause()
        assert details(app)[0].startswith("JSONEncoder")


# --- Time Order ----------------------------------------------------------------------------


async def test_time_order_of_interleaved_stacks_is_drawn_with_a_ruler_in_seconds() -> None:
    """Stacks changing at every sample (an interpreter) fill the pane under the ruler, the
    idle gap stays blank, and the ruler marks seconds."""
    app = BpfscopeApp(interleaved_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await pilot.pause()
        rows = screen_lines(app)
        ruler = rows[3]
        assert ruler.startswith("|0s ") and "|5s" in ruler and "|10s" in ruler and "|20s" in ruler, ruler
        graph = pane_rows(app, "time-order")
        top = graph[0].rstrip()
        assert set(top) == {"[", "p", " "} and top.count(" ") <= 4, top  # `[unknown]`, `python`: no blank
        assert "  " in top.strip()  # but the 1 s idle gap between the halves
        assert graph[3].strip().startswith("h")  # `hot`, four frames down
        assert "whole profile" in header(app)[1]


def node_cpuprofile() -> bytes:
    """A Node .cpuprofile of a mostly idle server, as `node --cpu-prof` writes one: a 1 ms
    burst in `main` → `parse` every 30 ms, `(idle)` between."""
    nodes = [
        {"id": 1, "callFrame": {"functionName": "(root)", "scriptId": "0", "url": "", "lineNumber": -1,
                                "columnNumber": -1}, "children": [2, 3, 4]},
        {"id": 2, "callFrame": {"functionName": "(program)", "scriptId": "0", "url": "", "lineNumber": -1,
                                "columnNumber": -1}},
        {"id": 3, "callFrame": {"functionName": "(garbage collector)", "scriptId": "0", "url": "",
                                "lineNumber": -1, "columnNumber": -1}},
        {"id": 4, "callFrame": {"functionName": "main", "scriptId": "1", "url": "file:///srv/app.js",
                                "lineNumber": 3, "columnNumber": 0}, "children": [5]},
        {"id": 5, "callFrame": {"functionName": "parse", "scriptId": "1", "url": "file:///srv/app.js",
                                "lineNumber": 9, "columnNumber": 2}},
    ]
    samples = [5 if i % 30 == 0 else 6 for i in range(900)]
    nodes[0]["children"] = [2, 3, 4, 6]
    nodes.append({"id": 6, "callFrame": {"functionName": "(idle)", "scriptId": "0", "url": "",
                                         "lineNumber": -1, "columnNumber": -1}})
    profile = {"nodes": nodes, "startTime": 0, "endTime": 900_000, "samples": samples,
               "timeDeltas": [1000] * len(samples)}
    return json.dumps(profile).encode()


async def test_a_node_cpuprofile_time_order_is_not_blank() -> None:
    """A mostly idle Node profile shows every burst (not one lone frame), idle time stays a
    gap, and a zero weight prints as 0 in the details line (not 0.00ns)."""
    group = parse_profile(node_cpuprofile(), "app.cpuprofile")
    app = BpfscopeApp(group)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await pilot.pause()
        graph = pane_rows(app, "time-order")
        assert graph[0].count("m") == 30 and set(graph[0]) == {"m", " "}, graph[0]  # 30 bursts of main
        assert graph[1].count("p") == 30, graph[1]  # parse under each
        assert screen_lines(app)[3].startswith("|0.0s")
        await pilot.press("2")
        await pilot.pause()
        weights = details(app)[1]
        assert "self 0 " in weights and "0.00ns" not in weights, weights


async def test_untimed_time_order_says_file_order_and_plus_shows_the_span() -> None:
    """Without sample times the header says x is the file's order; after `+` the breadcrumb
    names the span shown instead of `whole profile`."""
    app = BpfscopeApp(load_profile(str(EXAMPLE)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await pilot.pause()
        assert "whole profile · x: file order (no sample times)" in header(app)[1]
        await pilot.press("plus")
        await pilot.pause()
        crumb = header(app)[1]
        assert crumb.startswith("samples ") and "whole profile" not in crumb, crumb


async def test_timed_plus_shows_seconds_in_the_breadcrumb() -> None:
    app = BpfscopeApp(interleaved_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "plus")
        await pilot.pause()
        crumb = header(app)[1]
        assert " s – " in crumb and crumb.rstrip().endswith(" s"), crumb


# --- details, header, threads --------------------------------------------------------------


async def test_the_details_line_keeps_the_function_totals_at_80_columns() -> None:
    app = BpfscopeApp(load_profile(str(EXAMPLE)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "j")
        await pilot.pause()
        name, weights = details(app)
        assert name.startswith("server.handle_request")
        assert "│ function: total" in weights and weights.rstrip().endswith("%)"), weights


async def test_the_header_keeps_the_pane_name_with_a_long_thread_label() -> None:
    group = ProfileGroup("/usr/lib/jvm/java-17-openjdk-amd64/bin/java -jar /opt/service/app.jar")
    for tid in (391, 392):
        p = group.new_profile(f"node pid: 391 tid: {tid} worker thread of a very long name", Unit.MILLISECONDS)
        p.tid = tid
        add(group, len(group.profiles) - 1, ["main", "run"], 10)
    app = BpfscopeApp(group)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = header(app)[0]
        assert "Left Heavy" in first and first.rstrip().endswith("Left Heavy"), first
        assert "(tid 391)" not in Session(group).profile_label(0)
        await pilot.press("t")
        await pilot.pause()
        listed = [row for row in screen_lines(app) if "tid: 39" in row]
        assert len(listed) == 2 and not any("(tid" in row for row in listed), listed  # said once


async def test_t_on_a_one_thread_file_says_so() -> None:
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert "only thread" in message_row(app)


async def test_j_and_k_choose_in_the_thread_list() -> None:
    app = BpfscopeApp(threaded_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "T1 (tid 1) [1/2]" in header(app)[0]
        for key in ("t", "j", "enter"):
            await pilot.press(key)
            await pilot.pause()
        assert "T2 (tid 2) [2/2]" in header(app)[0]
        for key in ("t", "k", "enter"):
            await pilot.press(key)
            await pilot.pause()
        assert "T1 (tid 1) [1/2]" in header(app)[0]


# --- r, search -----------------------------------------------------------------------------


async def test_r_keeps_the_zoom_and_the_selection() -> None:
    app = BpfscopeApp(load_profile(str(EXAMPLE)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "j", "enter", "j")
        await pilot.pause()
        crumb = "main › server.serve_forever › server.handle_request"
        assert header(app)[1].startswith(crumb) and details(app)[0].startswith("app.dispatch")
        await pilot.press("r")
        await pilot.pause()
        assert "recursion flattened" in header(app)[0]
        assert header(app)[1].startswith(crumb), header(app)[1]
        assert details(app)[0].startswith("app.dispatch")
        await pilot.press("r")
        await pilot.pause()
        assert header(app)[1].startswith(crumb) and details(app)[0].startswith("app.dispatch")


def two_callers_group() -> ProfileGroup:
    """`parse` called from two places: one function, two frames in Left Heavy."""
    group = ProfileGroup("callers.folded")
    group.new_profile("p", Unit.NONE)
    add(group, 0, ["main", "load", "parse"], 30)
    add(group, 0, ["main", "save", "parse"], 10)
    add(group, 0, ["main", "idle"], 5)
    return group


async def test_the_search_count_is_what_n_steps_through() -> None:
    """One function in two places: the prompt says 2 matches, and n visits both then wraps."""
    app = BpfscopeApp(two_callers_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"parse", "enter")
        await pilot.pause()
        assert any("2 matches (1 function)" in row for row in screen_lines(app))
        seen = []
        for _ in range(3):
            await pilot.press("n")
            await pilot.pause()
            assert app.left_heavy.selected is not None
            seen.append((app.left_heavy.selected.start, header(app)[1]))
        assert seen[0] != seen[1] and seen[2] == seen[0]
        assert "load › parse" in seen[0][1] and "save › parse" in seen[1][1]


# --- help ----------------------------------------------------------------------------------


def _normal(text: str) -> str:
    return " ".join(text.split())


async def test_help_fits_80_columns_without_lost_characters() -> None:
    """Every description reads whole (wrapped at words, never cut), scrolled with j."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        scroll = app.screen.query_one(KeyedScroll)
        seen: list[str] = []
        for _ in range(300):
            rows = screen_lines(app)
            assert all(len(r) <= 80 for r in rows)
            seen.extend(r.strip().strip("│").rstrip("▁▂▃▄▅▆▇█ ").strip() for r in rows)
            before = scroll.scroll_y
            await pilot.press("j")
            await pilot.pause()
            if scroll.scroll_y == before:
                break
        assert scroll.scroll_y > 0  # j scrolled
        assert not scroll.horizontal_scrollbar.display  # one scrollbar, vertical
        text = _normal(" ".join(seen))
        for phrase in ("search names (Ctrl+R in the prompt: regular expression)",
                       "cycle the sort: self, total, name (comparing: also |Δ total|)",
                       "(Ctrl+O in Sandwich, where o sorts)",
                       "filter: hide the selected function (its time goes to its caller)",
                       "↑ / k", "PgUp"):
            assert phrase in text, phrase


# --- export -------------------------------------------------------------------------------


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short directory: the dialog's whole path must fit in 80 columns (pytest-xdist's
    tmp_path, `/tmp/pytest-of-root/pytest-N/popen-gwN/test_export_of_a_live_capture_0`, does not)."""
    with short_directory("bps-export-") as directory:
        yield directory


async def test_export_of_a_live_capture_has_no_spaces_and_a_reopened_export_is_named_by_its_file(
        short_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = short_tmp
    monkeypatch.chdir(tmp_path)
    clock = Clock()
    app = live_app(FakeStarter(), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        c = await started(app, pilot)
        c.feed(("main", "work"), 10)
        tick(app, clock)
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.query_one("#export-path").value == "PID_4242.speedscope.json"  # type: ignore[attr-defined]
        assert any(str(tmp_path) in row for row in screen_lines(app))  # the dialog says where
        await pilot.press("enter")
        await pilot.pause()
        assert message_row(app) == f"wrote {tmp_path / 'PID_4242.speedscope.json'}"
    again = BpfscopeApp(load_profile(str(tmp_path / "PID_4242.speedscope.json")))
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert header(again)[0].startswith("PID_4242.speedscope.json")


# --- the picker ------------------------------------------------------------------------------


LONG = [ProcessInfo(3021, "postgres", "python3", "/usr/bin/python3 /srv/app/server.py --port 8080 --workers 4",
                    80.5, 1 << 30, 12),
        ProcessInfo(45, "root", "cron", "/usr/sbin/cron -f", 0.5, 1 << 20, 1)]


async def test_picker_columns_fit_80_and_q_quits() -> None:
    """COMMAND gets the room at 80 columns; q quits rather than typing into the filter."""
    app = BpfscopeApp(live=LiveOptions(FakeStarter(), None, handle_signals=False), process_lister=lambda: list(LONG))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = screen_lines(app)
        head = next(r for r in rows if "COMMAND" in r)
        assert head.index("COMMAND") <= 60 and "NAME" in head
        row = next(r for r in rows if "3021" in r)
        assert "/usr/bin/python3 /srv/app" in row and len(row) <= 80
        await pilot.press("q")
        await pilot.pause()
        assert app._exit


def test_the_first_listing_has_measured_cpu() -> None:
    """A busy process shows its CPU % in the very first listing (not 0.0 for everyone)."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # started: psutil sees it from the first reading on
        process_picker._primed = False
        rows = {p.pid: p for p in list_processes()}
        assert rows[busy.pid].cpu > 0.0, rows[busy.pid]  # psutil's unprimed first reading is 0.0
    finally:
        busy.kill()
        busy.wait()


# --- perf refusing a non-root user -------------------------------------------------------------

PERF_REFUSAL = ("perf record did not start: Error: Access to performance monitoring and observability "
                "operations is limited. Consider adjusting /proc/sys/kernel/perf_event_paranoid setting")


def test_perf_refusal_becomes_one_sentence_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_module, "_euid", lambda: 1000)
    other = plain_failure(PERF_REFUSAL, Target.for_pid(1), owner=lambda pid: 0)
    assert other == "PID 1 belongs to another user, and only root may sample it: run bpfscope with sudo"
    mine = plain_failure(PERF_REFUSAL, Target.for_pid(77), owner=lambda pid: 1000)
    assert "sudo" in mine and "kernel.perf_event_paranoid" in mine and "Access" not in mine
    assert plain_failure("bcc is missing", Target.for_pid(1)) == "bcc is missing"
    monkeypatch.setattr(live_module, "_euid", lambda: 0)
    assert plain_failure(PERF_REFUSAL, Target.for_pid(1)) == PERF_REFUSAL  # root: perf's own words


async def test_perf_refusal_in_the_tui_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """perf's page of text about perf_event_paranoid becomes one sentence with the fix: for the
    command-line target, the line printed on exit (status 2)."""
    from textual.worker import WorkerCancelled

    monkeypatch.setattr(live_module, "_euid", lambda: 1000)
    monkeypatch.setattr(live_module, "_process_owner", lambda pid: 0)
    app = live_app(FakeStarter(error=PERF_REFUSAL), target=Target.for_pid(1))
    async with app.run_test(size=SIZE) as pilot:
        with contextlib.suppress(WorkerCancelled):  # the app exits under the worker
            await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.return_code == 2
    assert app.start_error == "cannot sample PID 1: PID 1 belongs to another user, and only root may sample it: " \
                              "run bpfscope with sudo", app.start_error


async def test_j_and_k_move_in_the_filter_list() -> None:
    """In the filter screen's list (Tab from the prompt), j / k move; Delete removes that chip."""
    app = BpfscopeApp(load_profile(str(EXAMPLE)))
    async with app.run_test(size=SIZE) as pilot:
        for key in ("j", "j", "j", "j", "d", "j", "d", "F"):  # hide views.search, then what is selected next
            await pilot.press(key)
            await pilot.pause()
        chips = [row for row in screen_lines(app) if "hide " in row]
        assert len(chips) >= 2, screen_lines(app)
        await pilot.press("tab")  # the list, on its first chip
        await pilot.press("j", "delete")  # the second one removed: j moved
        await pilot.pause()
        kept = app.session.view.chips
        assert len(kept) == 1 and kept[0].text == "hide views.search", [c.text for c in kept]
