"""Key latency of the live TUI while sampling: prints one JSON object (`bench/run.py` calls it).

    python bench/live_tui_bench.py [--hz 999] [--warmup 10] [--presses 60] [--collector bcc]

The app runs headless (Textual's test driver, 80x24) with the real collector sampling the
live tests' two-thread C workload (both CPUs busy) at `--hz`. After `--warmup` seconds of
sampling (the profile keeps growing, and the shown pane is rebuilt up to 4 times a second
meanwhile), keys are sent in each pane: `j k` in Left Heavy and Time Order, `down up`
in Sandwich, in pairs that always move the cursor (a key that changed nothing would be charged
the next live repaint). For each key, from the moment it is posted to the driver:

- `first_ms`: until the first screen update after it (what the eye sees respond);
- `settled_ms`: until updates stop for 30 ms (in Sandwich, this includes the callers and
  callees rebuilt after the cursor rests; anywhere, a live rebuild landing just then adds to it).

Reported as p50/p95/max per pane and over all keys, with the samples at the end. Not a timed
test: the numbers depend on the machine (2 shared cores here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tui_bench import DisplayProbe, percentiles  # noqa: E402
from tests.test_collectors.live.workloads import THREADS, build  # noqa: E402

SIZE = (80, 24)
PANE_KEYS = (("2", ("j", "k") * 3), ("1", ("j", "k") * 3), ("3", ("down", "up") * 3))
"""Pairs that always move the cursor (down a level and back, or down a row and back): a key
that changes nothing would be charged the next live repaint, up to a tick (0.25 s) later."""


async def first_update(probe: DisplayProbe, since: float, timeout: float = 2.0) -> float | None:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        later = [t for t in probe.times if t >= since]
        if later:
            return later[0]
        await asyncio.sleep(0.001)
    return None


async def bench(busy: Path, hz: int, warmup: float, presses: int, which: str | None) -> dict[str, Any]:
    import functools
    import subprocess

    from textual import events

    from collectors.live.base import Target
    from collectors.live.choose import start_collector
    from tui.app import BpfscopeApp
    from tui.live import LiveOptions

    work = subprocess.Popen([str(busy), str(warmup + 120), "2"], stdout=subprocess.PIPE, text=True)
    assert work.stdout is not None
    work.stdout.readline()
    starter = functools.partial(start_collector, frequency=hz, which=which)
    app = BpfscopeApp(live=LiveOptions(starter, Target.for_pid(work.pid), handle_signals=False))
    probe = DisplayProbe(app)
    first: dict[str, list[float]] = {}
    settled: dict[str, list[float]] = {}
    try:
        async with app.run_test(size=SIZE) as pilot:
            while app.live is None:
                await pilot.pause(0.1)
            collector = app.live.collector.describe()
            await pilot.pause(warmup)
            driver = app._driver
            assert driver is not None
            done = 0
            while done < presses:
                for pane, keys in PANE_KEYS:
                    await pilot.press(pane)
                    await probe.settle()
                    for key in keys:
                        probe.times.clear()
                        t0 = time.perf_counter()
                        driver.send_message(events.Key(key, None))
                        seen = await first_update(probe, t0)
                        last = await probe.settle()
                        if seen is not None and last is not None:
                            first.setdefault(pane, []).append(seen - t0)
                            settled.setdefault(pane, []).append(last - t0)
                        done += 1
            samples = app.live.collector.stats.samples
            lost = app.live.collector.stats.lost
            await pilot.press("q")
    finally:
        work.kill()
        work.wait()
    names = {"1": "time_order", "2": "left_heavy", "3": "sandwich"}
    return {
        "collector": collector,
        "frequency": hz,
        "terminal": f"{SIZE[0]}x{SIZE[1]}",
        "warmup_s": warmup,
        "samples_at_end": samples,
        "lost": lost,
        "first_ms": {"all": percentiles([v for vs in first.values() for v in vs]),
                     **{names[p]: percentiles(v) for p, v in first.items()}},
        "settled_ms": {"all": percentiles([v for vs in settled.values() for v in vs]),
                       **{names[p]: percentiles(v) for p, v in settled.items()}},
        "note": "key posted to the driver until the first / last screen update after it, while sampling",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hz", type=int, default=999)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--collector", choices=("bcc", "perf"), default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bpfscope-bench-") as tmp:
        busy = build(Path(tmp), "busy", THREADS)
        report = asyncio.run(bench(busy, args.hz, args.warmup, args.presses, args.collector))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
