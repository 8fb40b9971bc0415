"""From samples to batches (collector side) and from batches to profiles (owner side).

`BatchAssembler` numbers frames and stacks as a collector first meets them and keeps the
diagnostic counts; `take()` packs what came since the last call into an immutable
`SampleBatch`. `ProfileBuilder` applies batches to a `ProfileGroup`: one profile per
thread, named as speedscope names perf threads (`comm pid: P tid: T`), weight 1 per
sample, times in seconds since the start and `sample_period` = 1/F.
"""

from __future__ import annotations

from collections.abc import Iterable

from collectors.live.base import CollectorStats, SampleBatch, ThreadInfo
from collectors.profile import Frame, Profile, ProfileGroup, Unit

THREAD_ROOTS = frozenset({
    "_start", "__libc_start_main", "__libc_start_call_main", "libc_start_main_stage2",
    "start_thread", "clone", "clone3", "__clone", "__clone3", "__clone_internal", "thread_start",
    "runtime.goexit", "runtime.goexit.abi0", "runtime.mstart", "runtime.rt0_go", "runtime.rt0_go.abi0",
})
"""Functions a whole user stack ends in (its root): a stack stopping elsewhere was cut short."""


class BatchAssembler:
    """Collector-side numbering of frames and stacks, and the running diagnostics."""

    def __init__(self) -> None:
        self._frame_ids: dict[Frame, int] = {}
        self._frames: list[Frame] = []
        self._unresolved: list[bool] = []
        self._frames_sent = 0
        self._stack_ids: dict[tuple[int, ...], int] = {}
        self._stacks: list[tuple[int, ...]] = []
        self._stack_counts: list[tuple[int, int, int, int]] = []
        """Per stack: (frames, unresolved frames, has a user part, user part cut short)."""
        self._stacks_sent = 0
        self._threads: dict[int, ThreadInfo] = {}
        self._new_threads: dict[int, ThreadInfo] = {}
        self._samples: list[tuple[float, int, int]] = []
        self.samples = 0
        self.frames = 0
        self.unknown_frames = 0
        self.user_stacks = 0
        self.truncated_stacks = 0

    def frame(self, frame: Frame, resolved: bool = True) -> int:
        """The id of `frame`, numbered if new; `resolved` is False for frames without a symbol."""
        fid = self._frame_ids.get(frame)
        if fid is None:
            fid = len(self._frames)
            self._frames.append(frame)
            self._unresolved.append(not resolved)
            self._frame_ids[frame] = fid
        return fid

    def frame_name(self, fid: int) -> str:
        return self._frames[fid].name

    def stack(self, frames: tuple[int, ...], user_frames: int) -> int:
        """The id of a root-first stack whose first `user_frames` frames are user space."""
        sid = self._stack_ids.get(frames)
        if sid is None:
            sid = len(self._stacks)
            self._stacks.append(frames)
            self._stack_ids[frames] = sid
            unresolved = sum(map(self._unresolved.__getitem__, frames))
            cut = 0
            if user_frames:
                cut = int(self._frames[frames[0]].name not in THREAD_ROOTS)
            self._stack_counts.append((len(frames), unresolved, int(user_frames > 0), cut))
        return sid

    def thread(self, pid: int, tid: int, comm: str) -> None:
        """Note the thread of the next samples (cheap when nothing changed)."""
        known = self._threads.get(tid)
        if known is None or known.comm != comm or known.pid != pid:
            info = ThreadInfo(pid, tid, comm)
            self._threads[tid] = info
            self._new_threads[tid] = info

    def sample(self, time: float, tid: int, sid: int) -> None:
        self._samples.append((time, tid, sid))
        n, unresolved, user, cut = self._stack_counts[sid]
        self.samples += 1
        self.frames += n
        self.unknown_frames += unresolved
        self.user_stacks += user
        self.truncated_stacks += cut

    def stats(self, lost: int = 0, stack_errors: int = 0) -> CollectorStats:
        return CollectorStats(samples=self.samples, lost=lost, stack_errors=stack_errors, frames=self.frames,
                              unknown_frames=self.unknown_frames, user_stacks=self.user_stacks,
                              truncated_stacks=self.truncated_stacks)

    def take(self, lost: int = 0, stack_errors: int = 0, force: bool = False) -> SampleBatch | None:
        """A batch of everything new since the last call; None when there is nothing new
        (unless `force`, which always returns one, e.g. to publish changed counters)."""
        if not (force or self._samples or self._new_threads):
            return None
        samples = self._samples
        samples.sort(key=lambda s: s[0])  # CPUs hand samples over slightly out of order
        batch = SampleBatch(
            first_frame=self._frames_sent, new_frames=tuple(self._frames[self._frames_sent:]),
            first_stack=self._stacks_sent, new_stacks=tuple(self._stacks[self._stacks_sent:]),
            threads=tuple(self._new_threads.values()), samples=tuple(samples),
            stats=self.stats(lost, stack_errors),
        )
        self._frames_sent = len(self._frames)
        self._stacks_sent = len(self._stacks)
        self._new_threads = {}
        self._samples = []
        return batch


