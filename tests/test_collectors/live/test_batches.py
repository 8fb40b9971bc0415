"""Batches from the collector side to profiles on the owner's side (no root needed)."""

from __future__ import annotations

import pytest

from collectors.live.base import SETTLE_S, WINDOW_STACKS, CollectorStats, CutShortJudge, cut_short_hint
from collectors.live.batches import BatchAssembler, ProfileBuilder
from collectors.profile import Frame, FrameKind


def _stack(asm: BatchAssembler, *names: str, user: int | None = None) -> int:
    fids = tuple(asm.frame(Frame(n, None, None, None,
                                 FrameKind.KERNEL if n.startswith("k_") else FrameKind.USER), n != "[unknown]")
                 for n in names)
    return asm.stack(fids, len(names) if user is None else user)


def test_one_profile_per_thread_named_like_speedscope() -> None:
    """Each thread gets a profile `comm pid: P tid: T` with pid, tid, 1/F period and timed samples."""
    asm = BatchAssembler()
    main = _stack(asm, "_start", "main", "hot")
    asm.thread(10, 10, "app")
    asm.sample(0.5, 10, main)
    asm.thread(10, 11, "app-worker")
    asm.sample(0.25, 11, main)
    batch = asm.take()
    assert batch is not None
    builder = ProfileBuilder("app", 99)
    assert builder.apply(batch)
    group = builder.finish()
    assert [p.name for p in group.profiles] == ["app-worker pid: 10 tid: 11", "app pid: 10 tid: 10"]
    worker = group.profiles[0]
    assert (worker.pid, worker.tid) == (10, 11)
    assert worker.sample_period == pytest.approx(1 / 99)
    assert worker.times is not None and list(worker.times) == [0.25]
    assert [group.frames[f].name for f in worker.stacks[worker.sample_stacks[0]]] == ["_start", "main", "hot"]


def test_batches_carry_only_new_frames_and_stacks() -> None:
    """A second batch reuses ids from the first and carries only what is new."""
    asm = BatchAssembler()
    asm.thread(1, 1, "a")
    asm.sample(0.0, 1, _stack(asm, "main", "f"))
    first = asm.take()
    asm.sample(0.1, 1, _stack(asm, "main", "f"))
    asm.sample(0.2, 1, _stack(asm, "main", "g"))
    second = asm.take()
    assert first is not None and second is not None
    assert [f.name for f in second.new_frames] == ["g"] and second.first_frame == 2
    assert len(second.new_stacks) == 1 and second.first_stack == 1
    assert second.threads == ()
    builder = ProfileBuilder("x", 99)
    builder.apply_all([first, second])
    (profile,) = builder.group.profiles
    assert profile.sample_count == 3 and len(profile.stacks) == 2


def test_a_skipped_batch_is_refused() -> None:
    """Applying batches out of order is a bug and raises instead of mixing up frame ids."""
    asm = BatchAssembler()
    asm.thread(1, 1, "a")
    asm.sample(0.0, 1, _stack(asm, "main"))
    asm.take()
    asm.sample(0.1, 1, _stack(asm, "other"))
    second = asm.take()
    assert second is not None
    with pytest.raises(ValueError, match="skipped"):
        ProfileBuilder("x", 99).apply(second)


def test_samples_sorted_by_time_within_a_batch() -> None:
    """Samples handed over out of order (two CPUs) come out in time order."""
    asm = BatchAssembler()
    sid = _stack(asm, "main")
    asm.thread(1, 1, "a")
    for t in (0.3, 0.1, 0.2):
        asm.sample(t, 1, sid)
    batch = asm.take()
    assert batch is not None
    assert [s[0] for s in batch.samples] == [0.1, 0.2, 0.3]


def test_renamed_thread_renames_its_profile() -> None:
    """After `exec` (a new command name) the thread's profile takes the new name."""
    asm = BatchAssembler()
    sid = _stack(asm, "main")
    asm.thread(7, 7, "sh")
    asm.sample(0.0, 7, sid)
    builder = ProfileBuilder("x", 99)
    builder.apply_all([b for b in [asm.take()] if b])
    asm.thread(7, 7, "work")
    asm.sample(0.1, 7, sid)
    builder.apply_all([b for b in [asm.take()] if b])
    assert [p.name for p in builder.group.profiles] == ["work pid: 7 tid: 7"]


