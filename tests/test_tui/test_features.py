"""The profile screen's feature objects on their own, without Textual: search (`tui.search`),
the comparison with a baseline (`tui.comparison`), the live driver (`tui.live_driver`) and
what the panes show (`tui.shown_panes`)."""

from __future__ import annotations

import dataclasses

import pytest

from collectors.formats import folded
from collectors.live.base import SETTLE_S, WINDOW_STACKS, Target
from tests.test_tui.fake_collector import FakeCollector
from tests.test_tui.test_live import Clock
from tui.chips import parse_filter
from tui.comparison import Compared, CompareJob, Comparison
from tui.live import LiveRun
from tui.live_aggregate import LiveAggregator, LiveRequest, LiveUpdate
from tui.live_driver import LIVE_BUSY_FACTOR, LIVE_SANDWICH_TICK, LIVE_TICK, LiveDriver
from tui.search import Search
from tui.session import Session
from tui.shown_panes import ShownPanes
from tui.views import without_repeats

BASE = "main;parse 30\nmain;parse;lex 10\nmain;render 60\n"
NEW = "main;render 20\nmain;parse 50\nmain;parse;lex 10\nmain;net 20\n"


def fid(session: Session, name: str) -> int:
    return next(i for i, f in enumerate(session.group.frames) if f.name == name)


# --- search ---------------------------------------------------------------------------------


def test_search_matches_names_without_case_and_counts_them() -> None:
    s = Session(folded.read("Main;Parse 3\nmain;render 1\nmain;PARSER_init 2\n", "x.folded"))
    search = Search()
    assert search.apply(s, "parse", regex=False) == {fid(s, "Parse"), fid(s, "PARSER_init")}
    assert search.count == 2 and search.error is None
    assert search.apply(s, "", regex=False) is None and search.count is None


def test_search_matches_only_frames_of_the_shown_view() -> None:
    """Once the view's totals are known, a frame hidden by a filter (or of another thread) does
    not match: the count says what `n` can reach."""
    s = Session(folded.read(NEW, "new.folded"))
    search = Search()
    assert search.apply(s, "n", regex=False) == {fid(s, "main"), fid(s, "render"), fid(s, "net")}
    assert s.add_chip(parse_filter("hide net"))
    _ = s.current.totals
    assert search.apply(s, "n", regex=False) == {fid(s, "main"), fid(s, "render")}


def test_a_bad_regex_matches_nothing_and_says_why() -> None:
    s = Session(folded.read(NEW, "new.folded"))
    search = Search()
    search.apply(s, "par", regex=False)
    assert search.apply(s, "par(", regex=True) is None
    assert search.error is not None and search.error.startswith("bad regex: ")
    assert search.apply(s, "^par", regex=True) == {fid(s, "parse")} and search.error is None


@pytest.mark.parametrize(("current", "backwards", "expected"), [
    (None, False, 2), (2, False, 5), (5, False, 2),  # forwards, wrapping round
    (None, True, 5), (5, True, 2), (2, True, 5),  # backwards, wrapping round
    (3, False, 5), (3, True, 2),  # from a function that does not match
    (99, False, 2),  # from one no longer listed: the first
])
def test_next_function_steps_through_matches_in_table_order(current: int | None, backwards: bool,
                                                            expected: int) -> None:
    search = Search()
    search.matches = frozenset({2, 5, 8})  # 8 is not listed in the table
    assert search.next_function([7, 2, 3, 5, 1], current, backwards) == expected


def test_next_function_without_a_listed_match_is_none() -> None:
    search = Search()
    assert search.next_function([1, 2], None, False) is None
    search.matches = frozenset({9})
    assert search.next_function([1, 2], 1, False) is None


# --- comparison -----------------------------------------------------------------------------


def compared_pair(sync_stacks: int = 1_000) -> tuple[Comparison, Session]:
    base, new = folded.read(BASE, "base.folded"), folded.read(NEW, "new.folded")
    return Comparison(base, sync_stacks), Session(new)


def test_a_diff_compares_from_the_start_and_once_per_view() -> None:
    comparison, s = compared_pair()
    assert comparison.comparing and comparison.has_baseline
    first = comparison.compare(s, live=False, live_on_worker=False)
    assert isinstance(first, Compared) and first.derived is s.current
    assert comparison.compare(s, live=False, live_on_worker=False) is first, "built once per view"
    main, render = fid(s, "main"), fid(s, "render")
    # render: 60 % of the base, 20 % of the new profile
    assert first.diff.path_change([main, render]).delta == pytest.approx(-40.0)
    assert comparison.label(live=False) == "compared with base.folded"


def test_the_comparison_follows_the_views_filters_on_both_sides() -> None:
    comparison, s = compared_pair()
    assert s.add_chip(parse_filter("focus parse"))
    compared = comparison.compare(s, live=False, live_on_worker=False)
    assert isinstance(compared, Compared)
    assert compared.base.total_weight() == 40, "the base focused on parse: 30 + lex 10"
    parse, lex = fid(s, "parse"), fid(s, "lex")
    # parse;lex: 10 of 40 in the focused base, 10 of 60 in the focused new profile
    assert compared.diff.path_change([parse, lex]).delta == pytest.approx(100 / 6 - 25)


