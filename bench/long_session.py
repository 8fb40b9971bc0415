"""A long live session: memory per sample, memory growth and the live worker's update time over a run.

    python bench/long_session.py [--seconds S] [--frequency F] [--collector bcc|perf]

`LONG_SECONDS` (environment) sets the default length: 120 s, so that `make bench` stays
reasonable; a few minutes at 999 Hz on a busy target is the issue's "long session". A small C
program keeps every CPU busy (one spinning thread per CPU), the collector samples it, and this
process plays the part of the TUI's live worker without a terminal: every 0.25 s its
`LiveAggregator` applies the batches (`update` with no view, as while paused) and, when due (at
most every 0.25 s, and not sooner than the last update took, the app's back-off for an update
on the worker), builds the Left Heavy pane's update: copies of the profiles, the tree, the
first screen laid out at 80 columns (`update` for Left Heavy). Every `--every` seconds it also
times a Time Order update and records a checkpoint. The live Time Order tree grows rather than
being rebuilt (`TimeOrderTree.extended`, sharing the earlier tree's finished nodes, handed
over as it is): that update lays out the samples of the last `--every` seconds only (the
app, which updates every tick, a quarter of a second's). The last update is kept, as the
app keeps what it shows, so the memory figures include its copies. These times are the
worker's: what the UI thread then does (swap the finished update in) is in
`bench/live_tui_bench.py`'s key latencies. Prints one JSON object:

- `samples`, `lost`, `samples_per_second`;
- `rss_growth_mb` and `bytes_per_sample_rss`: RSS growth after a warm-up divided by the
  samples taken since; `bytes_per_sample_structures`: the profile structures' own size
  (per-thread and merged profiles: sample arrays, stack tables, frames; the run's and the
  copies in the update kept, `copies_mb` of it) divided by samples;
- `checkpoints`: elapsed, samples, RSS, pump and rebuild times, to show the trend; a Time
  Order update's time also split into growing the tree (`time_order_grow_ms`: what the bench
  measured before updates moved to a worker) and laying the first screen out
  (`time_order_layout_ms`), the rest being the copies and the density strip's rows;
- `rebuild_ms_per_100k_samples`: the least-squares slope of rebuild time over samples;
- `hour_at_99hz`: the samples of an hour at 99 Hz with the target keeping every CPU busy (the
  most it can produce), and the memory and rebuild times they would cost, extrapolated from
  the per-sample figures above.

Needs root for bcc.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collectors.live.base import Target  # noqa: E402
from collectors.live.choose import make_collector  # noqa: E402
from collectors.profile import Profile  # noqa: E402
from tests.test_collectors.live.workloads import THREADS, build  # noqa: E402
from tui.live import LiveRun  # noqa: E402
from tui.live_aggregate import LiveAggregator, LiveRequest, LiveUpdate  # noqa: E402
from tui.session import MERGED  # noqa: E402
from tui.views import PaneState  # noqa: E402

TICK = 0.25
WARM_UP = 5.0
WIDTH = 80
KEY = (MERGED, None, False, (), None)
"""The view the app opens on: all threads merged, no filter."""
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def profile_bytes(profile: Profile, seen: set[int]) -> int:
    """Bytes held by one profile's samples and stack table (tuples shared with another profile
    counted once)."""
    total = 0
    for a in (profile.sample_stacks, profile.weights, profile.times):
        if isinstance(a, array):
            total += sys.getsizeof(a)
    stacks = profile.stacks
    total += sys.getsizeof(stacks.stacks) + sys.getsizeof(stacks._index)
    for s in stacks.stacks:
        if id(s) not in seen:
            seen.add(id(s))
            total += sys.getsizeof(s)
    return total


def structures_bytes(run: LiveRun, seen: set[int]) -> int:
    frames = run.group.frames
    total = sum(sys.getsizeof(f) + sys.getsizeof(f.name) for f in frames)
    return total + sum(profile_bytes(p, seen) for p in [*run.group.profiles, run.merged])


def copies_bytes(update: LiveUpdate | None, seen: set[int]) -> int:
    """The profile copies an update holds (stack tuples already counted in the run's are not)."""
    if update is None or update.session is None:
        return 0
    merged = update.session.derive(KEY).profile
    return sum(profile_bytes(p, seen) for p in [*update.session.group.profiles, merged])


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (0 with fewer than two points)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def rebuild(aggregator: LiveAggregator, time_order: bool) -> tuple[float, LiveUpdate]:
    """Seconds of the worker's update for the Left Heavy (or Time Order) pane, and the update."""
    pane = "time-order" if time_order else "left-heavy"
    began = time.perf_counter()
    update = aggregator.update(LiveRequest(KEY, pane, state=PaneState((), None, WIDTH), series=time_order,
                                           force=True))
    return time.perf_counter() - began, update


def run_session(which: str, frequency: int, seconds: float, every: float, busy: Path) -> dict[str, Any]:
    import subprocess

    cpus = os.cpu_count() or 1
    work = subprocess.Popen([str(busy), str(seconds + WARM_UP + 60), str(cpus)], stdout=subprocess.PIPE, text=True)
    assert work.stdout is not None
    work.stdout.readline()
    collector = make_collector(which, Target.for_pid(work.pid), frequency)
    checkpoints: list[dict[str, float]] = []
    try:
        collector.start()
        run = LiveRun(collector)
        aggregator = LiveAggregator(run)
        held: LiveUpdate | None = None
        """The last update, kept as the app keeps what it shows."""
        began = time.monotonic()
        next_rebuild = 0.0
        rebuild_s = pump_s = 0.0
        rss0 = n0 = 0
        next_checkpoint = WARM_UP
        while (elapsed := time.monotonic() - began) < seconds + WARM_UP:
            time.sleep(TICK)
            t = time.perf_counter()
            aggregator.update(LiveRequest(None))  # the batches applied, nothing built (as paused)
            pump_s = max(pump_s, time.perf_counter() - t)
            now = time.monotonic()
            if now >= next_rebuild:
                rebuild_s, held = rebuild(aggregator, time_order=False)
                next_rebuild = now + max(TICK, rebuild_s)
            if not rss0 and elapsed >= WARM_UP:
                rss0, n0 = rss(), run.merged.sample_count
            if elapsed >= next_checkpoint:
                next_checkpoint += every
                checkpoints.append({
                    "seconds": round(elapsed, 1), "samples": run.merged.sample_count,
                    "rss_mb": round(rss() / 2**20, 1), "pump_ms_max": round(pump_s * 1000, 2),
                    "left_heavy_rebuild_ms": round(rebuild_s * 1000, 2),
                    "time_order_rebuild_ms": round(rebuild(aggregator, time_order=True)[0] * 1000, 2),
                    "time_order_grow_ms": round(aggregator.time_order_seconds[0] * 1000, 2),
                    "time_order_layout_ms": round(aggregator.time_order_seconds[1] * 1000, 2),
                })
                pump_s = 0.0
        wall = time.monotonic() - began - WARM_UP
        _, held = rebuild(aggregator, time_order=False)
        rss1 = rss()  # before stopping: stop() frees the collector's own memory
        run.stop_collector()
    finally:
        collector.stop()
        work.kill()
        work.wait()
    samples = run.merged.sample_count
    grown = rss1 - rss0
    taken = max(1, samples - n0)
    seen: set[int] = set()
    structures = structures_bytes(run, seen)
    copies = copies_bytes(held, seen)
    structures += copies
    xs = [float(c["samples"]) for c in checkpoints]
    lh = slope(xs, [c["left_heavy_rebuild_ms"] for c in checkpoints])
    to = slope(xs, [c["time_order_rebuild_ms"] for c in checkpoints])
    grow = slope(xs, [c["time_order_grow_ms"] for c in checkpoints])
    lay = slope(xs, [c["time_order_layout_ms"] for c in checkpoints])
    rate = taken / wall
    # The worst case: the target keeps every CPU busy, so every tick on every CPU is a sample
    # (the measured rate is lower when other work shares the machine).
    hour_samples = 99 * cpus * 3600
    per_sample = max(grown / taken, structures / max(1, samples))
    last = checkpoints[-1] if checkpoints else {}
    return {
        "collector": which, "frequency": frequency, "seconds": round(wall, 1), "cpus_busy": cpus,
        "samples": samples, "lost": collector.stats.lost, "samples_per_second": round(rate, 1),
        "rss_start_mb": round(rss0 / 2**20, 1), "rss_growth_mb": round(grown / 2**20, 2),
        "bytes_per_sample_rss": round(grown / taken, 1),
        "structures_mb": round(structures / 2**20, 2), "copies_mb": round(copies / 2**20, 2),
        "bytes_per_sample_structures": round(structures / max(1, samples), 1),
        "unique_stacks": len(run.merged.stacks), "frames": len(run.group.frames),
        "checkpoints": checkpoints,
        "rebuild_ms_per_100k_samples": {"left_heavy": round(lh * 1e5, 2), "time_order": round(to * 1e5, 2),
                                        "time_order_grow": round(grow * 1e5, 2),
                                        "time_order_layout": round(lay * 1e5, 2)},
        "hour_at_99hz": {
            "samples": hour_samples,
            "memory_mb": round(hour_samples * per_sample / 2**20, 1),
            "left_heavy_rebuild_ms": round(last.get("left_heavy_rebuild_ms", 0.0)
                                           + lh * (hour_samples - last.get("samples", 0)), 1),
            "time_order_rebuild_ms": round(last.get("time_order_rebuild_ms", 0.0)
                                           + to * (hour_samples - last.get("samples", 0)), 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LONG_SECONDS", "120")))
    parser.add_argument("--frequency", type=int, default=999)
    parser.add_argument("--collector", default="bcc", choices=("bcc", "perf"))
    parser.add_argument("--every", type=float, default=10.0, help="seconds between checkpoints")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bpfscope-long-") as tmp:
        busy = build(Path(tmp), "busy", THREADS)
        try:
            result = run_session(ns.collector, ns.frequency, ns.seconds, min(ns.every, ns.seconds / 2), busy)
        except Exception as e:  # a collector that cannot run: say why, as live_bench does
            result = {"collector": ns.collector, "frequency": ns.frequency, "error": str(e) or repr(e)}
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
