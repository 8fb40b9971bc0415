"""The app driven by keys at 80x24, asserting on state: pane, selection, zoom stack, matches."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from collectors.formats import registry
from collectors.profile import ProfileGroup
from tests.test_tui.palette_driver import run_palette_command
from tests.test_tui.profiles import recursive_group, small_group, threaded_group
from tui.app import PALETTE_COMMANDS, BpfscopeApp
from tui.screens.export import ExportDialog
from tui.screens.help import HelpScreen
from tui.screens.thread_picker import ThreadPicker
from tui.session import MERGED
from tui.widgets.flame_graph import FlameGraph

SIZE = (80, 24)


def selected_name(app: BpfscopeApp, graph: FlameGraph | None = None) -> str | None:
    graph = graph or app.current_graph
    assert graph is not None
    sel = graph.selected
    return None if sel is None else app.session.group.frames[sel.frame].name


def zoom_names(app: BpfscopeApp, graph: FlameGraph) -> list[str | None]:
    frames = app.session.group.frames
    return [None if v.node is None else frames[v.node.frame].name for v in graph.zoom_stack]


def app_for(group: ProfileGroup | None = None) -> BpfscopeApp:
    return BpfscopeApp(group or small_group())


async def test_opens_on_left_heavy_with_the_first_frame_selected() -> None:
    """Left Heavy is the default pane; its first top frame is selected and focused."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.active_pane == "left-heavy"
        assert app.focused is app.left_heavy
        assert selected_name(app) == "main"


async def test_number_keys_switch_panes() -> None:
    """1, 2 and 3 show Time Order, Left Heavy and Sandwich (speedscope's numbering)."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        assert app.active_pane == "time-order" and app.focused is app.time_order
        await pilot.press("3")
        focused: object = app.focused
        assert app.active_pane == "sandwich" and focused is app.sandwich.table
        await pilot.press("2")
        assert app.active_pane == "left-heavy" and app.focused is app.left_heavy


@pytest.mark.parametrize(("keys", "expected"), [
    (["j"], "a"), (["down"], "a"), (["j", "j"], "b"), (["j", "l"], "d"), (["j", "right"], "d"),
    (["j", "l", "h"], "a"), (["j", "l", "left"], "a"), (["j", "j", "k"], "a"), (["j", "j", "up"], "a"),
    (["k"], "main"), (["h"], "main"),
])
async def test_navigation_keys(keys: list[str], expected: str) -> None:
    """hjkl and the arrows: heaviest child, neighbours at the same depth, parent; edges stay put."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys)
        assert selected_name(app) == expected


async def test_enter_zooms_and_escape_backspace_zero_home_go_back() -> None:
    """Enter pushes a zoom step; Esc and Backspace pop one; 0 and Home return to the whole profile."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        graph = app.left_heavy
        await pilot.press("j", "enter", "j", "enter")
        assert zoom_names(app, graph) == [None, "a", "b"]
        assert app.query_one("#header").render().plain.splitlines()[1] == "main › a › b"  # type: ignore[union-attr]
        await pilot.press("escape")
        assert zoom_names(app, graph) == [None, "a"]
        await pilot.press("enter", "backspace")
        assert zoom_names(app, graph) == [None, "a"]
        await pilot.press("j", "enter", "0")
        assert zoom_names(app, graph) == [None]
        await pilot.press("j", "enter", "home")
        assert zoom_names(app, graph) == [None]


async def test_zoomed_frame_fills_the_width() -> None:
    """After Enter on d, d's row is d across the whole width."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "l", "enter")
        graph = app.left_heavy
        line = graph.render_line(1).text
        assert line.startswith("d ") and len(line) == graph.layout_width and set(line[1:]) == {" "}


