"""SVG snapshots of each pane, the help screen and the export dialog, from the bundled example
profile at 80x24 and 120x40 (pytest-textual-snapshot; `--snapshot-update` rewrites them).

Deterministic: fixed sizes, colour forced on, no cursor blink, the profile loaded from the
package's own example file (its header shows only the base name, not where it lives).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.resources import as_file, files
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from collectors.formats.detect import load_profile
from tui.app import BpfscopeApp
from tui.widgets.status import DetailsLine, ProfileHeader

SnapCompare = Callable[..., bool]
SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


def example_app() -> BpfscopeApp:
    with as_file(files("tui") / "examples" / "webapp.folded") as path:
        return BpfscopeApp(load_profile(str(path)))


@pytest.fixture(autouse=True)
def _fixed_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The same colours and locale wherever the tests run (NO_COLOR would drop every colour;
    without COLORTERM the frame palette would follow the runner's TERM)."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.chdir("/")  # the export dialog names the directory it writes to
    yield


async def _no_blink(pilot: Pilot[Any]) -> None:
    """The export dialog's text cursor blinks on a timer; pin it on."""
    await pilot.pause()
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False


PANE_STATES = [
    pytest.param((), id="left-heavy"),  # the pane on open, the root selected
    pytest.param(("j", "j", "j", "j"), id="left-heavy-selected"),  # views.search, down the hot path
    pytest.param(("j", "j", "j", "j", "enter"), id="left-heavy-zoomed"),  # views.search fills the width
    pytest.param(("1",), id="time-order"),
    pytest.param(("1", "j", "j", "l"), id="time-order-selected"),  # a later request
    pytest.param(("3",), id="sandwich"),  # sorted by self: text.tokenize first
    pytest.param(("j", "j", "j", "j", "j", "s"), id="sandwich-of-frame"),  # search.rank_results
    pytest.param(("slash", "t", "o", "k", "e", "n", "enter"), id="search"),  # 'token': matches highlighted
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("press", PANE_STATES)
def test_pane(snap_compare: SnapCompare, size: str, press: tuple[str, ...]) -> None:
    """A pane after the keys `press` looks as it did when the snapshot was accepted."""
    assert snap_compare(example_app(), press=press, terminal_size=SIZES[size])


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare: SnapCompare, size: str) -> None:
    """`?` shows every key in sections over the Left Heavy pane."""
    assert snap_compare(example_app(), press=("question_mark",), terminal_size=SIZES[size])


