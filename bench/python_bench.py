"""bpfscope's CPU while it shows a busy Python program's frames, beside py-spy's on the same
target in the same run: prints one JSON object (`bench/run.py` calls it).

    python bench/python_bench.py [--seconds S] [--rates 99,999] [--python PATH]

The target is `tests/test_collectors/live/python_workloads.PHASES` (JSON, regex, recursion:
one busy thread) under pyenv's CPython 3.11. At each rate, bpfscope's bcc collector (with
the Python unwinder, in a fresh subprocess that applies batches every 0.25 s as `bpfscope
record` does) and `py-spy record` (default blocking mode, raw output) sample the target at
the same time for S seconds (default 10) after bpfscope's 2 s warm-up. Figures:

- `bpfscope_cpu_percent`: CPU of bpfscope's process (every thread) over the window (schedstat),
  % of one core; `bpf_cpu_percent`: the BPF program's own run time over the window (kernel
  BPF statistics, switched on for the run), charged to whatever it interrupted;
- `py_spy_cpu_percent`: py-spy's CPU (user + system, from wait4) over its run;
- `python_samples`, `samples`: bpfscope's samples with Python frames, and all of them.
Needs root.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_collectors.live.python_workloads import PHASES, interpreters, start  # noqa: E402

ONE = r"""
import json, os, subprocess, sys, time
from collectors.live import ProfileBuilder, Target
from collectors.live.bcc_collector import BccCollector
from collectors.profile import FrameKind

pid, freq, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])

def sched():
    total = 0
    for t in os.listdir("/proc/self/task"):
        try:
            total += int(open(f"/proc/self/task/{t}/schedstat").read().split()[0])
        except OSError:
            pass
    return total

def bpf_ns():
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True).stdout
    return sum(p.get("run_time_ns", 0) for p in json.loads(out or "[]") if p.get("name") == "bpfscope_sample")

c = BccCollector(Target.for_pid(pid), freq)
c.start()
b = ProfileBuilder("bench", freq)
end = time.monotonic() + 2
while time.monotonic() < end:
    time.sleep(0.25); b.apply_all(c.drain())
print("go", flush=True)
s0, k0, t0 = sched(), bpf_ns(), time.monotonic()
end = t0 + secs
while time.monotonic() < end:
    time.sleep(0.25); b.apply_all(c.drain())
s1, k1, t1 = sched(), bpf_ns(), time.monotonic()
c.stop(); b.apply_all(c.drain())
g = b.finish()
samples = sum(len(list(p.iter_samples())) for p in g.profiles)
python = sum(1 for p in g.profiles for s, _ in p.iter_samples()
             if any(g.frames[f].kind is FrameKind.INTERPRETER for f in s))
print(json.dumps({"bpfscope_cpu_percent": round(100 * (s1 - s0) / 1e9 / (t1 - t0), 2),
                  "bpf_cpu_percent": round(100 * (k1 - k0) / 1e9 / (t1 - t0), 2),
                  "samples": samples, "python_samples": python, "runtime": c.runtime()}))
"""


def measure(python: str, rate: int, seconds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        target = start(python, PHASES, Path(tmp) / "phases.py", 600)
        try:
            ours = subprocess.Popen([sys.executable, "-c", ONE, str(target.pid), str(rate), str(seconds)],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)})
            assert ours.stdout is not None
            assert ours.stdout.readline().strip() == "go"
            began = time.monotonic()
            spy = subprocess.Popen([str(ROOT / ".venv" / "bin" / "py-spy"), "record", "-p", str(target.pid),
                                    "-r", str(rate), "-d", str(seconds), "-f", "raw", "-o", str(Path(tmp) / "spy")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(spy.pid, 0)
            spy.returncode = os.waitstatus_to_exitcode(status)
            spy_seconds = time.monotonic() - began
            result = json.loads(ours.stdout.read())
            ours.wait()
        finally:
            target.kill()
            target.wait()
    result["py_spy_cpu_percent"] = round(100 * (usage.ru_utime + usage.ru_stime) / spy_seconds, 2)
    result["py_spy_exit"] = spy.returncode
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rates", default="99,999")
    parser.add_argument("--python", default=interpreters()["3.11"])
    args = parser.parse_args()
    out: dict[str, object] = {"python": args.python, "seconds": args.seconds}
    stats = Path("/proc/sys/kernel/bpf_stats_enabled")
    before = stats.read_text().strip() if stats.exists() else None
    if before is not None:
        stats.write_text("1")
    try:
        for rate in (int(r) for r in args.rates.split(",")):
            out[f"{rate}hz"] = measure(args.python, rate, args.seconds)
    finally:
        if before is not None:
            stats.write_text(before)
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
