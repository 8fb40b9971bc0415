"""The pure layout functions: rows of spans, labels fitted by cells, zoom/pan arithmetic."""

from __future__ import annotations

import random

import pytest

from collectors.calltree import TimeOrderTree, left_heavy
from collectors.profile import FrameTable
from tests.test_tui.profiles import small_group
from tui.views import (
    FlameNode,
    Span,
    Viewport,
    fit_label,
    grouped_model,
    layout_rows,
    next_match,
    panned_view,
    row_text,
    scaled_view,
    time_order_model,
)


def _names(frames: FrameTable, rows: list[list[Span]]) -> list[list[tuple[int, int, str]]]:
    return [[(s.col_start, s.col_end, frames[s.node.frame].name) for s in row] for row in rows]


def test_left_heavy_rows_at_40_cells() -> None:
    """Left heavy at 40 cells: widths by weight, heaviest child first, ties in first-seen order."""
    group = small_group()
    model = grouped_model(left_heavy(group.profiles[0]))
    rows = layout_rows(model, Viewport(model.start, model.end), 40)
    assert _names(group.frames, rows) == [
        [(0, 40, "main")],
        [(0, 16, "a"), (16, 32, "d")],
        [(0, 12, "b"), (12, 16, "c")],
    ]


def test_row_text_exact() -> None:
    """Each frame's name fills its cells, its last cell left blank; the rest of the row is blank."""
    group = small_group()
    model = grouped_model(left_heavy(group.profiles[0]))
    rows = layout_rows(model, Viewport(model.start, model.end), 40)

    def label(n: FlameNode) -> str:
        return group.frames[n.frame].name

    assert [row_text(r, 40, label) for r in rows] == [
        "main" + " " * 36,
        "a" + " " * 15 + "d" + " " * 23,
        "b" + " " * 11 + "c" + " " * 3 + " " * 24,
    ]


def test_frames_narrower_than_a_cell_are_dropped() -> None:
    """At 8 cells c (10% = 0.8 cells) is not drawn; its parent a still spans its full width."""
    group = small_group()
    model = grouped_model(left_heavy(group.profiles[0]))
    rows = layout_rows(model, Viewport(model.start, model.end), 8)
    names = _names(group.frames, rows)
    assert names[1][0] == (0, 3, "a")
    assert [n for _, _, n in names[2]] == ["b"]


def test_zoomed_view_clips_ancestors_and_drops_outsiders() -> None:
    """Zoomed into a: main and a fill the width, d (outside the view) is gone."""
    group = small_group()
    model = grouped_model(left_heavy(group.profiles[0]))
    a = model.children(model.children(model.root)[0])[0]
    rows = layout_rows(model, Viewport(a.start, a.end, a), 40)
    assert _names(group.frames, rows) == [
        [(0, 40, "main")],
        [(0, 40, "a")],
        [(0, 30, "b"), (30, 40, "c")],
    ]


def test_time_order_rows_follow_sample_order() -> None:
    """Time order without timestamps: x is cumulative weight, runs in sample order."""
    group = small_group()
    model = time_order_model(TimeOrderTree(group.profiles[0]))
    rows = layout_rows(model, Viewport(model.start, model.end), 40)
    assert _names(group.frames, rows)[1] == [(0, 16, "a"), (16, 32, "d")]


def test_fit_label_counts_wide_characters_as_two_cells() -> None:
    """CJK names are cut by display width and padded to the exact cell count."""
    from rich.cells import cell_len

    for cells in range(1, 12):
        assert cell_len(fit_label("函数名字很长", cells)) == cells
    assert fit_label("函数名字很长", 6) == "函数… "
    assert fit_label("abcdef", 4) == "ab… "
    assert fit_label("abc", 4) == "abc "
    assert fit_label("abc", 1) == "a"


def test_next_match_wraps_around_in_preorder() -> None:
    """n walks matches in pre-order and wraps; N goes the other way."""
    group = small_group()
    model = grouped_model(left_heavy(group.profiles[0]))
    ids = {group.frames[i].name: i for i in range(len(group.frames))}
    wanted = {ids["b"], ids["d"]}
    first = next_match(model, None, wanted.__contains__)
    assert first is not None and group.frames[first.frame].name == "b"
    second = next_match(model, first, wanted.__contains__)
    assert second is not None and group.frames[second.frame].name == "d"
    third = next_match(model, second, wanted.__contains__)
    assert third is first
    back = next_match(model, first, wanted.__contains__, backwards=True)
    assert back is second


