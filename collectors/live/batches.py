"""From samples to batches (collector side) and from batches to profiles (owner side).

`BatchAssembler` numbers frames and stacks as a collector first meets them and keeps the
diagnostic counts; `take()` packs what came since the last call into an immutable
`SampleBatch`. `ProfileBuilder` applies batches to a `ProfileGroup`: one profile per
thread, named as speedscope names perf threads (`comm pid: P tid: T`), weight 1 per
sample, times in seconds since the start and `sample_period` = 1/F.

With off-CPU time (`--off-cpu`) the batches are `OffCpuBatch`es and every profile is in
seconds: per thread an on-CPU profile (`… on-CPU`, each sample weighing 1/F s) and an
off-CPU one (`… off-CPU`, each switch-out weighing its time off CPU, timed when it began),
so that all threads merged add up to wall time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from collectors.live.base import CollectorStats, SampleBatch, ThreadInfo
from collectors.profile import OFF_CPU, ON_CPU, Frame, Profile, ProfileGroup, Unit

THREAD_ROOTS = frozenset({
    "_start", "__libc_start_main", "__libc_start_call_main", "libc_start_main_stage2",
    "start_thread", "clone", "clone3", "__clone", "__clone3", "__clone_internal", "thread_start",
    "runtime.goexit", "runtime.goexit.abi0", "runtime.mstart", "runtime.rt0_go", "runtime.rt0_go.abi0",
})
"""Functions a whole user stack ends in (its root): a stack stopping elsewhere was cut short."""


@dataclass(frozen=True, slots=True)
class OffCpuBatch(SampleBatch):
    """A batch from a collector recording off-CPU time too."""

    off_cpu: tuple[tuple[float, int, int, float], ...] = ()
    """Waits: (seconds since the start when the thread was switched out, tid, stack id,
    seconds off CPU), in time order."""


class BatchAssembler:
    """Collector-side numbering of frames and stacks, and the running diagnostics."""

    def __init__(self, off_cpu: bool = False) -> None:
        """`off_cpu`: batches carry off-CPU samples too (`OffCpuBatch`)."""
        self.off_cpu = off_cpu
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
        self._off_samples: list[tuple[float, int, int, float]] = []
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
        self._count(sid)

    def off_cpu_sample(self, time: float, tid: int, sid: int, seconds: float) -> None:
        """A wait of `seconds` that began at `time`, in stack `sid` (needs `off_cpu`)."""
        self._off_samples.append((time, tid, sid, seconds))
        self._count(sid)

    def _count(self, sid: int) -> None:
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
        if not (force or self._samples or self._off_samples or self._new_threads):
            return None
        samples = self._samples
        samples.sort(key=lambda s: s[0])  # CPUs hand samples over slightly out of order
        parts = (self._frames_sent, tuple(self._frames[self._frames_sent:]),
                 self._stacks_sent, tuple(self._stacks[self._stacks_sent:]),
                 tuple(self._new_threads.values()), tuple(samples), self.stats(lost, stack_errors))
        batch: SampleBatch
        if self.off_cpu:
            off = self._off_samples
            off.sort(key=lambda s: s[0])  # sent at switch-in, timed at switch-out
            batch = OffCpuBatch(*parts, off_cpu=tuple(off))
            self._off_samples = []
        else:
            batch = SampleBatch(*parts)
        self._frames_sent = len(self._frames)
        self._stacks_sent = len(self._stacks)
        self._new_threads = {}
        self._samples = []
        return batch


def thread_profile_name(info: ThreadInfo) -> str:
    """speedscope's name for a perf thread: `comm pid: P tid: T`."""
    return f"{info.comm} pid: {info.pid} tid: {info.tid}"


class _Track:
    """One profile being built, with its stack ids and last sample time."""

    __slots__ = ("last", "profile", "sids")

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.sids: dict[int, int] = {}
        """Collector stack id -> the profile's stack id."""
        self.last = float("-inf")