def thread_profile_name(info: ThreadInfo) -> str:
    """speedscope's name for a perf thread: `comm pid: P tid: T`."""
    return f"{info.comm} pid: {info.pid} tid: {info.tid}"


class ProfileBuilder:
    """Applies a collector's batches to a `ProfileGroup`, one profile per thread."""

    def __init__(self, name: str, frequency: float) -> None:
        self.group = ProfileGroup(name=name)
        self.frequency = frequency
        self.stats = CollectorStats()
        self._frame_map: list[int] = []
        """Collector frame id -> group frame id."""
        self._stacks: list[tuple[int, ...]] = []
        """Collector stack id -> the stack in group frame ids."""
        self._threads: dict[int, ThreadInfo] = {}
        self._profiles: dict[int, Profile] = {}
        self._sids: dict[int, dict[int, int]] = {}
        """tid -> (collector stack id -> the profile's stack id)."""
        self._last_time: dict[int, float] = {}

    def apply_all(self, batches: Iterable[SampleBatch]) -> bool:
        """Apply batches in order; True when any sample was added."""
        added = False
        for batch in batches:
            added = self.apply(batch) or added
        return added

    def apply(self, batch: SampleBatch) -> bool:
        """Apply one batch (batches must come in the order the collector made them)."""
        if batch.first_frame != len(self._frame_map) or batch.first_stack != len(self._stacks):
            raise ValueError("a batch was skipped or applied twice")
        intern = self.group.frames.intern
        self._frame_map.extend(map(intern, batch.new_frames))
        remap = self._frame_map.__getitem__
        self._stacks.extend(tuple(map(remap, s)) for s in batch.new_stacks)
        for info in batch.threads:
            self._threads[info.tid] = info
            profile = self._profiles.get(info.tid)
            if profile is not None:
                profile.name = thread_profile_name(info)
                profile.pid = info.pid
        self.stats = batch.stats
        for time, tid, csid in batch.samples:
            profile = self._profiles.get(tid)
            if profile is None:
                profile = self._new_profile(tid)
            sids = self._sids[tid]
            sid = sids.get(csid)
            if sid is None:
                sid = sids[csid] = profile.stacks.intern(self._stacks[csid])
            # A thread's samples are 1/F apart; only a clock quirk could put one before the last.
            last = self._last_time[tid]
            if time < last:
                time = last
            self._last_time[tid] = time
            profile.add_stack_sample(sid, 1.0, time)
        return bool(batch.samples)

    def _new_profile(self, tid: int) -> Profile:
        info = self._threads.get(tid) or ThreadInfo(0, tid, "?")
        profile = self.group.new_profile(thread_profile_name(info), Unit.NONE)
        profile.pid, profile.tid = info.pid, tid
        profile.sample_period = 1.0 / self.frequency
        self._profiles[tid] = profile
        self._sids[tid] = {}
        self._last_time[tid] = float("-inf")
        return profile

    def finish(self) -> ProfileGroup:
        """The group with the busiest thread shown first; an empty profile when nothing was sampled
        (so that the file written still loads and says so)."""
        group = self.group
        if not group.profiles:
            empty = group.new_profile(f"{group.name} (no samples)", Unit.NONE)
            empty.sample_period = 1.0 / self.frequency
        counts = [p.sample_count for p in group.profiles]
        group.active_index = counts.index(max(counts))
        return group
