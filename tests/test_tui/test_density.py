"""The sample-density strip: exact binning and sparklines, rows per thread, alignment, clicks."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from collectors.calltree import TimeOrderTree
from collectors.profile import Profile, ProfileGroup, Unit
from tests.test_tui.profiles import add
from tui.time_axis import DensityIndex, density_bins, sparkline
from tui.widgets.density import DensityStrip

# --- pure functions --------------------------------------------------------------------


def test_density_bins_sums_weights_per_bin() -> None:
    """Bins [0,1) [1,2) [2,3) [3,4): a sample at exactly hi (4) is left out."""
    assert density_bins([0.0, 1.0, 1.5, 3.9, 4.0], [1, 2, 3, 4, 5], 0.0, 4.0, 4) == [1.0, 5.0, 0.0, 4.0]


def test_density_bins_leaves_out_samples_before_lo() -> None:
    """Only [1, 3) counts: the sample at 0 and those from 3 on are outside."""
    assert density_bins([0.0, 1.0, 1.5, 3.9], [1, 2, 3, 4], 1.0, 3.0, 2) == [5.0, 0.0]


def test_density_bins_accepts_unsorted_times() -> None:
    """Times out of order give the same bins as sorted ones."""
    assert density_bins([3.9, 1.5, 0.0, 1.0], [4, 3, 1, 2], 0.0, 4.0, 4) == [1.0, 5.0, 0.0, 4.0]


def test_density_bins_of_an_empty_interval_are_zero() -> None:
    """hi <= lo gives zero bins of the requested count; no bins gives an empty list."""
    assert density_bins([1.0], [1.0], 2.0, 2.0, 3) == [0.0, 0.0, 0.0]
    assert density_bins([1.0], [1.0], 0.0, 2.0, 0) == []


def test_density_index_bins_again_after_a_pan() -> None:
    """One index binned over two views gives each view's own sums."""
    index = DensityIndex([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    assert index.bins(0.0, 2.0, 2) == [1.0, 2.0]
    assert index.bins(2.0, 4.0, 2) == [3.0, 4.0]
    assert index.total == 10.0


def test_sparkline_eighths_rounded_up() -> None:
    """0 is blank; values are eighths of the peak rounded up; the peak is █."""
    assert sparkline([0.0, 1.0, 2.0, 4.0, 8.0]) == " ▁▂▄█"
    assert sparkline([0.1, 10.0]) == "▁█"


def test_sparkline_with_a_given_peak_and_all_zero() -> None:
    """A shared peak scales every value to it; all-zero values are all blank."""
    assert sparkline([1.0, 2.0], peak=8.0) == "▁▂"
    assert sparkline([0.0, 0.0]) == "  "


# --- the widget ------------------------------------------------------------------------


class StripApp(App[None]):
    def __init__(self, max_rows: int = 4) -> None:
        super().__init__()
        self.max_rows = max_rows
        self.clicks: list[tuple[float, float]] = []

    def compose(self) -> ComposeResult:
        yield DensityStrip(max_rows=self.max_rows)

    def on_density_strip_bin_clicked(self, event: DensityStrip.BinClicked) -> None:
        self.clicks.append((event.start, event.end))


def timed(group: ProfileGroup, name: str, times: list[float]) -> Profile:
    """A thread with one sample of weight 1 at each time."""
    profile = group.new_profile(name, Unit.SECONDS)
    for t in times:
        profile.add_sample([group.frames.intern_name("f")], 1.0, t)
    return profile


async def test_rows_beyond_max_are_summed_into_more() -> None:
    """Five threads in three rows: two as given, then "+3 more" holding the sum of the rest."""
    group = ProfileGroup("threads")
    threads = [timed(group, f"T{i}", [float(i)]) for i in range(5)]
    app = StripApp(max_rows=3)
    async with app.run_test(size=(21, 5)) as pilot:
        strip = app.query_one(DensityStrip)
        strip.set_series([(p.name, p) for p in threads], 0.0, 5.0)
        strip.set_view(0.0, 5.0, columns=5)
        await pilot.pause()
        assert strip.rows == [
            ("T0", [1.0, 0.0, 0.0, 0.0, 0.0]),
            ("T1", [0.0, 1.0, 0.0, 0.0, 0.0]),
            ("+3 more", [0.0, 0.0, 1.0, 1.0, 1.0]),
        ]
        assert strip.size.height == 4  # and the time ruler under them
        assert strip.render_line(3).text.startswith("|0s")


async def test_bins_are_in_time_order_x_units() -> None:
    """Times 10.0, 10.1, 11.5 (x = seconds from the first sample, as TimeOrderTree has them):
    the view [0, 2) in 4 columns bins them at x 0, 0.1 and 1.5."""
    group = ProfileGroup("t")
    profile = timed(group, "main", [10.0, 10.1, 11.5])
    profile.sample_period = 0.05  # short samples: Time Order places each at its own time
    assert TimeOrderTree(profile).x0[2] == pytest.approx(1.5)
    app = StripApp()
    async with app.run_test(size=(21, 3)) as pilot:
        strip = app.query_one(DensityStrip)
        strip.set_series([("main", profile)], 0.0, 2.0)
        strip.set_view(0.0, 2.0, columns=4)
        await pilot.pause()
        assert strip.rows == [("main", [2.0, 0.0, 0.0, 1.0])]


async def test_origin_aligns_threads_to_the_profile_shown() -> None:
    """Thread B starts 1 s after A: with A's first time as the origin, B's sample is at x 1."""
    group = ProfileGroup("t")
    a = timed(group, "A", [5.0])
    b = timed(group, "B", [6.0])
    app = StripApp()
    async with app.run_test(size=(21, 3)) as pilot:
        strip = app.query_one(DensityStrip)
        strip.set_series([("B", b)], 0.0, 2.0, origin=a.times[0] if a.times else None)
        strip.set_view(0.0, 2.0, columns=2)
        await pilot.pause()
        assert strip.rows == [("B", [0.0, 1.0])]


async def test_untimed_profile_bins_by_cumulative_weight() -> None:
    """Without times a sample sits at the weight before it, as in its Time Order (0, 30, 40),
    and counts in the bin where it starts."""
    group = ProfileGroup("u")
    group.new_profile("u")
    add(group, 0, ["a"], 30)
    add(group, 0, ["b"], 10)
    add(group, 0, ["c"], 60)
    app = StripApp()
    async with app.run_test(size=(21, 3)) as pilot:
        strip = app.query_one(DensityStrip)
        strip.set_series([("u", group.profiles[0])], 0.0, 100.0)
        strip.set_view(0.0, 100.0, columns=4)
        await pilot.pause()
        assert strip.rows == [("u", [30.0, 70.0, 0.0, 0.0])]


async def test_default_columns_leave_the_graph_gutter() -> None:
    """Without `columns` the strip bins its width less one cell (the graph's scrollbar gutter)."""
    group = ProfileGroup("t")
    profile = timed(group, "m", [0.0])
    app = StripApp()
    async with app.run_test(size=(21, 3)) as pilot:
        strip = app.query_one(DensityStrip)
        strip.set_series([("m", profile)], 0.0, 1.0)
        await pilot.pause()
        assert len(strip.rows[0][1]) == 20


async def test_row_text_is_label_then_sparkline() -> None:
    """A row reads: label, a space, then the bars of the bins after the label's cells."""
    group = ProfileGroup("t")
    profile = timed(group, "T", [0.0, 2.0, 3.0, 3.5, 4.0, 4.2, 4.4, 4.6])
    app = StripApp()
    async with app.run_test(size=(9, 3)) as pilot:
        strip = app.query_one(DensityStrip)
        strip.set_series([("T", profile)], 0.0, 8.0)
        strip.set_view(0.0, 8.0, columns=8)
        await pilot.pause()
        # bins [1, 0, 1, 2, 4, 0, 0, 0], peak 4: "▂ ▂▄█   "; "T " covers the first two; a gutter cell.
        assert strip.render_line(0).text == "T ▂▄█    "


async def test_range_is_marked_under_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under NO_COLOR the bins inside the graph's time range are underlined, the others not."""
    monkeypatch.setenv("NO_COLOR", "1")
    group = ProfileGroup("t")
    profile = timed(group, "T", [float(t) for t in range(8)])
    app = StripApp()
    async with app.run_test(size=(9, 3)) as pilot:
        strip = app.query_one(DensityStrip)
        strip.set_series([("T", profile)], 0.0, 8.0)
        strip.set_view(0.0, 8.0, columns=8)
        strip.set_range((4.0, 6.0))
        await pilot.pause()
        underlined = [bool(seg.style and seg.style.underline) for seg in strip.render_line(0) for _ in seg.text]
        assert underlined == [False] * 4 + [True] * 2 + [False] * 3


async def test_range_is_tinted_in_colour() -> None:
    """In colour the bins inside the range have another background than those outside."""
    group = ProfileGroup("t")
    profile = timed(group, "T", [float(t) for t in range(8)])
    app = StripApp()
    async with app.run_test(size=(9, 3)) as pilot:
        strip = app.query_one(DensityStrip)
        strip.set_series([("T", profile)], 0.0, 8.0)
        strip.set_view(0.0, 8.0, columns=8)
        strip.set_range((4.0, 6.0))
        await pilot.pause()
        cells = [seg.style.bgcolor if seg.style else None for seg in strip.render_line(0) for _ in seg.text]
        assert cells[4] == cells[5] != cells[3]
        assert cells[6] == cells[3]


async def test_click_posts_the_bin_extent() -> None:
    """A click on column 5 of [0, 8) in 8 bins posts [5, 6)."""
    group = ProfileGroup("t")
    profile = timed(group, "T", [0.0])
    app = StripApp()
    async with app.run_test(size=(9, 3)) as pilot:
        strip = app.query_one(DensityStrip)
        strip.set_series([("T", profile)], 0.0, 8.0)
        strip.set_view(0.0, 8.0, columns=8)
        await pilot.pause()
        await pilot.click(DensityStrip, offset=(5, 0))
        assert app.clicks == [(5.0, 6.0)]