class ProfileBuilder:
    """Applies a collector's batches to a `ProfileGroup`, one profile per thread (two with
    `off_cpu`: on-CPU and off-CPU time, both in seconds)."""

    def __init__(self, name: str, frequency: float, off_cpu: bool = False) -> None:
        self.group = ProfileGroup(name=name)
        self.frequency = frequency
        self.off_cpu = off_cpu
        self.unit = Unit.SECONDS if off_cpu else Unit.NONE
        """The unit of every profile built: seconds with off-CPU time, else sample counts."""
        self.stats = CollectorStats()
        self._weight = 1.0 / frequency if off_cpu else 1.0
        """What one on-CPU sample weighs."""
        self._frame_map: list[int] = []
        """Collector frame id -> group frame id."""
        self._stacks: list[tuple[int, ...]] = []
        """Collector stack id -> the stack in group frame ids."""
        self._threads: dict[int, ThreadInfo] = {}
        self._on: dict[int, _Track] = {}
        """tid -> its (on-CPU) profile."""
        self._off: dict[int, _Track] = {}
        """tid -> its off-CPU profile."""

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
            for tracks in (self._on, self._off):
                track = tracks.get(info.tid)
                if track is not None:
                    track.profile.name = self._profile_name(info, tracks is self._off)
                    track.profile.pid = info.pid
        self.stats = batch.stats
        weight = self._weight
        for time, tid, csid in batch.samples:
            self._add(self._on.get(tid) or self._new_tracks(tid)[0], time, csid, weight)
        off = batch.off_cpu if isinstance(batch, OffCpuBatch) else ()
        if off and not self.off_cpu:
            raise ValueError("off-CPU samples for a builder made without off_cpu")
        for time, tid, csid, seconds in off:
            self._add(self._off.get(tid) or self._new_tracks(tid)[1], time, csid, seconds)
        return bool(batch.samples or off)

    def _add(self, track: _Track, time: float, csid: int, weight: float) -> None:
        sid = track.sids.get(csid)
        if sid is None:
            sid = track.sids[csid] = track.profile.stacks.intern(self._stacks[csid])
        # A thread's samples come in time order; only a clock quirk could put one before the last.
        if time < track.last:
            time = track.last
        track.last = time
        track.profile.add_stack_sample(sid, weight, time)

    def _profile_name(self, info: ThreadInfo, off: bool) -> str:
        name = thread_profile_name(info)
        if not self.off_cpu:
            return name
        return f"{name} off-CPU" if off else f"{name} on-CPU"

    def _new_tracks(self, tid: int) -> tuple[_Track, _Track]:
        """A new thread's profile (with `off_cpu`, its two profiles, side by side); returns the
        on-CPU and off-CPU tracks (the same one without `off_cpu`)."""
        info = self._threads.get(tid) or ThreadInfo(0, tid, "?")
        on = self._on[tid] = _Track(self._new_profile(info, False))
        if not self.off_cpu:
            return on, on
        off = self._off[tid] = _Track(self._new_profile(info, True))
        return on, off

    def _new_profile(self, info: ThreadInfo, off: bool) -> Profile:
        profile = self.group.new_profile(self._profile_name(info, off), self.unit)
        profile.pid, profile.tid = info.pid, info.tid
        if self.off_cpu:
            profile.time_kind = OFF_CPU if off else ON_CPU
        if not off:
            profile.sample_period = 1.0 / self.frequency
        return profile

    def finish(self) -> ProfileGroup:
        """The group with the busiest thread shown first; an empty profile when nothing was sampled
        (so that the file written still loads and says so). With `off_cpu`, the profiles of
        threads that never waited (or never ran while sampled) are left out."""
        group = self.group
        if self.off_cpu:
            group.drop_empty()
        if not group.profiles:
            empty = group.new_profile(f"{group.name} (no samples)", self.unit)
            empty.sample_period = 1.0 / self.frequency
        if self.off_cpu:
            busy = [p.total_weight() if p.time_kind != OFF_CPU else -1.0 for p in group.profiles]
        else:
            busy = [float(p.sample_count) for p in group.profiles]
        group.active_index = busy.index(max(busy))
        return group