def test_scaled_and_panned_views_stay_inside_the_profile() -> None:
    """Zooming halves the width around the centre; panning stops at the edges."""
    v = scaled_view(Viewport(0, 100), 0.5, 50, 0, 100)
    assert (v.start, v.end) == (25, 75)
    v = panned_view(v, 2.0, 0, 100)
    assert (v.start, v.end) == (50, 100)
    v = scaled_view(v, 4.0, 75, 0, 100)
    assert (v.start, v.end) == (0, 100)


class _CountedNode:
    """A flame node that counts how often its position is read."""

    reads = 0

    def __init__(self, frame: int, depth: int, start: float, end: float) -> None:
        self.frame, self.depth, self._start, self._end = frame, depth, start, end

    @property
    def start(self) -> float:
        _CountedNode.reads += 1
        return self._start

    @property
    def end(self) -> float:
        _CountedNode.reads += 1
        return self._end


def test_layout_of_a_narrow_view_reads_only_nearby_siblings() -> None:
    """Zoomed into 10 of a node's 100,000 children (a short stretch of Time Order), the layout
    finds them by bisection and stops after them, instead of reading every sibling; the rows
    are the same as a full scan's."""
    from tui.views import FlameModel

    kids = [_CountedNode(i, 0, float(i), float(i + 1)) for i in range(100_000)]
    root = _CountedNode(-1, -1, 0.0, 100_000.0)
    model = FlameModel(root, lambda n: kids if n is root else [], lambda n: None if n is root else root,
                       "time-order")
    _CountedNode.reads = 0
    rows = layout_rows(model, Viewport(50_000.0, 50_010.0), 80)
    assert [(s.col_start, s.col_end, s.node.frame) for s in rows[0]] == [
        (8 * i, 8 * i + 8, 50_000 + i) for i in range(10)]
    assert _CountedNode.reads < 200


def _alternating_tree(rng: random.Random, count: int, timed: bool) -> TimeOrderTree:
    """Thousands of short runs under one root (two threads' stacks interleaved), with gaps,
    equal widths and zero weights: what makes cells crowded."""
    from collectors.profile import Frame, ProfileGroup

    group = ProfileGroup("crowd")
    names = [group.frames.intern(Frame(f"f{i}")) for i in range(6)]
    p = group.new_profile("all threads")
    p.sample_period = 0.001 if timed else None
    t = 0.0
    for _ in range(count):
        stack = (names[0], names[rng.randrange(1, 3)], *[names[rng.randrange(3, 6)] for _ in range(rng.randrange(2))])
        w = rng.choice((1.0, 1.0, 2.0, 0.5, 0.0)) if not timed else 1.0
        p.add_sample(stack, w, t if timed else None)
        t += 0.001 if rng.random() < 0.9 else rng.uniform(0.0005, 0.05)
    return TimeOrderTree(p)


def test_crowded_cells_taken_a_cell_at_a_time_give_the_step_by_step_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Time Order's long sibling lists are walked a cell at a time (bisection and `max`): for
    random trees, views and widths, exactly the rows of the walk that takes one run at a time
    (the spans, and in each crowded cell the same run)."""
    import random

    import tui.views as views

    rng = random.Random(17)
    checked = 0
    for trial in range(40):
        tree = _alternating_tree(rng, rng.randrange(200, 3000), timed=trial % 2 == 0)
        model = time_order_model(tree)
        for _ in range(5):
            a = rng.uniform(-0.1, 0.9) * model.end
            b = a + rng.uniform(0.001, 1.2) * model.end
            view = rng.choice((Viewport(model.start, model.end), Viewport(a, b)))
            width = rng.choice((1, 7, 40, 80, 213))
            monkeypatch.setattr(views, "_CROWDS_FROM", 10**9)
            one_by_one = [[(s.col_start, s.col_end, id(s.node)) for s in row]
                          for row in layout_rows(model, view, width)]
            monkeypatch.setattr(views, "_CROWDS_FROM", 0)
            by_cell = [[(s.col_start, s.col_end, id(s.node)) for s in row] for row in layout_rows(model, view, width)]
            assert by_cell == one_by_one, (trial, view, width)
            checked += sum(len(r) for r in by_cell)
    assert checked > 10_000
