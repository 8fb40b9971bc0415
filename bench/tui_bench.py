"""The TUI benchmark: prints one JSON object (not a timed test; `bench/run.py` calls it).

    python bench/tui_bench.py [FILE] [--presses N] [--skip-tmux]

FILE defaults to `build/bench/bench100k.folded`, generated with the shared `gen_profile.py`
(`$BPFSCOPE_SHARED`, else ../shared) when missing. Measured:

- `tmux`: `bpfscope FILE` launched in a real terminal (tmux, 80x24): seconds from launch until the
  header shows and until the first frame is selected (the first screen), the process's peak RSS
  (VmHWM), and one pass of the keys below with the time until the screen changed.
- `in_process`: the app under `App.run_test(size=(80, 24))`: load time, then per-key latency from
  press to repainted (the key handled and the compositor's update rendered, i.e. every changed
  line's `render_line`; writing ANSI to a terminal is left out, the tmux pass includes it) for the
  navigation and zoom keys, p50/p95/max per key and over all; the same in CPU time of the UI thread
  (`cpu_*`: what the key cost us, which other load on the machine does not inflate as it does wall
  time; the load average is printed beside); and this process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_FILE = ROOT / "build" / "bench" / "bench100k.folded"
BPFSCOPE = Path(sys.executable).parent / "bpfscope"
SIZE = (80, 24)
LEFT_HEAVY_KEYS = ("j", "j", "j", "l", "l", "h", "k", "enter", "j", "enter", "escape", "escape", "0", "i", "i", "j")
TIME_ORDER_KEYS = ("j", "j", "l", "l", "h", "k", "enter", "plus", "plus", "comma", "full_stop", "minus", "escape",
                   "0")
TMUX_KEYS = {"plus": "+", "minus": "-", "comma": ",", "full_stop": ".", "enter": "Enter", "escape": "Escape"}


def ensure_bench_file(path: Path) -> None:
    if path.exists():
        return
    shared = Path(os.environ.get("BPFSCOPE_SHARED", ROOT.parent / "shared"))
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = path.with_suffix("")
    print(f"generating {path}", file=sys.stderr)
    subprocess.run([sys.executable, str(shared / "bench" / "gen_profile.py"), "100000", str(prefix)], check=True,
                   stdout=subprocess.DEVNULL)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    ms = sorted(v * 1000.0 for v in values)
    if not ms:
        return {}
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2), "p95_ms": round(p95, 2),
            "max_ms": round(ms[-1], 2)}


# --- a real terminal ------------------------------------------------------------------------


class Tmux:
    def __init__(self) -> None:
        self.socket = f"bpfscope-bench-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "bench")

    def wait_for(self, ok: Callable[[str], bool], timeout: float) -> float | None:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if ok(self.screen()):
                return time.perf_counter()
            time.sleep(0.005)
        return None

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def bench_tmux(path: Path) -> dict[str, Any]:
    if shutil.which("tmux") is None:
        return {"error": "tmux is not installed"}
    tmux = Tmux()
    rows = SIZE[1]
    try:
        start = time.perf_counter()
        tmux.run("new-session", "-d", "-s", "bench", "-x", str(SIZE[0]), "-y", str(rows),
                 "-e", "TERM=xterm-256color", f"exec {BPFSCOPE} {path}")
        pid = int(tmux.run("display-message", "-p", "-t", "bench", "#{pane_pid}").strip())
        header = tmux.wait_for(lambda s: "Left Heavy" in s.split("\n", 1)[0], 120)  # not the loading bar
        if header is None:
            return {"error": "the header did not appear within 120 s", "screen": tmux.screen()}

        def frame_selected(s: str) -> bool:
            lines = (s.splitlines() + [""] * rows)[:rows]
            return bool(lines[rows - 3].strip()) and "no frame selected" not in lines[rows - 3]

        selected = tmux.wait_for(frame_selected, 60)
        keys: list[dict[str, Any]] = []
        for pane, sequence in (("2", LEFT_HEAVY_KEYS), ("1", TIME_ORDER_KEYS)):
            tmux.run("send-keys", "-t", "bench", pane)
            time.sleep(0.3)
            for key in sequence:
                before = tmux.screen()
                sent = time.perf_counter()
                tmux.run("send-keys", "-t", "bench", TMUX_KEYS.get(key, key))
                changed = tmux.wait_for(lambda s, b=before: s != b, 2.0)  # type: ignore[misc]
                keys.append({"key": key, "changed_ms": None if changed is None else round((changed - sent) * 1000, 1)})
        rss = peak_rss_mb(pid)
        tmux.run("send-keys", "-t", "bench", "q")
        gone = time.perf_counter()
        while time.perf_counter() - gone < 10 and Path(f"/proc/{pid}").exists():
            time.sleep(0.01)
        changed_ms = [k["changed_ms"] / 1000 for k in keys if k["changed_ms"] is not None]
        per_key: dict[str, list[float]] = {}
        for k in keys:
            if k["changed_ms"] is not None:
                per_key.setdefault(k["key"], []).append(k["changed_ms"] / 1000)
        return {
            "header_s": round(header - start, 3),
            "first_screen_s": None if selected is None else round(selected - start, 3),
            "peak_rss_mb": rss,
            "keys": {"changed": percentiles(changed_ms), "unchanged": sum(k["changed_ms"] is None for k in keys),
                     "per_key": {key: percentiles(v) for key, v in per_key.items()},
                     "note": "send-keys to capture-pane differing; includes tmux round trips (~ms each)"},
            "quit_s": round(time.perf_counter() - gone, 3),
            "exited": not Path(f"/proc/{pid}").exists(),
        }
    finally:
        tmux.kill()


# --- in process -----------------------------------------------------------------------------


KEY_CHARS = {"plus": "+", "minus": "-", "comma": ",", "full_stop": ".", "enter": "\r", "escape": "\x1b"}
SETTLED = 0.03
"""A key's repaint is done when no further screen update follows within this many seconds."""


