"""Small profiles built in code for the TUI tests."""

from __future__ import annotations

from collections.abc import Sequence

from collectors.profile import Frame, FrameKind, ProfileGroup, Unit


def add(group: ProfileGroup, profile_index: int, stack: Sequence[str], weight: float,
        time: float | None = None, kernel: Sequence[str] = ()) -> None:
    frames = [group.frames.intern(Frame(n, f"{n}.c", 10, None,
                                        FrameKind.KERNEL if n in kernel else FrameKind.USER)) for n in stack]
    group.profiles[profile_index].add_sample(frames, weight, time)


def small_group() -> ProfileGroup:
    """main(100) → a(40) → b(30), c(10); main → d(40); main self 20. At 40 cells: 4 cells per 10."""
    group = ProfileGroup("small.folded")
    group.new_profile("main thread", Unit.NONE)
    add(group, 0, ["main", "a", "b"], 30)
    add(group, 0, ["main", "a", "c"], 10)
    add(group, 0, ["main", "d"], 40)
    add(group, 0, ["main"], 20)
    return group


def threaded_group() -> ProfileGroup:
    """Two threads: T1 main;x (10), T2 main;y (30)."""
    group = ProfileGroup("threads.json")
    group.new_profile("T1", Unit.MILLISECONDS).tid = 1
    group.new_profile("T2", Unit.MILLISECONDS).tid = 2
    add(group, 0, ["main", "x"], 10)
    add(group, 1, ["main", "y"], 30)
    return group


def recursive_group() -> ProfileGroup:
    """f → g → f → h (weight 10) and f (weight 5): flattening gives f → g → h."""
    group = ProfileGroup("rec.folded")
    group.new_profile("rec", Unit.NONE)
    add(group, 0, ["f", "g", "f", "h"], 10)
    add(group, 0, ["f"], 5)
    return group


def hostile_group() -> ProfileGroup:
    """Names with markup, escape sequences, wide characters and emoji."""
    group = ProfileGroup("\x1b]0;pwned\x07evil.folded")
    group.new_profile("[bold]thread[/bold]", Unit.NONE)
    add(group, 0, ["[bold]x", "\x1b[31mred\x1b[0m", "函数名字很长的函数"], 50)
    add(group, 0, ["[bold]x", "\x1b]52;c;ZXZpbA==\x07osc", "🔥🔥🔥emoji"], 30)
    add(group, 0, ["[bold]x", "tab\there\u202eevil"], 20, kernel=["tab\there\u202eevil"])
    return group


def interleaved_group(samples: int = 2000) -> ProfileGroup:
    """One timed thread (seconds, 10 ms apart) whose top frame changes at every sample, as an
    interpreter's or a Node profile's do: `python` → `<module>` → `work` → `hot` and
    `[unknown]` → `PyEval` alternate, then a 1 s idle gap, then the same again."""
    group = ProfileGroup("interleaved.json")
    group.new_profile("python3", Unit.SECONDS)
    t = 0.0
    for half in range(2):
        for i in range(samples // 2):
            stack = ["python", "<module>", "work", "hot"] if i % 2 == 0 else ["[unknown]", "PyEval"]
            add(group, 0, stack, 0.01, t)
            t += 0.01
        if half == 0:
            t += 1.0
    return group


def same_names_group() -> ProfileGroup:
    """Names that repeat across files (`main` in two, `<module>` in three) and a long one:
    what a Python or multi-binary profile looks like in the Sandwich."""
    group = ProfileGroup("same-names.json")
    group.new_profile("python3", Unit.NONE)

    def frame(name: str, file: str, line: int) -> int:
        return group.frames.intern(Frame(name, file, line))

    rows = [
        ([("<module>", "/srv/app/server.py", 1), ("main", "/srv/app/server.py", 40),
          ("JSONEncoder.iterencode_with_a_long_name", "/usr/lib/python3.11/json/encoder.py", 258)], 40),
        ([("<module>", "/srv/app/worker.py", 1), ("main", "/srv/app/worker.py", 12)], 30),
        ([("<module>", "/srv/app/tools/cli.py", 1), ("parse_records_from_the_input_stream", "/srv/app/parse.py", 9)],
         20),
    ]
    for stack, weight in rows:
        group.profiles[0].add_sample([frame(*f) for f in stack], weight)
    return group
