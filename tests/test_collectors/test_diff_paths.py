"""Per call path share changes (`PathDiff`, `NodeShares`) and `profile_slice`, on small folded profiles."""

from __future__ import annotations

import pytest

from collectors.calltree import GroupedNode, TimeOrderTree, left_heavy
from collectors.diff import (
    NodeShares,
    PathDiff,
    TreeNode,
    diff_functions,
    function_shares,
    only_in_base,
    profile_slice,
)
from collectors.formats import folded
from collectors.profile import Frame, ProfileGroup

BASE = "main;parse 30\nmain;parse;lex 10\nmain;render 60\n"
NEW = "main;render 20\nmain;parse 50\nmain;parse;lex 10\nmain;net 20\n"


def path(group: ProfileGroup, names: str) -> list[int]:
    out = []
    for n in names.split(";"):
        fid = group.frames.find(Frame(n))
        assert fid is not None, n
        out.append(fid)
    return out


def test_path_shares_in_percent_of_each_total() -> None:
    """Each path's share is of its own profile's total (base 100, new 100 here with different mixes)."""
    base, new = folded.read(BASE), folded.read(NEW)
    d = PathDiff(base.profiles[0], new.profiles[0])
    parse = d.path_change(path(new, "main;parse"))
    assert (parse.base_pct, parse.new_pct, parse.delta) == pytest.approx((40.0, 60.0, 20.0))
    render = d.path_change(path(new, "main;render"))
    assert (render.base_pct, render.new_pct, render.delta) == pytest.approx((60.0, 20.0, -40.0))
    lex = d.path_change(path(new, "main;parse;lex"))
    assert (lex.base_pct, lex.new_pct) == pytest.approx((10.0, 10.0))
    assert d.path_change(path(new, "main")).delta == pytest.approx(0.0)


def test_a_path_only_in_new_grew_from_zero() -> None:
    """A call path the base never had counts as 0 % before."""
    base, new = folded.read(BASE), folded.read(NEW)
    net = PathDiff(base.profiles[0], new.profiles[0]).path_change(path(new, "main;net"))
    assert (net.base_pct, net.new_pct, net.delta) == pytest.approx((0.0, 20.0, 20.0))


def test_paths_match_by_name_and_file_across_frame_tables() -> None:
    """Frame ids differ between the files (other order, an extra line number): paths still line up."""
    base = ProfileGroup("base")
    b = base.new_profile("b")
    b.add_sample([base.frames.intern(Frame("zzz")), base.frames.intern(Frame("main", "m.c", 3)),
                  base.frames.intern(Frame("f", "m.c", 10))], 1)
    b.add_sample([base.frames.intern(Frame("main", "m.c", 3))], 3)
    new = ProfileGroup("new")
    n = new.new_profile("n")
    main, f = new.frames.intern(Frame("main", "m.c", 7)), new.frames.intern(Frame("f", "m.c", 12))
    n.add_sample([main, f], 1)
    d = PathDiff(b, n)
    assert d.path_change([main]).base_pct == pytest.approx(75.0)
    assert d.path_change([main, f]).base_pct == pytest.approx(0.0)  # in base, main;f sits under zzz


def test_same_key_frames_merge_into_one_path() -> None:
    """Two frames of one function (different lines) are one path node when matching."""
    group = ProfileGroup("g")
    p = group.new_profile("p")
    a1, a2 = group.frames.intern(Frame("a", "x.c", 1)), group.frames.intern(Frame("a", "x.c", 2))
    p.add_sample([a1], 1)
    p.add_sample([a2], 3)
    d = PathDiff(p, p)
    assert d.path_change([a1]).new_pct == pytest.approx(100.0)
    assert d.path_change([a2]).base_pct == pytest.approx(100.0)


def test_node_shares_follow_left_heavy_and_time_order_nodes() -> None:
    """A Left Heavy node and a Time Order run get the share change of their whole call path."""
    base, new = folded.read(BASE), folded.read(NEW)
    d = PathDiff(base.profiles[0], new.profiles[0])
    tree = left_heavy(new.profiles[0])

    def lh_parent(node: TreeNode) -> TreeNode | None:
        assert isinstance(node, GroupedNode)
        return node.parent

    shares = NodeShares(d, lh_parent)
    got = {new.frames[n.frame].name: round(shares.change(n).delta, 6) for n in tree.walk()}
    assert got == {"main": 0.0, "parse": 20.0, "lex": 0.0, "render": -40.0, "net": 20.0}
    order = TimeOrderTree(new.profiles[0])
    runs = NodeShares(d, order.parent)
    assert {new.frames[n.frame].name: round(runs.change(n).delta, 6) for n in order.walk()} == got


def test_node_shares_walk_deep_paths_without_recursion() -> None:
    """A node 20,000 frames deep gets its change without RecursionError."""
    group = ProfileGroup("deep")
    p = group.new_profile("p")
    p.add_sample([group.frames.intern(Frame(f"f{i}")) for i in range(20_000)], 1)
    tree = left_heavy(p)
    node = tree.root
    for _ in range(20_000):
        node = node.children[0]
    shares = NodeShares(PathDiff(p, p), lambda n: n.parent)
    assert shares.change(node).delta == pytest.approx(0.0)
    assert shares.change(node).new_pct == pytest.approx(100.0)