def test_not_comparing_or_no_baseline_gives_nothing() -> None:
    comparison, s = compared_pair()
    comparison.comparing = False
    assert comparison.compare(s, live=False, live_on_worker=False) is None
    none = Comparison(None)
    assert not none.comparing and not none.has_baseline
    none.comparing = True
    assert none.compare(s, live=False, live_on_worker=False) is None


def test_a_big_pair_is_a_job_once_and_lands_only_while_still_wanted() -> None:
    comparison, s = compared_pair(sync_stacks=2)
    job = comparison.compare(s, live=False, live_on_worker=False)
    assert isinstance(job, CompareJob)
    assert comparison.compare(s, live=False, live_on_worker=False) is None, "on its way: not started twice"
    compared, shares = job.build()
    assert comparison.landed(job, compared, shares, s.current)
    assert comparison.current is compared and comparison.job is None
    assert comparison.function_shares(compared) is shares, "the worker's shares are kept"
    # A job whose view changed meanwhile is dropped.
    comparison.changed()
    job = comparison.compare(s, live=False, live_on_worker=False)
    assert isinstance(job, CompareJob)
    assert s.add_chip(parse_filter("hide net"))
    assert not comparison.landed(job, *job.build(), s.current)
    assert comparison.current is None
    # And so is one that `changed` superseded.
    job = comparison.compare(s, live=False, live_on_worker=False)
    assert isinstance(job, CompareJob)
    comparison.changed()
    assert not comparison.landed(job, *job.build(), s.current)


def test_function_shares_are_computed_once_per_comparison() -> None:
    comparison, s = compared_pair()
    compared = comparison.compare(s, live=False, live_on_worker=False)
    assert isinstance(compared, Compared)
    shares = comparison.function_shares(compared)
    assert comparison.function_shares(compared) is shares
    comparison.changed()
    again = comparison.compare(s, live=False, live_on_worker=False)
    assert isinstance(again, Compared) and again is not compared
    assert comparison.function_shares(again) is not shares


def test_a_base_of_many_threads_is_compared_merged() -> None:
    base = folded.read(BASE, "base.folded")
    base.new_profile("second thread", base.profiles[0].unit)
    base.profiles[1].add_sample([base.frames.intern(base.frames[0])], 100.0)
    comparison = Comparison(base)
    merged = comparison.baseline(live=False)
    assert merged is not None and merged.total_weight() == 200
    assert comparison.baseline(live=False) is merged, "merged once"
    assert comparison.baseline(live=True) is None, "live, the baseline is the mark"


# --- the live driver ------------------------------------------------------------------------


def live_driver(sync_samples: int = 50) -> tuple[LiveDriver, FakeCollector, Clock]:
    clock = Clock()
    collector = FakeCollector(Target.for_pid(4242))
    collector.start()
    driver = LiveDriver(clock, sync_samples)
    driver.begin(LiveRun(collector))
    return driver, collector, clock


def built(driver: LiveDriver, paused: bool = False) -> tuple[LiveAggregator, LiveUpdate]:
    """What `live_control` does for one update: the request from the driver's flags, built."""
    aggregator = driver.aggregator
    assert aggregator is not None
    mark = driver.take_mark()
    request = LiveRequest(None, mark=mark) if paused else LiveRequest(KEY, mark=mark, force=driver.take_force())
    return aggregator, aggregator.update(request)


KEY = Session(folded.read(NEW, "new.folded")).key


def test_a_new_run_is_due_at_once_and_builds_without_new_samples() -> None:
    driver, _, _ = live_driver()
    assert driver.due() and driver.ask(force=False)
    aggregator, update = built(driver)
    assert update.session is not None, "the first update builds, even empty"
    assert driver.landed(aggregator, update)


def test_the_next_update_waits_the_tick_and_longer_after_a_slow_one() -> None:
    driver, collector, clock = live_driver()
    collector.feed(["main", "work"], 3)
    aggregator, update = built(driver)
    assert driver.landed(aggregator, update) and driver.samples == 3
    driver.timed(update, swapped=0.01, on_worker=False, sandwich=False)
    assert not driver.due()
    clock.now += LIVE_TICK
    assert driver.due()
    # A slow swap-in (0.2 s of the UI thread) waits four times as long.
    driver.timed(update, swapped=0.2 - update.seconds, on_worker=False, sandwich=False)
    assert driver.rebuild_seconds == pytest.approx(0.2)
    clock.now += LIVE_BUSY_FACTOR * 0.2 - 0.01
    assert not driver.due()
    clock.now += 0.02
    assert driver.due()
    # Paused, batches are applied at once (nothing is built).
    driver.timed(update, swapped=0.0, on_worker=False, sandwich=True)
    assert not driver.due()
    driver.set_paused(True)
    assert driver.due()


def test_the_sandwich_refills_at_most_once_a_second() -> None:
    driver, _, clock = live_driver()
    aggregator, update = built(driver)
    driver.landed(aggregator, update)
    driver.timed(update, swapped=0.0, on_worker=False, sandwich=True)
    clock.now += LIVE_SANDWICH_TICK - 0.01
    assert not driver.due()
    clock.now += 0.02
    assert driver.due()