def test_diagnostics_count_unknown_frames_and_cut_stacks() -> None:
    """Unknown frames are counted per sample; user stacks not ending in a thread root are cut."""
    asm = BatchAssembler()
    asm.thread(1, 1, "a")
    whole = _stack(asm, "_start", "main", "[unknown]")
    cut = _stack(asm, "somewhere", "leaf")
    kernel_only = _stack(asm, "k_worker", "k_leaf", user=0)
    for sid in (whole, whole, cut, kernel_only):
        asm.sample(0.0, 1, sid)
    stats = asm.stats(lost=3, stack_errors=1)
    assert (stats.samples, stats.frames, stats.unknown_frames) == (4, 10, 2)
    assert (stats.user_stacks, stats.truncated_stacks, stats.lost, stats.stack_errors) == (3, 1, 3, 1)
    assert stats.unknown_share == pytest.approx(0.2)


def test_hint_only_when_many_stacks_are_cut() -> None:
    """The frame-pointer hint appears when at least a fifth of the user stacks judged are cut short."""
    assert cut_short_hint(None) is None and cut_short_hint(0.19) is None
    hint = cut_short_hint(0.6)
    assert hint is not None and "60%" in hint and "-fno-omit-frame-pointer" in hint


def test_stacks_are_judged_after_settling_in_windows_and_overall() -> None:
    """The first `SETTLE_S` seconds are not judged (a process's first stacks are cut short however it
    was built); then each window of `WINDOW_STACKS` user stacks on its own, and all of them since."""
    judge = CutShortJudge()

    def seen(seconds: float, users: int, cut: int) -> float | None:
        return judge.observe(CollectorStats(user_stacks=users, truncated_stacks=cut), seconds)

    assert seen(1.0, 80, 80) is None, "settling: all cut short, not judged"
    assert seen(SETTLE_S, 100, 80) is None
    assert judge.overall(CollectorStats(user_stacks=100, truncated_stacks=80)) is None
    assert seen(SETTLE_S + 1, 100 + WINDOW_STACKS - 1, 80) is None, "less than a window"
    assert seen(SETTLE_S + 2, 100 + WINDOW_STACKS, 90) == pytest.approx(0.1)
    assert seen(SETTLE_S + 3, 100 + 2 * WINDOW_STACKS, 90 + WINDOW_STACKS) == pytest.approx(1.0)
    final = CollectorStats(user_stacks=100 + 2 * WINDOW_STACKS, truncated_stacks=90 + WINDOW_STACKS)
    assert judge.overall(final) == pytest.approx((10 + WINDOW_STACKS) / (2 * WINDOW_STACKS))


def test_whole_share_of_user_stacks() -> None:
    """The share of whole stacks (reaching a thread's entry point), as the status line shows it."""
    assert CollectorStats().whole_text() is None
    stats = CollectorStats(user_stacks=1000, truncated_stacks=3)
    assert stats.whole_share == pytest.approx(0.997)
    assert stats.whole_text() == "99.7% whole stacks"


def test_nothing_sampled_still_gives_a_profile() -> None:
    """With no samples at all, finish() leaves one empty profile so the written file loads."""
    group = ProfileBuilder("PID 5", 99).finish()
    assert [p.name for p in group.profiles] == ["PID 5 (no samples)"]
    assert group.profiles[0].sample_count == 0


def test_busiest_thread_is_shown_first() -> None:
    """finish() makes the thread with the most samples the active profile."""
    asm = BatchAssembler()
    sid = _stack(asm, "main")
    asm.thread(1, 1, "a")
    asm.sample(0.0, 1, sid)
    asm.thread(1, 2, "b")
    asm.sample(0.1, 2, sid)
    asm.sample(0.2, 2, sid)
    builder = ProfileBuilder("x", 99)
    builder.apply_all([b for b in [asm.take()] if b])
    assert builder.finish().active_index == 1
