"""CFI unwinding's cost: prints one JSON object (`bench/run.py` calls it; not a timed test).

    python bench/cfi_bench.py [--seconds S] [--runs N]

- `tables`: building unwind tables (`collectors/live/unwind/cfi_tables.py`) for libc,
  libstdc++ and pyenv's CPython 3.11 (binary and libpython), in one child process as the
  collector does: CPU seconds of the child (Python's start and pyelftools' import
  included; wall seconds follow the machine's load), rows, BPF bytes of the rows (16 per
  row), and both per MB of call-frame information (`.eh_frame`); `child_peak_rss_mb` is the
  builder's peak memory.
- `bcc_99hz`, `bcc_999hz`: bpfscope's own CPU (as `bench/live_bench.py` measures it, the
  median of `--runs`) while sampling a two-thread program built with gcc -O2 and no frame
  pointers, both threads busy, with CFI unwinding (the default), and the lost samples;
  `whole_share`: the share of its user stacks that reach the thread's entry point.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.live_bench import measure_runs  # noqa: E402
from collectors.live.unwind import cfi, cfi_tables  # noqa: E402
from tests.test_collectors.live import cfi_programs  # noqa: E402

FILES = [
    Path("/lib/x86_64-linux-gnu/libc.so.6"),
    Path("/usr/lib/x86_64-linux-gnu/libstdc++.so.6"),
    Path("/root/.pyenv/versions/3.11.7/bin/python3.11"),
    Path("/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"),
]
TARGETS = {"cpu_percent_99hz": 1.0, "cpu_percent_999hz": 3.0, "lost": 0}

WHOLE = r"""
import json, subprocess, sys, time
from collectors.live import ProfileBuilder, Target
from collectors.live.bcc_collector import BccCollector
work = subprocess.Popen([sys.argv[1], "3600"], stdout=subprocess.PIPE, text=True)
work.stdout.readline()
c = BccCollector(Target.for_pid(work.pid), int(sys.argv[2]))
c.start()
time.sleep(float(sys.argv[3]))
c.stop()
work.kill()
st = c.stats
print(json.dumps({"whole_share": round(st.whole_share, 4), "user_stacks": st.user_stacks, "lost": st.lost}))
"""


def tables() -> dict[str, object]:
    out: dict[str, object] = {}
    total_bytes = total_seconds = 0.0
    total_rows = 0
    for path in FILES:
        if not path.exists():
            out[path.name] = {"error": "not on this machine"}
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            began, cpu = time.monotonic(), _children_cpu()
            results = cfi._run_builder([((0, 0, 0, 0), fd)])
            seconds, cpu_seconds = time.monotonic() - began, _children_cpu() - cpu
        finally:
            os.close(fd)
        data = results[(0, 0, 0, 0)]
        parsed = cfi._parse_result(data) if data is not None else None
        if parsed is None:
            out[path.name] = {"error": "build failed"}
            continue
        rows = len(parsed[1]) // cfi_tables.ROW.size
        mb = parsed[2] / 1e6
        out[path.name] = {"cfi_bytes": parsed[2], "rows": rows, "cpu_seconds": round(cpu_seconds, 3),
                          "wall_seconds": round(seconds, 3), "bpf_bytes": rows * 16}
        total_bytes += mb
        total_seconds += cpu_seconds
        total_rows += rows
    if total_bytes:
        out["cpu_seconds_per_mb"] = round(total_seconds / total_bytes, 2)
        out["bpf_bytes_per_mb"] = round(total_rows * 16 / total_bytes)
    out["child_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def long_lived(exe: Path, directory: Path) -> Path:
    """A wrapper running `exe` for an hour whatever seconds it is given (killed by the bench):
    the collector's start can take longer than live_bench's target lives on a busy machine."""
    wrapper = directory / "busy"
    wrapper.write_text(f"#!/bin/sh\nexec {exe} 3600\n")
    wrapper.chmod(0o755)
    return wrapper


def whole(exe: Path, frequency: int, seconds: float) -> dict[str, object]:
    r = subprocess.run([sys.executable, "-c", WHOLE, str(exe), str(frequency), str(seconds)], capture_output=True,
                       text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=seconds + 120)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]}
    result: dict[str, object] = json.loads(r.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, object] = {"tables": tables(),
                                  "workload": "2 threads, gcc -O2 without frame pointers, both CPUs busy"}
    with tempfile.TemporaryDirectory(prefix="bpfscope-cfi-bench-") as tmp:
        exe = cfi_programs.build(Path(tmp))["threads"]
        busy = long_lived(exe, Path(tmp))
        for hz in (99, 999):
            entry = measure_runs("bcc", hz, args.seconds, busy, max(1, args.runs))
            entry.update(whole(exe, hz, 5.0))
            results[f"bcc_{hz}hz"] = entry
    results["targets"] = TARGETS
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