def test_one_update_at_a_time_and_one_asked_meanwhile_follows_it_forced() -> None:
    driver, collector, _ = live_driver(sync_samples=0)
    collector.feed(["main"], 1)
    assert driver.on_worker, "above sync_samples (counting what the collector gathered)"
    assert driver.ask(force=False)
    aggregator = driver.aggregator
    assert aggregator is not None
    request = LiveRequest(KEY, force=driver.take_force())
    driver.job = request  # on a worker
    assert not driver.due()
    driver.set_paused(True)
    assert not driver.due(), "paused too: one at a time"
    driver.set_paused(False)
    assert not driver.ask(force=True), "one is being built: this one follows"
    update = aggregator.update(request)
    assert driver.landed(aggregator, update) and driver.job is None
    assert driver.take_again() and not driver.take_again()
    assert driver.take_force(), "the follower builds even without new samples"


def test_an_update_of_an_earlier_run_is_dropped() -> None:
    driver, _, _ = live_driver()
    old, update = built(driver)
    driver.begin(LiveRun(FakeCollector(Target.for_pid(4343))))
    assert not driver.landed(old, update)
    assert driver.samples == 0


def test_b_marks_the_baseline_with_the_next_update_only() -> None:
    driver, collector, _ = live_driver()
    collector.feed(["main"], 4)
    driver.mark_wanted = True
    _, update = built(driver)
    assert update.baseline is not None and update.baseline.mark == 4
    _, update = built(driver)
    assert not update.marked


def test_the_end_and_the_hint_are_noted_once() -> None:
    driver, collector, _ = live_driver()
    assert not driver.ended_now()
    driver.take_force()
    collector.exit("gone")
    assert driver.ended_now() and driver.take_force(), "its last samples: applied whatever the pause"
    assert not driver.ended_now()
    assert driver.hint_now() is None
    collector.now = SETTLE_S  # the window judged starts here
    collector._stats = dataclasses.replace(collector.stats, user_stacks=100, truncated_stacks=90)
    assert driver.hint_now() is None
    collector._stats = dataclasses.replace(collector.stats, user_stacks=200, truncated_stacks=180)
    assert driver.hint_now() == pytest.approx(0.9)
    assert driver.hint_now() is None


def stats_at(collector: FakeCollector, seconds: float, users: int, cut: int) -> None:
    collector.now = seconds
    collector._stats = dataclasses.replace(collector.stats, user_stacks=users, truncated_stacks=cut)


def test_the_first_seconds_of_stacks_are_not_judged_cut_short() -> None:
    """A launched command's first stacks are cut short whatever it was built with (its exec, its
    unwind tables loading): they give no hint. Windows of `WINDOW_STACKS` user stacks judged
    after `SETTLE_S` do, each on its own."""
    driver, collector, _ = live_driver()
    run = driver.run
    assert run is not None
    stats_at(collector, 1.0, 80, 80)  # all cut short, while settling
    assert driver.hint_now() is None and not run.cut_short
    stats_at(collector, SETTLE_S, 200, 100)
    assert driver.hint_now() is None and run.cut_share() is None, "no window judged yet"
    stats_at(collector, SETTLE_S + 1, 200 + WINDOW_STACKS - 1, 100)
    assert run.cut_share() is None, "a window holds WINDOW_STACKS user stacks"
    stats_at(collector, SETTLE_S + 2, 200 + WINDOW_STACKS, 105)
    assert run.cut_share() == pytest.approx(0.05) and driver.hint_now() is None
    stats_at(collector, SETTLE_S + 3, 200 + 3 * WINDOW_STACKS, 105 + WINDOW_STACKS)
    assert run.cut_share() == pytest.approx(0.5), "this window alone: half of it cut short"
    assert driver.hint_now() == pytest.approx(0.5) and driver.hint_now() is None


def test_resuming_builds_at_once() -> None:
    driver, _, _ = live_driver()
    aggregator, update = built(driver)
    driver.landed(aggregator, update)
    driver.timed(update, swapped=1.0, on_worker=False, sandwich=False)
    assert not driver.due()
    driver.set_paused(True)
    assert not driver.take_force(), "pausing asks for nothing"
    driver.set_paused(False)
    assert driver.due() and driver.take_force()


# --- what the panes show --------------------------------------------------------------------


def test_an_unchanged_tree_is_not_shown_again_and_places_carry_to_shown_panes_only() -> None:
    panes = ShownPanes()
    tree, other = object(), object()
    assert panes.show_tree("left-heavy", tree)
    assert not panes.show_tree("left-heavy", tree), "same tree: the pane keeps its zoom"
    assert panes.show_tree("left-heavy", other)
    panes.carry(without_repeats)
    assert panes.take_carried("left-heavy") is without_repeats
    assert panes.take_carried("left-heavy") is None, "carried once"
    assert panes.take_carried("time-order") is None, "never shown: nothing to carry"
    panes.loaded.update({"left-heavy", "sandwich"})
    panes.view_changed()
    assert not panes.loaded
