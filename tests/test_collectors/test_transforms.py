"""Focus, hide, collapse and time slices: new profiles with the same weights and times."""

from __future__ import annotations

import pytest

from collectors.diff import diff_functions
from collectors.profile import Frame, Profile, ProfileGroup
from collectors.transforms import (
    Filters,
    TransformError,
    apply_filters,
    collapse,
    extent_slice,
    focus,
    frame_matcher,
    hide,
    keep_only,
    time_slice,
)


def make(stacks: list[tuple[str, float]], times: list[float] | None = None,
         group: ProfileGroup | None = None) -> Profile:
    """A profile from `a;b;c` strings (a frame `name@file` has a file) and weights."""
    group = group or ProfileGroup("test")
    p = group.new_profile("test")
    for i, (text, w) in enumerate(stacks):
        fids = []
        for part in text.split(";") if text else []:
            name, _, file = part.partition("@")
            fids.append(group.frames.intern(Frame(name, file or None)))
        p.add_sample(fids, w, times[i] if times else None)
    return p


def samples(p: Profile) -> list[tuple[str, float]]:
    """Each sample as (`a;b;c`, weight), in order."""
    return [(";".join(p.frames[f].name for f in stack), w) for stack, w in p.iter_samples()]


def test_focus_keeps_only_stacks_through_the_match_rerooted() -> None:
    """Focus drops stacks without a match and cuts the rest to start at the match."""
    p = make([("main;parse;read", 2), ("main;render", 3), ("main;parse", 1)])
    assert samples(focus(p, "parse")) == [("parse;read", 2), ("parse", 1)]


def test_focus_on_recursion_reroots_at_the_outermost_call() -> None:
    """With a recursive function, focus starts the stack at its outermost frame."""
    p = make([("main;f;g;f;h", 1)])
    assert samples(focus(p, "f")) == [("f;g;f;h", 1)]


def test_focus_matches_case_insensitively_on_the_file() -> None:
    """A pattern matches a substring of the frame's file, in any case."""
    p = make([("main;load@/usr/lib/LibFoo.so", 1), ("main;draw@/app/x.py", 1)])
    assert samples(focus(p, "libfoo")) == [("load", 1)]


def test_regex_patterns_and_bad_regex() -> None:
    """`re:` makes a regular expression; an invalid one is a TransformError."""
    p = make([("main;ab", 1), ("main;xab", 1)])
    assert samples(focus(p, "re:^ab$")) == [("ab", 1)]
    with pytest.raises(TransformError, match="regular expression"):
        frame_matcher("re:(")


def test_hide_gives_the_time_to_the_caller() -> None:
    """Hidden frames leave the stack; weights stay on the remaining caller."""
    p = make([("main;lock;spin", 2), ("main;lock", 3), ("main;work", 1)])
    out = hide(p, "lock")
    assert samples(out) == [("main;spin", 2), ("main", 3), ("main;work", 1)]
    assert out.total_weight() == p.total_weight()


def test_hide_removes_every_recursive_occurrence() -> None:
    """Every matching frame goes, however often it recurs."""
    p = make([("main;f;g;f;f;h", 1)])
    assert samples(hide(p, "re:^f$")) == [("main;g;h", 1)]


def test_collapse_merges_consecutive_matches_into_one_frame() -> None:
    """A run of matching frames becomes one frame named by the pattern; separate runs stay separate."""
    p = make([("main;np.dot@numpy/a.py;np.inner@numpy/b.py;cb;np.sum@numpy/c.py", 1)])
    assert samples(collapse(p, "numpy")) == [("main;numpy;cb;numpy", 1)]


def test_collapse_leaves_unmatched_stacks_and_the_input_alone() -> None:
    """Stacks without a match are unchanged, and the input profile keeps its stacks."""
    p = make([("a;b", 1), ("a;lib1;lib2", 2)])
    out = collapse(p, "lib")
    assert samples(out) == [("a;b", 1), ("a;lib", 2)]
    assert samples(p) == [("a;b", 1), ("a;lib1;lib2", 2)]


