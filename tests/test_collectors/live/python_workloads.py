"""Python programs for the live Python tests, and the interpreters to run them with."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PYENV = Path("/root/.pyenv/versions")
VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
INTERPRETER_VERSIONS = VERSIONS
DEBIAN_PYTHON = "/usr/bin/python3"


def interpreters() -> dict[str, str]:
    """Test id -> interpreter path: the newest pyenv build of each version, and Debian's.
    A version that is missing is an error of the machine's set-up (scripts/setup-system.sh),
    reported by the test that wants it, not a skip."""
    out: dict[str, str] = {}
    for version in VERSIONS:
        builds = sorted(PYENV.glob(f"{version}.*"), key=lambda p: [int(x) for x in p.name.split(".")])
        out[version] = str(builds[-1] / "bin" / f"python{version}") if builds else f"(no pyenv {version})"
    out["debian"] = DEBIAN_PYTHON
    return out


PHASES = r'''
import hashlib, json, random, re, signal, sys, threading, time

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def encode_phase(data, times):
    for _ in range(times):
        json.dumps(data)

def regex_phase(text):
    re.findall(r"(\w+)@(\w+)\.(?:com|org)", text)

CPU = [0.0, 0.0, 0.0]

class Worker:
    def spin(self, end):
        data = [{"a": i, "b": [str(i)] * 5, "c": {"d": i * 0.5}} for i in range(300)]
        text = " ".join(f"user{i}@host{i % 7}.{'com' if i % 2 else 'net'} filler words" for i in range(3000))
        clock = time.thread_time
        # Rounds of varying length: with a fixed one, a round can last about a whole number of
        # sampling periods and the samples then fall on the same part of each round (aliasing:
        # seen as 3.13's JSON phase at 10-11 % of bpfscope's samples against 15 % of its CPU
        # clock in about one run in five).
        jitter = random.Random(7)
        while time.time() < end:
            a = clock()
            encode_phase(data, jitter.randint(2, 4))
            b = clock()
            regex_phase(text[:jitter.randint(len(text) * 3 // 4, len(text))])
            c = clock()
            fib(jitter.randint(15, 17))
            d = clock()
            CPU[0] += b - a
            CPU[1] += c - b
            CPU[2] += d - c

def hash_phase(blob):
    hashlib.sha256(blob).digest()

def hasher(end):
    blob = b"x" * (1 << 20)
    while time.time() < end:
        hash_phase(blob)

def report(*_):
    total = sum(CPU) or 1.0
    print("cpu", *(round(x / total, 4) for x in CPU), flush=True)
    sys.exit(0)

def main(seconds, threads):
    signal.signal(signal.SIGTERM, report)
    end = time.time() + seconds
    t = threading.Thread(target=hasher, args=(end,), name="hasher")
    if threads:
        t.start()
    print("ready", flush=True)
    Worker().spin(end)
    if threads:
        t.join()
    report()

main(float(sys.argv[1]), sys.argv[2] == "threads")
'''
"""Two threads: the main one cycles through a JSON phase (the `_json` C accelerator), a
regex phase (`_sre`, C) and a recursive fib; the `hasher` thread hashes a megabyte at a
time (OpenSSL's SHA-256, which runs without the GIL), when the second argument is
`threads`. Prints `ready` once the threads run, and at the end (or on SIGTERM) `cpu E R F`: the shares of
the main thread's CPU time (its own clock) spent in encode_phase, regex_phase and fib.

Shares are compared with py-spy's on the main thread alone: py-spy counts a thread that
waits for the GIL as busy, bpfscope (on-CPU samples) does not, so any second thread would
make the two differ by the GIL waits it causes (measured: 3 to 7 points on the JSON phase)."""


def _realtime() -> None:
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))


def start(python: str, source: str, path: Path, seconds: float, realtime: bool = False,
          threads: bool = False) -> subprocess.Popen[str]:
    """Run `source` with `python`; `realtime`: under SCHED_FIFO (inherited by its threads),
    so that it runs whenever it is runnable even on a busy machine: bpfscope samples CPU
    time, py-spy wall time while not idle, and only a target that never waits for a CPU
    gives both the same shares (measured under a load of 9 on 2 CPUs: regex phase 78 % of
    CPU time but 85 % of wall time, without it)."""
    path.write_text(source)
    proc = subprocess.Popen([python, str(path), str(seconds), "threads" if threads else "alone"],
                            stdout=subprocess.PIPE, text=True,
                            preexec_fn=_realtime if realtime else None)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert line and line[0] == "ready", line
    return proc


def py_spy_shares(raw: str) -> dict[int, tuple[dict[str, float], int]]:
    """Per thread (from `py-spy record --threads -f raw`, whose root frames are
    `thread (TID): name`): per-function total shares (a function counted once per sample)
    and the number of samples."""
    counts: dict[int, dict[str, int]] = {}
    totals: dict[int, int] = {}
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = stack.split(";")
        head = frames[0]
        if not head.startswith("thread ("):
            continue
        tid = int(head[len("thread ("):head.index(")")])
        totals[tid] = totals.get(tid, 0) + int(n)
        names = {frame.rpartition(" (")[0] or frame for frame in frames[1:]}
        for name in names:
            per = counts.setdefault(tid, {})
            per[name] = per.get(name, 0) + int(n)
    return {tid: ({name: c / totals[tid] for name, c in per.items()}, totals[tid]) for tid, per in counts.items()}
