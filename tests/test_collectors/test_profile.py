"""The profile model: interning, sample storage, merging threads."""

from __future__ import annotations

import pytest

from collectors.profile import Frame, FrameKind, FrameTable, Profile, ProfileGroup, Unit, merge_profiles


def test_equal_frames_intern_to_one_id() -> None:
    """Frames with the same name, file, line, col and kind share an id; any difference splits them."""
    table = FrameTable()
    a = table.intern(Frame("f", "x.c", 3))
    assert table.intern(Frame("f", "x.c", 3)) == a
    assert table.intern(Frame("f", "y.c", 3)) != a
    assert table.intern(Frame("f", "x.c", 3, kind=FrameKind.KERNEL)) != a
    assert len(table) == 3


def test_stacks_are_stored_once() -> None:
    """Repeated stacks reuse one stack id: memory grows with unique stacks, not samples."""
    group = ProfileGroup("g")
    p = group.new_profile("t")
    for i in range(1000):
        p.add_sample((1, 2, 3) if i % 2 else (1, 2), 1.0, time=float(i))
    assert len(p.stacks) == 2
    assert p.sample_count == 1000


def test_untimed_consecutive_identical_samples_merge() -> None:
    """Without timestamps, consecutive identical stacks are one run with the summed weight."""
    p = ProfileGroup("g").new_profile("t")
    p.add_sample((0, 1), 2)
    p.add_sample((0, 1), 3)
    p.add_sample((0,), 1)
    p.add_sample((0, 1), 4)
    assert list(p.weights) == [5, 1, 4]
    assert p.total_weight() == 10


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf")])
def test_bad_weights_are_refused(weight: float) -> None:
    """Negative, NaN and infinite weights never enter a profile."""
    p = ProfileGroup("g").new_profile("t")
    with pytest.raises(ValueError):
        p.add_sample((0,), weight)


def test_times_are_all_or_nothing() -> None:
    """A profile either has a time for every sample or for none."""
    p = ProfileGroup("g").new_profile("t")
    p.add_sample((0,), 1, time=0.5)
    with pytest.raises(ValueError):
        p.add_sample((0,), 1)


def test_deep_stack_is_fine() -> None:
    """A 20,000-frame stack is stored and read back without recursion."""
    p = ProfileGroup("g").new_profile("t")
    stack = tuple(range(20_000))
    p.add_sample(stack, 1)
    assert next(p.iter_samples())[0] == stack


def test_merge_interleaves_timed_threads_by_time() -> None:
    """'All threads merged' orders samples of timed profiles by their time."""
    group = ProfileGroup("g")
    a = group.new_profile("a", Unit.NONE)
    b = group.new_profile("b", Unit.NONE)
    a.add_sample((0,), 1, 0.0)
    a.add_sample((0,), 1, 2.0)
    b.add_sample((1,), 1, 1.0)
    merged = merge_profiles(group)
    assert [s for s, _ in merged.iter_samples()] == [(0,), (1,), (0,)]
    assert merged.times is not None and list(merged.times) == [0.0, 1.0, 2.0]


def test_merge_concatenates_untimed_threads() -> None:
    """Without times, merged threads keep every sample and the totals add up."""
    group = ProfileGroup("g")
    a = group.new_profile("a")
    b = group.new_profile("b")
    a.add_sample((0, 1), 3)
    b.add_sample((0, 2), 4)
    merged = merge_profiles(group)
    assert merged.total_weight() == 7
    assert len(merged.stacks) == 2


def test_drop_empty_keeps_active_profile() -> None:
    """Removing empty profiles keeps the active one active."""
    group = ProfileGroup("g")
    group.new_profile("empty")
    kept = group.new_profile("kept")
    kept.add_sample((0,), 1)
    group.active_index = 1
    group.drop_empty()
    assert group.profiles == [kept]
    assert group.active_index == 0


def test_profile_keeps_unit_and_frame_location() -> None:
    """A frame's location reads file:line; units know their seconds."""
    assert Frame("f", "a.py", 10).location() == "a.py:10"
    assert Frame("f").location() == ""
    assert Unit.MILLISECONDS.seconds_per_unit == 1e-3
    assert Unit.BYTES.seconds_per_unit is None
    assert isinstance(Profile("p", FrameTable()).unit, Unit)


def test_a_group_copy_is_untouched_by_later_samples() -> None:
    """`ProfileGroup.copy` (what live sampling hands the UI thread): the same samples, stacks,
    frames and metadata, and nothing added to the original afterwards shows in the copy."""
    group = ProfileGroup("g")
    p = group.new_profile("t", Unit.SECONDS)
    p.pid, p.tid, p.sample_period, p.time_kind = 1, 2, 0.01, "on-cpu"
    f = group.frames.intern(Frame("f", "x.c"))
    p.add_sample((f,), 1.0, 0.5)
    copy = group.copy()
    cp = copy.profiles[0]
    assert (cp.name, cp.unit, cp.pid, cp.tid, cp.sample_period, cp.time_kind) == ("t", Unit.SECONDS, 1, 2, 0.01,
                                                                                  "on-cpu")
    assert cp.frames is copy.frames and list(copy.frames) == list(group.frames)
    g = group.frames.intern(Frame("g", "x.c"))
    p.add_sample((f, g), 2.0, 0.6)
    p.name = "renamed"
    group.new_profile("late")
    assert (len(copy.frames), len(copy.profiles), cp.name) == (1, 1, "t")
    assert (cp.sample_count, list(cp.weights), list(cp.times or []), cp.stacks.stacks) == (1, [1.0], [0.5], [(f,)])
    assert cp.stacks.find((f, g)) is None and copy.frames.find(Frame("g", "x.c")) is None


def test_a_profile_repr_does_not_list_its_samples() -> None:
    """Textual names a worker after its arguments' repr: a profile's stays short however big it is."""
    p = Profile("big", FrameTable())
    for i in range(10_000):
        p.add_sample((0,), 1.0, float(i))
    assert repr(p) == "Profile('big', 10000 samples, 1 stacks)"