class DisplayProbe:
    """Wraps `App._display` to time every screen update, rendering it to ANSI as a terminal
    driver would (headless, Textual computes the update but skips that last step)."""

    def __init__(self, app: Any) -> None:
        from rich.console import Console
        from textual._compositor import CompositorUpdate

        self.times: list[float] = []
        self.cpu: list[float] = []
        """This thread's CPU time at each update: what a key cost the UI thread, which other
        processes on a loaded machine do not inflate the way they inflate wall time."""
        console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=SIZE[0])
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None:
                if isinstance(renderable, CompositorUpdate):
                    renderable.render_segments(console)
                self.times.append(time.perf_counter())
                self.cpu.append(time.thread_time())
            original(screen, renderable)

        app._display = display

    async def settle(self, timeout: float = 0.5) -> float | None:
        """Wait until updates stop; the time of the last one (None when nothing was repainted)."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            await asyncio.sleep(0.002)
            if self.times and time.perf_counter() - self.times[-1] > SETTLED:
                return self.times[-1]
        return self.times[-1] if self.times else None


async def bench_keys(group: Any, presses: int) -> dict[str, Any]:
    from textual import events

    from tui.app import BpfscopeApp

    app = BpfscopeApp(group)
    probe = DisplayProbe(app)
    per_key: dict[str, list[float]] = {}
    everything: list[float] = []
    cpu_per_key: dict[str, list[float]] = {}
    cpu_everything: list[float] = []
    unchanged: dict[str, int] = {}
    start = time.perf_counter()
    start_cpu = time.thread_time()
    async with app.run_test(size=SIZE) as pilot:
        await probe.settle()
        first = probe.times[0] - start if probe.times else None
        first_cpu = probe.cpu[0] - start_cpu if probe.cpu else None
        await pilot.pause(1.0)  # function totals finish on a worker thread after the first screen
        driver = app._driver
        assert driver is not None
        done = 0
        while done < presses:
            for pane, sequence in (("2", LEFT_HEAVY_KEYS), ("1", TIME_ORDER_KEYS)):
                await pilot.press(pane)
                await probe.settle()
                for key in sequence:
                    probe.times.clear()
                    probe.cpu.clear()
                    t0 = time.perf_counter()
                    c0 = time.thread_time()
                    driver.send_message(events.Key(key, KEY_CHARS.get(key, key)))
                    painted = await probe.settle()
                    if painted is None:
                        unchanged[key] = unchanged.get(key, 0) + 1
                    else:
                        per_key.setdefault(key, []).append(painted - t0)
                        everything.append(painted - t0)
                        cpu_per_key.setdefault(key, []).append(probe.cpu[-1] - c0)
                        cpu_everything.append(probe.cpu[-1] - c0)
                    done += 1
    return {
        "first_screen_from_app_start_s": None if first is None else round(first, 3),
        "first_screen_cpu_s": None if first_cpu is None else round(first_cpu, 3),
        "presses": done,
        "all_keys": percentiles(everything),
        "per_key": {k: percentiles(v) for k, v in per_key.items()},
        "no_repaint": unchanged,
        "cpu_all_keys": percentiles(cpu_everything),
        "cpu_per_key": {k: percentiles(v) for k, v in cpu_per_key.items()},
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "note": "key posted to the driver until the last screen update it caused, rendered to ANSI",
    }


def bench_in_process(path: Path, presses: int) -> dict[str, Any]:
    from collectors.formats.detect import load_profile

    start = time.perf_counter()
    group = load_profile(str(path))
    load_s = time.perf_counter() - start
    from tui.gc_tuning import settle_gc

    settle_gc()  # as `run_app` does
    result = asyncio.run(bench_keys(group, presses))
    return {"load_s": round(load_s, 3), **result,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--skip-tmux", action="store_true")
    args = parser.parse_args(argv)
    path: Path = args.file.resolve()
    if path == DEFAULT_FILE.resolve():
        ensure_bench_file(path)
    report: dict[str, Any] = {"file": str(path), "size_mb": round(path.stat().st_size / 1e6, 1),
                              "terminal": f"{SIZE[0]}x{SIZE[1]}"}
    report["tmux"] = {"skipped": True} if args.skip_tmux else bench_tmux(path)
    report["in_process"] = bench_in_process(path, args.presses)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