async def _open_export(pilot: Pilot[Any]) -> None:
    await pilot.press("e")
    await _no_blink(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_export_dialog(snap_compare: SnapCompare, size: str) -> None:
    """`e` opens the export dialog offering speedscope JSON (chosen), folded stacks and pprof, with
    `webapp.speedscope.json` proposed."""
    assert snap_compare(example_app(), terminal_size=SIZES[size], run_before=_open_export)


ROWS_80x24 = {
    "left-heavy": ((), {
        0: "webapp.folded · total 1,103 samples · Left Heavy",
        1: "whole profile",
        2: "main",
        21: "main",
        22: "total 1,103 100.0%  self 0 0.0%  │ function: total 1,103 (100.0%) self 0 (0.0%)",
    }),
    "left-heavy-zoomed": (("j", "j", "j", "j", "enter"), {
        1: "… › server.serve_forever › server.handle_request › app.dispatch › views.search",
        21: "views.search",
        22: "total 599 54.3%  self 0 0.0% │ function: total 599 54.3% self 0 0.0%",
    }),
    "time-order": (("1",), {
        0: "webapp.folded · total 1,103 samples · Time Order",
        1: "whole profile · x: file order (no sample times)",
        2: "main",
    }),
    "time-order-selected": (("1", "j", "j", "l"), {
        21: "server.handle_request",
        22: "total 18 1.6%  self 0 0.0%  │ function: total 911 (82.6%) self 0 (0.0%)",
    }),
    "sandwich": (("3",), {
        1: "sandwich of text.tokenize",
        2: "     self  self%    total total% function            callers",
        3: "      192  17.4%      354  32.1% text.tokenize       main",
        13: "       26   2.4%       26   2.4% ext4_file_read_it…  re.Pa… str…",
        22: "total 354 32.1%  self 192 17.4%  │ function: total 354 (32.1%) self 192 (17.4%)",
    }),
    "search": (("slash", "t", "o", "k", "e", "n", "enter"), {
        20: " token                                       substring  3 matches (2 functions)",
    }),
    "export": (("e",), {
        7: "searc│ ▊ ▐●▌ speedscope JSON                                            ▎ │",
        8: "searc│ ▊ ▐●▌ folded stacks                                              ▎ │",
        9: "text.│ ▊ ▐●▌ pprof                                                      ▎ │",
        12: "     │ ▊  webapp.speedscope.json                                        ▎ │",
        14: "     │ relative to /                                                      │",
    }),
    "help": (("question_mark",), {
        3: "│ 2                 Left Heavy: the flame graph, merged, heaviest first        │",
        5: "│ /                 search names (Ctrl+R in the prompt: regular                │",
        6: "│                   expression)                                                │",
    }),
}


ROWS_120x40 = {
    "export": (("e",), {
        15: " " * 25 + "│ ▊ ▐●▌ speedscope JSON                                            ▎ │",
        16: " " * 25 + "│ ▊ ▐●▌ folded stacks                                              ▎ │",
        17: " " * 25 + "│ ▊ ▐●▌ pprof                                                      ▎ │",
        20: " " * 25 + "│ ▊  webapp.speedscope.json                                        ▎ │",
    }),
    "help": (("question_mark",), {
        5: "app.dispatch     │ /                 search names (Ctrl+R in the prompt: regular expression)"
           "          │oll_wait_… iy",
        30: " " * 17 + "│ e / Ctrl+S        export as speedscope JSON, folded stacks or pprof                │",
    }),
    "left-heavy-zoomed": (("j", "j", "j", "j", "enter"), {
        1: "main › server.serve_forever › server.handle_request › app.dispatch › views.search",
        38: "total 599 (54.3% of all, 100.0% of view)  self 0 (0.0%, 0.0%)"
            "  │ function: total 599 (54.3%) self 0 (0.0%)",
    }),
    "time-order-selected": (("1", "j", "j", "l"), {
        1: "whole profile · x: file order (no sample times)",
        38: "total 18 (1.6% of all)  self 0 (0.0%)  │ function: total 911 (82.6%) self 0 (0.0%)",
    }),
    "sandwich-of-frame": (("j", "j", "j", "j", "j", "s"), {
        2: "     self  self%    total total% function                                       callers",
        36: "        0   0.0%      491  44.5% search.rank_results",
    }),
    "search": (("slash", "t", "o", "k", "e", "n", "enter"), {
        36: " token" + " " * 79 + "substring  3 matches (2 functions)",
    }),
}


@pytest.mark.parametrize(("size", "state"), [*(("80x24", s) for s in ROWS_80x24),
                                             *(("120x40", s) for s in ROWS_120x40)])
async def test_what_the_snapshots_show(size: str, state: str) -> None:
    """The rows the snapshots are meant to show, as text: the header keeps the pane, the details
    line the function's totals, the Sandwich its names with `…`, the help whole words."""
    from tests.test_tui.screen_text import screen_lines

    keys, rows = (ROWS_80x24 if size == "80x24" else ROWS_120x40)[state]
    app = example_app()
    async with app.run_test(size=SIZES[size]) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
        shown = screen_lines(app)
        for index, text in rows.items():
            assert shown[index].rstrip() == text, (index, shown[index])


HOT_PATH = ["main", "server.serve_forever", "server.handle_request", "app.dispatch", "views.search",
            "search.rank_results", "search.score", "text.tokenize"]


async def test_example_profile_has_the_documented_hot_path() -> None:
    """Following the heaviest child (`j`) from the root of the example walks its documented hot path."""
    app = example_app()
    seen: list[str] = []
    async with app.run_test(size=SIZES["80x24"]) as pilot:
        for _ in HOT_PATH:
            node = app.left_heavy.selected
            assert node is not None
            seen.append(app.session.group.frames[node.frame].name)
            await pilot.press("j")
    assert seen == HOT_PATH


def test_left_heavy_without_colour(snap_compare: SnapCompare, monkeypatch: pytest.MonkeyPatch) -> None:
    """With NO_COLOR, Left Heavy is grey with readable labels and the selection in reverse video."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(example_app(), press=("j", "j", "j", "j"), terminal_size=SIZES["80x24"])


def _folded_example() -> list[tuple[list[str], int]]:
    """The example profile read by hand (its format is `a;b;c count`): the oracle for the rows below."""
    text = (files("tui") / "examples" / "webapp.folded").read_text()
    out = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            stack, _, count = line.rpartition(" ")
            out.append((stack.split(";"), int(count)))
    return out


def _total_and_self(name: str) -> tuple[int, int]:
    lines = _folded_example()
    return (sum(n for frames, n in lines if name in frames), sum(n for frames, n in lines if frames[-1] == name))


def grand_total() -> int:
    return sum(n for _, n in _folded_example())


def _rows(app: BpfscopeApp) -> list[str]:
    graph = app.current_graph
    if graph is not None:
        return [graph.render_line(y).text.rstrip() for y in range(graph.scrollable_content_region.height)]
    table = app.sandwich.table
    return [table.render_line(y).text.rstrip() for y in range(table.scrollable_content_region.height)]


def _expected_rows() -> dict[str, tuple[str, str, str, dict[int, str]]]:
    """Per snapshot state at 80x24: the pane, the header's first line, the selected function (details
    line) and rows given exactly; weights are counted from the folded file by hand."""
    grand = sum(n for _, n in _folded_example())
    tok_total, tok_self = _total_and_self("text.tokenize")
    header = f"webapp.folded · total {grand:,} samples · "
    return {
        "left-heavy": ("left-heavy", header + "Left Heavy", "main", {0: "main"}),
        "left-heavy-selected": ("left-heavy", header + "Left Heavy", "views.search", {0: "main"}),
        "left-heavy-zoomed": ("left-heavy", header + "Left Heavy", "views.search",
                              dict(enumerate(HOT_PATH[:5]))),
        "time-order": ("time-order", header + "Time Order", "main", {0: "main"}),
        "time-order-selected": ("time-order", header + "Time Order", "server.handle_request", {0: "main"}),
        "sandwich": ("sandwich", header + "Sandwich", "text.tokenize", {
            0: "     self  self%    total total% function",
            1: f"{tok_self:>9} {100 * tok_self / grand:5.1f}%{tok_total:>9} {100 * tok_total / grand:5.1f}%"
               " text.tokenize"}),
        "sandwich-of-frame": ("sandwich", header + "Sandwich", "search.rank_results", {}),
        "search": ("left-heavy", header + "Left Heavy", "main", {0: "main"}),
    }


@pytest.mark.parametrize(("state", "keys"), [(p.id, p.values[0]) for p in PANE_STATES],
                         ids=[p.id for p in PANE_STATES])
async def test_pane_snapshot_shows_the_rows_it_is_meant_to(state: str, keys: tuple[str, ...]) -> None:
    """Each pane snapshot above, paired with the exact text of the rows it is meant to show (at 80x24),
    so accepting a changed SVG cannot silently accept wrong rows."""
    pane, first_line, selected, rows = _expected_rows()[state]
    app = example_app()
    async with app.run_test(size=SIZES["80x24"]) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        assert app.active_pane == pane
        assert str(app.query_one(ProfileHeader).render()).splitlines()[0] == first_line
        details = str(app.query_one(DetailsLine).render()).splitlines()
        assert details[0] == selected
        shown = _rows(app)
        for y, text in rows.items():
            assert shown[y] == text, (y, shown[y])
        if state == "left-heavy-zoomed":  # zoomed on views.search: it fills the width, as its callers do
            total, _ = _total_and_self("views.search")
            assert details[1].startswith(f"total {total} {100 * total / grand_total():.1f}%  self 0 0.0%")
        if state == "sandwich-of-frame":
            assert str(app.query_one(ProfileHeader).render()).splitlines()[1] == "sandwich of search.rank_results"
        if state == "search":
            assert app.match_count == len({f for frames, _ in _folded_example() for f in frames if "token" in f})