def test_collapse_takes_an_optional_label() -> None:
    """A label names the merged frame instead of the pattern."""
    p = make([("main;x@lib/a.c;y@lib/b.c", 1)])
    assert samples(collapse(p, "re:^lib/", label="lib/*")) == [("main;lib/*", 1)]


def test_keep_only_gives_the_time_of_other_frames_to_the_nearest_kept_caller() -> None:
    """Only matching frames stay; a stack with none keeps its weight on an empty stack."""
    p = make([("libc;main@app/m.py;json@lib/j.py;parse@app/p.py;scan@lib/s.py", 2), ("libc;poll", 3)])
    out = keep_only(p, "app/")
    assert samples(out) == [("main;parse", 2), ("", 3)]
    assert out.total_weight() == p.total_weight()


def test_extent_slice_keeps_samples_whose_extent_overlaps_the_range() -> None:
    """A sample belongs when [x0, x1) overlaps [start, end): touching an end is not enough."""
    p = make([("a", 1), ("b", 1), ("c", 1), ("d", 1)], times=[0.0, 1.0, 2.0, 3.0])
    out = extent_slice(p, [0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], 1.5, 3.0)
    assert samples(out) == [("b", 1), ("c", 1)]
    assert list(out.times or []) == [1.0, 2.0]


def test_transforms_keep_sample_times() -> None:
    """Transformed profiles keep each surviving sample's time."""
    p = make([("a;x", 1), ("a;y", 1), ("a;x", 1)], times=[1.0, 2.0, 3.0])
    assert list(focus(p, "x").times or []) == [1.0, 3.0]
    assert list(hide(p, "x").times or []) == [1.0, 2.0, 3.0]
    assert list(collapse(p, "a").times or []) == [1.0, 2.0, 3.0]


def test_time_slice_is_relative_to_the_first_sample_and_half_open() -> None:
    """Bounds are seconds after the first sample; start included, end excluded."""
    p = make([("a", 1), ("b", 2), ("c", 3), ("d", 4)], times=[100.0, 100.5, 101.0, 101.5])
    out = time_slice(p, 0.5, 1.5)
    assert samples(out) == [("b", 2), ("c", 3)]
    assert list(out.times or []) == [100.5, 101.0]
    assert samples(time_slice(p, None, 0.6)) == [("a", 1), ("b", 2)]
    assert samples(time_slice(p, 1.0, None)) == [("c", 3), ("d", 4)]


def test_time_slice_refuses_profiles_without_times() -> None:
    """Without sample times there is nothing to slice by: a clear error."""
    p = make([("a", 1)])
    with pytest.raises(TransformError, match="no sample times"):
        time_slice(p, 0.0, 1.0)


def test_apply_filters_uses_the_group_start_for_every_thread() -> None:
    """Threads are sliced on one clock (the group's first sample), then filtered."""
    group = ProfileGroup("g")
    make([("main;x", 1), ("main;y", 1)], times=[10.0, 12.0], group=group)
    make([("main;x", 1), ("main;x", 1)], times=[11.0, 13.0], group=group)
    out = apply_filters(group, Filters(focus="x", start_s=0.5, end_s=2.5))
    assert [samples(p) for p in out.profiles] == [[("x", 1)]]
    assert out.frames is group.frames


def test_diff_shares_are_percent_of_each_total() -> None:
    """diff_functions compares shares, keyed by name and file, largest total change first."""
    base, new = ProfileGroup("base"), ProfileGroup("new")
    make([("main;a", 3), ("main;b", 1)], group=base)
    make([("main;a", 1), ("main;b", 1)], group=new)
    rows = diff_functions(base, new)
    assert [(r.name, r.total_pct_base, r.total_pct_new) for r in rows] == [
        ("a", 75.0, 50.0), ("b", 25.0, 50.0), ("main", 100.0, 100.0)]
    assert rows[0].self_pct_delta == pytest.approx(-25.0)
