"""The live collector's cost: prints one JSON object (not a timed test; `bench/run.py` calls it).

    python bench/live_bench.py [--seconds S] [--runs N] [--collectors bcc,perf] [--rates 99,999]

A small C program keeps both CPUs busy (two spinning threads, built in a temporary
directory); each collector samples it at each rate in a fresh subprocess, which applies
the batches to a profile as `bpfscope record` does, every 0.25 s. Measured, after a 2 s
warm-up and over `--seconds` (default 10):

- `cpu_percent`: CPU (utime + stime from /proc) of bpfscope's own process, as % of one
  core; for perf, `pipeline_cpu_percent` adds `perf record` and `perf script`. The
  `_schedstat` twins count the same from /proc/PID/task/*/schedstat, in nanoseconds:
  utime + stime are sampled at each scheduler tick, which for a process waking briefly a few
  times a second on busy CPUs varies by a percent or more from run to run.
- `worker_cpu_percent`: the same for the collector's worker thread alone (the rest is the
  owner applying batches 4 times a second, as the TUI and `bpfscope record` do);
  `wakeups_per_second` (bcc): the worker's timer wake-ups (`Collector.wakeups`), its fixed
  cost of about a millisecond each here; `drain_interval` (bcc): the seconds between them.
  (perf's reader wakes when `perf script` writes, which perf record's buffer size paces.)
- `compile_seconds` (bcc): building and loading the BPF program at start, left out of the
  CPU figure; `start_seconds`: from `start()` until sampling.
- `samples`, `lost`; `rss_growth_kb`, `bytes_per_sample`: RSS growth over the measured
  run divided by the samples taken in it.

With `--runs N` (default 3) each collector and rate is measured N times, each in a fresh
process: the entry is the run with the median `cpu_percent_schedstat`, and `runs` lists
every run's CPU, wake-ups, samples and lost samples (the machine's other load only ever
adds CPU, so the spread matters as much as the median).

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

def thread_runtime(tid):
    try:
        with open(f"/proc/self/task/{tid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, TypeError):
        return 0.0

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
    worker = getattr(c, "_worker" if which == "bcc" else "_reader").native_id
    before, rss0, n0 = [cpu(p) for p in pids], rss(), c.stats.samples
    exact0, worker0, wake0 = [runtime(p) for p in pids], thread_runtime(worker), getattr(c, "wakeups", 0)
    w0 = time.monotonic()
    while time.monotonic() - w0 < secs:
        time.sleep(0.25)
        b.apply_all(c.drain())
    after, rss1, n1 = [cpu(p) for p in pids], rss(), c.stats.samples
    exact1, worker1, wake1 = [runtime(p) for p in pids], thread_runtime(worker), getattr(c, "wakeups", 0)
    wall = time.monotonic() - w0
finally:
    c.stop()
    work.kill()
b.apply_all(c.drain())
used = [(a - x) / wall * 100 for a, x in zip(after, before)]
exact = [(a - x) / wall * 100 for a, x in zip(exact1, exact0)]
out = {"collector": which, "frequency": freq, "seconds": round(wall, 2), "start_seconds": round(start, 3),
       "cpu_percent": round(used[0], 2), "cpu_percent_schedstat": round(exact[0], 2),
       "worker_cpu_percent": round((worker1 - worker0) / wall * 100, 2),
       "samples": n1 - n0, "lost": c.stats.lost,
       "samples_total": c.stats.samples, "rss_growth_kb": round((rss1 - rss0) / 1024, 1),
       "bytes_per_sample": round((rss1 - rss0) / max(1, n1 - n0), 1)}
if which == "bcc":
    out["compile_seconds"] = round(c.compile_seconds, 3)
    out["drain_interval"] = round(getattr(c, "drain_interval", 0.1), 3)
    out["wakeups_per_second"] = round((wake1 - wake0) / wall, 2)
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


RUN_FIELDS = ("cpu_percent", "cpu_percent_schedstat", "worker_cpu_percent", "wakeups_per_second", "samples", "lost")


def measure_runs(which: str, frequency: int, seconds: float, busy: Path, runs: int) -> dict[str, object]:
    """The median of `runs` measurements (by exact CPU), with every run's figures under `runs`."""
    results = [measure(which, frequency, seconds, busy) for _ in range(runs)]
    good = [r for r in results if "error" not in r]
    if not good:
        return results[0]
    good.sort(key=lambda r: float(r["cpu_percent_schedstat"]))  # type: ignore[arg-type]
    median = dict(good[len(good) // 2])
    if runs > 1:
        median["runs"] = [{k: r.get(k) for k in RUN_FIELDS} if "error" not in r else r for r in results]
    return median


def run(seconds: float, collectors: list[str], rates: list[int], runs: int = 1) -> dict[str, object]:
    results: dict[str, object] = {"workload": "2 threads spinning (both CPUs busy)", "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bpfscope-bench-") as tmp:
        busy = build(Path(tmp), "busy", THREADS)  # the live tests' workload, with 2 threads
        for which in collectors:
            for hz in rates:
                results[f"{which}_{hz}hz"] = measure_runs(which, hz, seconds, busy, runs)
    results["targets"] = {**TARGETS, "note": "bcc, bpfscope's own process, compile excluded"}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--collectors", default="bcc,perf")
    parser.add_argument("--rates", default="99,999")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = run(args.seconds, args.collectors.split(","), [int(r) for r in args.rates.split(",")], max(1, args.runs))
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