async def test_time_order_zoom_and_pan_keys() -> None:
    """In Time Order + halves the view around the selection, - undoes it, , and . pan."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        graph = app.time_order
        full = graph.view
        assert full is not None
        await pilot.press("plus")
        v = graph.view
        assert v is not None and v.width == pytest.approx(full.width / 2) and len(graph.zoom_stack) == 2
        await pilot.press("comma")
        left = graph.view
        assert left is not None and left.start == pytest.approx(max(0.0, v.start - v.width / 4))
        await pilot.press("full_stop", "full_stop")
        right = graph.view
        assert right is not None and right.start > left.start
        await pilot.press("minus")
        assert graph.view is not None and graph.view.width == pytest.approx(full.width)


async def test_time_keys_do_nothing_in_left_heavy() -> None:
    """+ and , are Time Order keys: Left Heavy's zoom stack is untouched."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("plus", "comma")
        assert len(app.left_heavy.zoom_stack) == 1


async def test_i_flips_left_heavy() -> None:
    """i puts Left Heavy's root at the bottom and back."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        graph = app.left_heavy
        assert graph.root_at_bottom
        height = graph.scrollable_content_region.height
        assert graph.render_line(height - 1).text.startswith("main")
        await pilot.press("i")
        assert not graph.root_at_bottom and graph.render_line(0).text.startswith("main")


async def test_search_counts_highlights_and_steps_through_matches() -> None:
    """/ then text: N matches; Enter returns to the pane; n and N zoom to matches; Esc clears."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", "D")
        assert app.match_count == 1
        await pilot.press("backspace", "b", "enter")
        assert app.match_count == 1 and app.focused is app.left_heavy
        assert str(app.search_bar.query_one("#search-count").render()) == "1 match"
        await pilot.press("n")
        assert selected_name(app) == "b" and zoom_names(app, app.left_heavy)[-1] == "b"
        await pilot.press("escape")  # back out of the zoom first
        assert app.match_count == 1
        await pilot.press("escape")  # then the search
        assert app.match_count is None and not app.search_bar.has_class("-open")


async def test_search_regex_toggle() -> None:
    """Ctrl+R makes the pattern a regular expression; a bad one is reported, not raised."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", "^", "[", "b", "c", "]", "$")
        assert app.match_count == 0
        await pilot.press("ctrl+r")
        assert app.match_count == 2
        await pilot.press("(")
        assert app.match_count is None and app.search_error is not None


async def test_n_and_N_cycle_matches() -> None:
    """With b and c matching, n goes b → c → b, N goes back."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", "ctrl+r", "^", "[", "b", "c", "]", "enter")
        await pilot.press("n")
        assert selected_name(app) == "b"
        await pilot.press("n")
        assert selected_name(app) == "c"
        await pilot.press("n")
        assert selected_name(app) == "b"
        await pilot.press("N")
        assert selected_name(app) == "c"


async def test_s_opens_the_function_in_sandwich() -> None:
    """s on a frame switches to Sandwich with that function, its callers and callees."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "s")
        await pilot.pause()
        assert app.active_pane == "sandwich"
        sw = app.sandwich
        assert sw.frame is not None and app.session.group.frames[sw.frame].name == "a"
        assert sw.callers.render_line(sw.callers.scrollable_content_region.height - 1).text.startswith("a")
        assert sw.callees.render_line(1).text.startswith("b")


async def test_sandwich_table_sorts_and_moves() -> None:
    """The table starts sorted by self; o cycles to total then name; ↑ moves; Enter focuses callers."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        sw = app.sandwich
        names = app.session.group.frames
        assert [names[f].name for f in sw.order] == ["d", "b", "main", "c", "a"]
        await pilot.press("o")
        assert sw.sort_by == "total"
        assert [names[f].name for f in sw.order] == ["main", "d", "a", "b", "c"]  # ties: heavier self first
        await pilot.press("o")
        assert [names[f].name for f in sw.order] == ["a", "b", "c", "d", "main"]
        assert sw.frame is not None and names[sw.frame].name == "d"  # the selection survives sorting
        await pilot.press("up")
        assert sw.frame is not None and names[sw.frame].name == "c"
        await pilot.press("enter")
        assert app.focused is sw.callers
        assert selected_name(app) == "c"