def test_describe_says_base_new_and_change() -> None:
    """The details line text: base and new share with the signed change."""
    base, new = folded.read(BASE), folded.read(NEW)
    change = PathDiff(base.profiles[0], new.profiles[0]).path_change(path(new, "main;parse"))
    assert change.describe() == "base 40.0 % → new 60.0 % (+20.0)"


def test_profile_slice_keeps_the_samples_between() -> None:
    """A slice holds samples start..stop with their times, sharing the stack table."""
    group = ProfileGroup("g")
    p = group.new_profile("p")
    a, b = group.frames.intern(Frame("a")), group.frames.intern(Frame("b"))
    for i, s in enumerate(([a], [a, b], [b], [a])):
        p.add_sample(s, 1.0 + i, 0.5 * i)
    after = profile_slice(p, 1)
    assert [(list(s), w) for s, w in after.iter_samples()] == [([a, b], 2.0), ([b], 3.0), ([a], 4.0)]
    assert after.times is not None and list(after.times) == [0.5, 1.0, 1.5]
    assert after.stacks is p.stacks
    before = profile_slice(p, 0, 1)
    assert before.sample_count == 1 and before.total_weight() == 1.0


def test_function_rows_unchanged_for_json() -> None:
    """The per-function rows `diff --json` prints keep their values (total 40 → 60 for parse)."""
    rows = {r.name: r for r in diff_functions(folded.read(BASE), folded.read(NEW))}
    assert (rows["parse"].total_pct_base, rows["parse"].total_pct_new) == pytest.approx((40.0, 60.0))
    assert (rows["parse"].self_pct_base, rows["parse"].self_pct_new) == pytest.approx((30.0, 50.0))


def test_function_shares_count_a_function_once_per_sample_across_its_frames() -> None:
    """Two frames of one (name, file) on one stack count once in its total, as a recursive call does."""
    from collectors.diff import function_shares

    group = ProfileGroup("g")
    p = group.new_profile("p")
    a1, a2 = group.frames.intern(Frame("a", "x.c", 1)), group.frames.intern(Frame("a", "x.c", 2))
    b = group.frames.intern(Frame("b", "x.c", 5))
    p.add_sample([a1, b, a2], 3)
    p.add_sample([b], 1)
    shares = function_shares(group)
    assert shares.total_pct[("a", "x.c")] == pytest.approx(75.0)
    assert shares.self_pct[("a", "x.c")] == pytest.approx(75.0)
    assert shares.total_pct[("b", "x.c")] == pytest.approx(100.0)


def test_live_baseline_splits_at_the_mark_and_follows_new_samples() -> None:
    """`before` keeps the samples up to the mark; `sync` copies later samples into `after`."""
    from collectors.diff import LiveBaseline

    group = ProfileGroup("g")
    p = group.new_profile("p")
    a, b = group.frames.intern(Frame("a")), group.frames.intern(Frame("b"))
    p.add_sample([a], 1, 0.0)
    p.add_sample([a, b], 1, 0.1)
    mark = LiveBaseline(p)
    assert (mark.mark, mark.before.sample_count, mark.after.sample_count) == (2, 2, 0)
    p.add_sample([b], 1, 0.2)
    p.add_sample([a], 1, 0.3)
    assert mark.sync() == 2 and mark.sync() == 0
    assert [list(s) for s, _ in mark.after.iter_samples()] == [[b], [a]]
    assert mark.after.times is not None and list(mark.after.times) == [0.2, 0.3]
    assert mark.before.sample_count == 2


def test_only_in_base_lists_what_vanished() -> None:
    """The base's functions missing from the given keys, in the base's order; none otherwise."""
    base = folded.read(BASE + "main;gc 100\n")
    shares = function_shares(base)
    assert only_in_base(shares, {("main", None), ("parse", None), ("lex", None)}) == [("render", None), ("gc", None)]
    assert only_in_base(shares, set(shares.total_pct)) == []


def test_expand_groups_every_path_down_to_the_share() -> None:
    """`expand` groups the paths of at least the share now (both sides), and not the thinner ones."""
    base, new = folded.read(BASE), folded.read(NEW + "main;tiny;deeper 1\n")
    d = PathDiff(base.profiles[0], new.profiles[0])
    d.expand(5.0)
    main = d.new.child(d.new.tree.root, d.new_key[path(new, "main")[0]])
    assert main is not None
    by_name = {new.frames[c.frame].name: c for c in main.children}
    assert by_name["parse"]._children is not None  # ~59 %: grouped
    assert by_name["tiny"]._children is None  # ~1 %: left for later
    fresh = PathDiff(base.profiles[0], new.profiles[0])
    assert fresh.base.expand(50.0) == 3  # root, main (100 %) and render (60 %); parse (40 %) is thinner
