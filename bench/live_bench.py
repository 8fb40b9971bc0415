"""The live collector's cost: prints one JSON object (not a timed test; `bench/run.py` calls it).

    python bench/live_bench.py [--seconds S] [--collectors bcc,perf] [--rates 99,999]

A small C program keeps both CPUs busy (two spinning threads, built in a temporary
directory); each collector samples it at each rate in a fresh subprocess, which applies
the batches to a profile as `bpfscope record` does, every 0.25 s. Measured, after a warm-up
of warm-up (2 s) and over `--seconds` (default 10):

- `cpu_percent`: CPU (utime + stime from /proc) of bpfscope's own process, as % of one
  core; for perf, `pipeline_cpu_percent` adds `perf record` and `perf script`. The
  `_schedstat` twins count the same from /proc/PID/task/*/schedstat, in nanoseconds:
  utime + stime are sampled at each scheduler tick, which for a process waking briefly ten
  times a second on busy CPUs varies by a percent or more from run to run.
- `compile_seconds` (bcc): building and loading the BPF program at start, left out of the
  CPU figure; `start_seconds`: from `start()` until sampling.
- `samples`, `lost`; `rss_growth_kb`, `bytes_per_sample`: RSS growth over the measured
  run divided by the samples taken in it.

Needs root for bcc; a collector that cannot run is reported with its reason.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_collectors.live.workloads import THREADS, build  # noqa: E402

TARGETS = {"cpu_percent_99hz": 2.0, "cpu_percent_999hz": 5.0}

# Runs in a fresh interpreter so that RSS is the measured collector's alone.
ONE = r"""
import json, os, subprocess, sys, time
from collectors.live import ProfileBuilder, Target
from collectors.live.choose import make_collector

which, freq, secs, busy = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
tick = os.sysconf("SC_CLK_TCK")
page = os.sysconf("SC_PAGE_SIZE")

def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / tick

def runtime(pid):
    # Nanoseconds on CPU over all the process's threads (schedstat): exact, where utime+stime
    # are counted in scheduler ticks and so are noisy for a process that runs in short bursts.
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page

work = subprocess.Popen([busy, str(secs + 30), "2"], stdout=subprocess.PIPE, text=True)
work.stdout.readline()
c = make_collector(which, Target.for_pid(work.pid), freq)
try:
    t0 = time.monotonic()
    c.start()
    start = time.monotonic() - t0
    b = ProfileBuilder("bench", freq)
    w0 = time.monotonic()
    while time.monotonic() - w0 < 2.0:
        time.sleep(0.25)
        b.apply_all(c.drain())
    pids = [os.getpid()] + ([c._record.pid, c._script.pid] if which == "perf" else [])
    before, rss0, n0 = [cpu(p) for p in pids], rss(), c.stats.samples
    exact0 = [runtime(p) for p in pids]
    w0 = time.monotonic()
    while time.monotonic() - w0 < secs:
        time.sleep(0.25)
        b.apply_all(c.drain())
    after, rss1, n1 = [cpu(p) for p in pids], rss(), c.stats.samples
    exact1 = [runtime(p) for p in pids]
    wall = time.monotonic() - w0
finally:
    c.stop()
    work.kill()
b.apply_all(c.drain())
used = [(a - x) / wall * 100 for a, x in zip(after, before)]
exact = [(a - x) / wall * 100 for a, x in zip(exact1, exact0)]
out = {"collector": which, "frequency": freq, "seconds": round(wall, 2), "start_seconds": round(start, 3),
       "cpu_percent": round(used[0], 2), "cpu_percent_schedstat": round(exact[0], 2),
       "samples": n1 - n0, "lost": c.stats.lost,
       "samples_total": c.stats.samples, "rss_growth_kb": round((rss1 - rss0) / 1024, 1),
       "bytes_per_sample": round((rss1 - rss0) / max(1, n1 - n0), 1)}
if which == "bcc":
    out["compile_seconds"] = round(c.compile_seconds, 3)
if which == "perf":
    out["pipeline_cpu_percent"] = round(sum(used), 2)
    out["pipeline_cpu_percent_schedstat"] = round(sum(exact), 2)
print(json.dumps(out))
"""


def measure(which: str, frequency: int, seconds: float, busy: Path) -> dict[str, object]:
    r = subprocess.run([sys.executable, "-c", ONE, which, str(frequency), str(seconds), str(busy)],
                       capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                       timeout=seconds + 120)
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
        return {"collector": which, "frequency": frequency, "error": lines[-1] if lines else f"exit {r.returncode}"}
    result: dict[str, object] = json.loads(r.stdout.strip().splitlines()[-1])
    return result


def run(seconds: float, collectors: list[str], rates: list[int]) -> dict[str, object]:
    results: dict[str, object] = {"workload": "2 threads spinning (both CPUs busy)", "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bpfscope-bench-") as tmp:
        busy = build(Path(tmp), "busy", THREADS)  # the live tests' workload, with 2 threads
        for which in collectors:
            for hz in rates:
                results[f"{which}_{hz}hz"] = measure(which, hz, seconds, busy)
    results["targets"] = {**TARGETS, "note": "bcc, bpfscope's own process, compile excluded"}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--collectors", default="bcc,perf")
    parser.add_argument("--rates", default="99,999")
    args = parser.parse_args()
    results = run(args.seconds, args.collectors.split(","), [int(r) for r in args.rates.split(",")])
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