async def test_sandwich_header_click_sorts() -> None:
    """Clicking the total column header sorts by total."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        table = app.sandwich.table
        await pilot.pause()
        x = sum(table.columns[k].get_render_width(table) for k in list(table.columns)[:2]) + 1
        await pilot.click(table, offset=(x, 0))
        assert app.sandwich.sort_by == "total"


async def test_thread_picker_offers_each_thread_and_all_merged() -> None:
    """t lists the threads and "all threads merged"; choosing merged shows both threads' frames."""
    app = app_for(threaded_group())
    async with app.run_test(size=SIZE) as pilot:
        assert app.session.profile.name == "T1"
        await pilot.press("t")
        assert isinstance(app.screen, ThreadPicker)
        labels = [label for _, label in app.screen.choices]
        assert labels == ["T1 (tid 1)", "T2 (tid 2)", "all threads merged"]
        await pilot.press("down", "down", "enter")
        assert app.session.index == MERGED
        assert app.left_heavy.model is not None and app.left_heavy.model.total == 40
        await pilot.press("t", "up", "enter")
        assert app.session.index == 1


async def test_r_flattens_recursion() -> None:
    """r drops repeated frames (f → g → f → h becomes f → g → h) and r again restores them."""
    app = app_for(recursive_group())
    async with app.run_test(size=SIZE) as pilot:
        graph = app.left_heavy
        assert len(graph.rows) == 4
        await pilot.press("r")
        assert app.session.flattened and len(graph.rows) == 3
        await pilot.press("r")
        assert len(graph.rows) == 4


def capture_terminal_writes(app: BpfscopeApp) -> list[str]:
    """Everything the app writes to its (headless) terminal from now on."""
    driver = app._driver
    assert driver is not None
    written: list[str] = []
    original = driver.write

    def write(data: str) -> None:
        written.append(data)
        original(data)

    driver.write = write  # type: ignore[method-assign]
    return written


async def test_c_copies_the_selected_name() -> None:
    """c writes the selected frame's name to the terminal as an OSC 52 clipboard sequence."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        written = capture_terminal_writes(app)
        await pilot.press("j", "l", "c")
        assert app.clipboard == "d"
        assert written.count("\x1b]52;c;ZA==\a") == 1  # base64 of "d", decoded by hand


async def test_question_mark_opens_help_listing_keys() -> None:
    """? shows the help screen with every binding; ? closes it."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(f"{k} {d}" for _, rows in app.screen.sections for k, d in rows)
        for needle in ("Time Order", "zoom", "export", "copy the selected", "flatten recursion", "thread",
                       "Regex", "Sort", "heaviest child", "parent frame", "pan left"):
            assert needle.lower() in text.lower(), needle
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)


async def test_export_writes_speedscope_or_folded_and_asks_before_overwriting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """e opens the dialog; folded switches the name to <profile>.folded; overwriting needs a second Save."""
    monkeypatch.chdir(tmp_path)
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        assert dialog.path == "small.speedscope.json"
        dialog.query_one("#format-folded").value = True  # type: ignore[attr-defined]
        await pilot.pause()
        assert dialog.path == "small.folded"
        (tmp_path / "small.folded").write_text("old\n")
        await pilot.press("enter")
        assert dialog.confirm_overwrite and (tmp_path / "small.folded").read_text() == "old\n"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ExportDialog)
        # Frames with a file and line keep them in py-spy's `name (file:line)` form.
        m, a = "main (main.c:10)", "a (a.c:10)"
        assert (tmp_path / "small.folded").read_text().splitlines() == [
            f"{m};{a};b (b.c:10) 30", f"{m};{a};c (c.c:10) 10", f"{m};d (d.c:10) 40", f"{m} 20"]


