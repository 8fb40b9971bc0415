"""The profile screen's feature objects on their own, without Textual: search (`tui.search`),
the comparison with a baseline (`tui.comparison`), the live driver (`tui.live_driver`) and
what the panes show (`tui.pane_state`)."""

from __future__ import annotations

import pytest

from collectors.formats import folded
from tui.chips import parse_filter
from tui.comparison import Compared, CompareJob, Comparison
from tui.search import Search
from tui.session import Session

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
