"""Reading live profiles in tests: per-function sample shares and call paths."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter

from collectors.live.base import Collector
from collectors.live.batches import ProfileBuilder
from collectors.profile import Profile, ProfileGroup


def collect(collector: Collector, seconds: float) -> ProfileGroup:
    """Run a started collector for `seconds` (or until its target exits), stop it, build the group."""
    builder = ProfileBuilder("test", collector.frequency)
    try:
        collector.wait(seconds)
        builder.apply_all(collector.drain())
    finally:
        collector.stop()
    builder.apply_all(collector.drain())
    assert collector.failure is None, collector.failure
    return builder.finish()


def collect_samples(collector: Collector, count: int, deadline: float = 120.0) -> ProfileGroup:
    """Run a started collector until it has `count` samples (or its target exits, or a generous
    `deadline` passes: a hang), stop it and build the group: counted, so a loaded machine only
    makes it take longer."""
    import time

    end = time.monotonic() + deadline
    while collector.stats.samples < count and not collector.finished and time.monotonic() < end:
        collector.wait(0.1)
    return collect(collector, 0.0)


def leaf_shares(group: ProfileGroup, profiles: list[Profile] | None = None) -> dict[str, float]:
    """Share of samples per leaf function name, over the given profiles (default: all)."""
    counts: dict[str, float] = {}
    for p in profiles if profiles is not None else group.profiles:
        for stack, w in p.iter_samples():
            if stack:
                name = group.frames[stack[-1]].name
                counts[name] = counts.get(name, 0.0) + w
    total = sum(counts.values())
    return {name: n / total for name, n in counts.items()} if total else {}


def paths(group: ProfileGroup, profile: Profile) -> Counter[tuple[str, ...]]:
    """Samples per stack, as tuples of names root first."""
    out: Counter[tuple[str, ...]] = Counter()
    for stack, w in profile.iter_samples():
        out[tuple(group.frames[f].name for f in stack)] += int(w)
    return out


def our_programs() -> set[int]:
    """Ids of loaded BPF programs of ours (`bpftool prog show`): the sampling program, named
    `bpfscope_sample`, and the tracepoint programs sharing its maps."""
    from collectors.live.bcc_collector import PROGRAM_NAME

    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True, check=True).stdout
    programs = json.loads(out or "[]")
    ours = [p for p in programs if p.get("name") == PROGRAM_NAME]
    maps = {m for p in ours for m in p.get("map_ids", [])}
    return {p["id"] for p in programs if p in ours or maps & set(p.get("map_ids", []))}


def bpf_fds() -> list[str]:
    """This process's file descriptors that are BPF programs, maps or perf events."""
    import os

    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith(("anon_inode:bpf", "anon_inode:[perf_event]")):
            out.append(link)
    return out


def _ancestry(pid: int) -> list[tuple[int, str]]:
    """(pid, cmdline) of `pid` and each of its ancestors, nearest first."""
    out: list[tuple[int, str]] = []
    while pid > 1 and len(out) < 64:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read(400).replace(b"\0", b" ").decode("utf-8", "replace")
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            break
        out.append((pid, cmd))
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def held_by_this_process(ids: set[int]) -> set[int]:
    """Of `ids`, the programs this process holds open."""
    me = str(os.getpid())
    return {prog for prog, held in program_holders(ids).items() if any(h.split()[0] == me for h in held)}


def held_by_other_test_runs(ids: set[int]) -> set[int]:
    """Of `ids`, the programs held only by processes of another pytest run on this machine (a
    helper's or a second suite's): not this run's to judge. A process orphaned by a test
    (reparented to init) belongs to no run and is judged."""
    me = os.getpid()
    holders = program_holders(ids)
    out = set()
    for prog, held in holders.items():
        runs = []
        for entry in held:
            chain = _ancestry(int(entry.split()[0]))
            runs.append(next((p for p, cmd in chain if "pytest" in cmd), None))
        if runs and all(r is not None and r != me for r in runs):
            out.add(prog)
    return out


def program_holders(ids: set[int]) -> dict[int, list[str]]:
    """Program id -> `pid cmdline` of each process holding it open (from /proc/*/fdinfo)."""
    import os

    out: dict[int, list[str]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:bpf-prog":
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    info = dict(line.split(":", 1) for line in f if ":" in line)
                prog = int(info.get("prog_id", "-1"))
                if prog in ids:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read(200).replace(b"\0", b" ").decode("utf-8", "replace").strip()
                    out.setdefault(prog, []).append(f"{pid} {cmd}")
            except (OSError, ValueError):
                continue
    return out