def _seconds_by_thread_and_function(group: ProfileGroup) -> dict[tuple[str, str], float]:
    """Per (thread, function name): the seconds of the samples it is on (once per sample)."""
    out: dict[tuple[str, str], float] = {}
    for profile in group.profiles:
        per = profile.unit.seconds_per_unit
        assert per is not None
        for stack, weight in profile.iter_samples():
            for name in {group.frames[f].name for f in stack}:
                key = (profile.name, name)
                out[key] = out.get(key, 0.0) + weight * per
    return out


async def test_export_writes_pprof_that_reads_back_to_the_totals_shown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Choosing pprof names the file <profile>.pb.gz; the file written is pprof (the registry's
    pprof reader takes it) with every thread's and every function's time as shown."""
    monkeypatch.chdir(tmp_path)
    app = app_for(threaded_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        dialog.query_one("#format-pprof").value = True  # type: ignore[attr-defined]
        await pilot.pause()
        assert dialog.fmt == "pprof" and dialog.path == "threads.pb.gz"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ExportDialog)
        shown = app.session.group
    data = gzip.decompress((tmp_path / "threads.pb.gz").read_bytes())  # as detection hands it over
    (pprof,) = [r for r in registry.READERS if r.name == "pprof"]
    assert pprof.sniff(data)
    back = pprof.load(data, "threads.pb.gz")
    assert sorted(p.name for p in back.profiles) == ["T1", "T2"]
    expected = _seconds_by_thread_and_function(shown)
    assert expected == {("T1", "main"): 0.01, ("T1", "x"): 0.01, ("T2", "main"): 0.03, ("T2", "y"): 0.03}
    assert _seconds_by_thread_and_function(back) == pytest.approx(expected)


async def test_ctrl_s_opens_export_and_escape_cancels() -> None:
    """Ctrl+S is the other export key; Esc closes the dialog without writing."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ExportDialog)
        await pilot.press("escape")
        assert not isinstance(app.screen, ExportDialog)


async def test_q_quits() -> None:
    """q exits the app."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_command_palette_lists_the_actions() -> None:
    """Every action bound to a key (read from the app's BINDINGS, not from the palette's own table) is
    offered in the command palette, and each palette entry names an action the app has."""
    from textual.binding import Binding

    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = {c.title for c in app.get_system_commands(app.screen)}
        bound = {b.action for b in BpfscopeApp.BINDINGS if isinstance(b, Binding)} - {"quit"}
        offered = {action for title, _, action in PALETTE_COMMANDS if title in titles}
        assert bound <= offered, bound - offered
        for action in offered:
            assert hasattr(app, "action_" + action.split("(")[0]), action
        assert {"Open a profile file", "Export", "Stop sampling", "Choose a process", "Keys"} <= titles


async def test_a_palette_command_runs_its_action() -> None:
    """Typing a command's title in the real palette (Ctrl+P) and pressing Enter does what its key does."""
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await run_palette_command(app, pilot, "Invert Left Heavy")
        assert app.left_heavy.root_at_bottom


async def test_details_line_describes_the_selection() -> None:
    """The details line names the frame, its location, its weights and the function's totals."""
    app = app_for()
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.press("j", "enter", "j")
        text = app.query_one("#details").render().plain  # type: ignore[union-attr]
        first, second = text.splitlines()
        assert first == "b  b.c:10"
        assert second == ("total 30 (30.0% of all, 75.0% of view)  self 30 (30.0%, 75.0%)"
                          "  │ function: total 30 (30.0%) self 30 (30.0%)")


async def test_header_names_profile_unit_total_and_thread() -> None:
    """The header says which file, thread, unit, total and pane."""
    app = app_for(threaded_group())
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        title = app.query_one("#header").render().plain.splitlines()[0]  # type: ignore[union-attr]
        assert title == "threads.json · T1 (tid 1) [1/2] · milliseconds · total 10.00ms · Left Heavy"
