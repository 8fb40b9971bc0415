"""Names that carry a location (py-spy, austin, perf module suffixes) read into name + file + line.

Hand-written files of each tool's shape, and the real output of py-spy (run here, as root)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.formats import folded
from collectors.formats.detect import load_profile
from collectors.formats.locations import split_location
from collectors.profile import Frame, FrameKind, ProfileGroup
from collectors.summary import top_functions

ROOT = Path(__file__).resolve().parents[3]


def frames_of(group: ProfileGroup) -> set[tuple[str, str | None, int | None]]:
    return {(f.name, f.file, f.line) for f in group.frames}


def rows(group: ProfileGroup) -> dict[tuple[str, str | None], tuple[float, float, int | None]]:
    return {(r.name, r.file): (r.self, r.total, r.line) for r in top_functions(group)}


def test_py_spy_raw_names_read_into_file_and_line() -> None:
    """py-spy `--format raw`: `func (file:line)` is a function at a file and line; the same
    function at two lines is two frames (two boxes, as py-spy draws them) but one function in
    `top` (its line None, since it has two)."""
    group = folded.read(
        "<module> (app.py:10);main (app.py:5);parse (lib/parser.py:40) 3\n"
        "<module> (app.py:10);main (app.py:6);parse (lib/parser.py:41) 2\n"
        "_find_and_load (<frozen importlib._bootstrap>:1176) 1\n")
    assert frames_of(group) == {
        ("<module>", "app.py", 10), ("main", "app.py", 5), ("main", "app.py", 6),
        ("parse", "lib/parser.py", 40), ("parse", "lib/parser.py", 41),
        ("_find_and_load", "<frozen importlib._bootstrap>", 1176)}
    assert rows(group)[("parse", "lib/parser.py")] == (5, 5, None)
    assert rows(group)[("main", "app.py")] == (0, 5, None)
    assert rows(group)[("<module>", "app.py")] == (0, 5, 10)


def test_py_spy_chrometrace_args_are_file_and_line(tmp_path: Path) -> None:
    """py-spy `--format chrometrace`: B/E events whose `args` are `{filename, line}` give frames
    named by `name` alone at that file and line (not `name {"filename":...}`)."""
    enc = "/usr/lib/python3.11/json/encoder.py"
    events = [
        {"ph": "B", "name": "main", "ts": 0, "pid": 1, "tid": 1, "args": {"filename": "/x/app.py", "line": 5}},
        {"ph": "B", "name": "JSONEncoder.iterencode", "ts": 0, "pid": 1, "tid": 1,
         "args": {"filename": enc, "line": 258}},
        {"ph": "E", "name": "JSONEncoder.iterencode", "ts": 3000, "pid": 1, "tid": 1,
         "args": {"filename": enc, "line": 258}},
        {"ph": "B", "name": "JSONEncoder.iterencode", "ts": 3000, "pid": 1, "tid": 1,
         "args": {"filename": enc, "line": 225}},
        {"ph": "E", "name": "JSONEncoder.iterencode", "ts": 4000, "pid": 1, "tid": 1,
         "args": {"filename": enc, "line": 225}},
        {"ph": "E", "name": "main", "ts": 4000, "pid": 1, "tid": 1, "args": {"filename": "/x/app.py", "line": 5}},
    ]
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(events))
    group = load_profile(path)
    assert frames_of(group) == {("main", "/x/app.py", 5), ("JSONEncoder.iterencode", enc, 258),
                                ("JSONEncoder.iterencode", enc, 225)}
    assert rows(group)[("JSONEncoder.iterencode", enc)] == (4000, 4000, None)


def test_speedscope_names_with_py_spy_args(tmp_path: Path) -> None:
    """A speedscope file from speedscope's import of py-spy's trace holds
    `name {"filename":...,"line":N}` names with no file: read as name, file and line."""
    name = 'JSONEncoder.iterencode {"filename":"/usr/lib/python3.11/json/encoder.py","line":258}'
    path = tmp_path / "p.speedscope.json"
    path.write_text(json.dumps({
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": name}, {"name": "main (app.py:3)"}]},
        "profiles": [{"type": "sampled", "name": "p", "unit": "none", "startValue": 0, "endValue": 1,
                      "samples": [[1, 0]], "weights": [1]}]}))
    assert frames_of(load_profile(path)) == {
        ("JSONEncoder.iterencode", "/usr/lib/python3.11/json/encoder.py", 258), ("main", "app.py", 3)}


def test_austin_frames() -> None:
    """austin 3: `file:function:line` frames (its `P`/`T` frames kept as they are); its
    alternative format: `file:function` then an `L<line>` frame, kept as written."""
    group = folded.read("P42;T7f01;/srv/app.py:<module>:26;/srv/app.py:main:19 1085\n"
                        "P42;T7f01;/srv/app.py:main;L19 10\n")
    assert frames_of(group) == {("P42", None, None), ("T7f01", None, None), ("<module>", "/srv/app.py", 26),
                                ("main", "/srv/app.py", 19), ("main", "/srv/app.py", None), ("L19", None, None)}


def test_perf_module_suffixes() -> None:
    """`sym (/path/to/module)` and `sym ([kernel.kallsyms])`: the module is the file (a kernel
    frame for the kernel); unknown symbols keep their raw name, which is what names them."""
    group = folded.read("sort;main (/usr/bin/sort);memcpy (/usr/lib/libc.so.6);"
                        "clear_page ([kernel.kallsyms]) 4\nsort;??? (/usr/lib/libc.so.6) 1\n")
    assert frames_of(group) == {("sort", None, None), ("main", "/usr/bin/sort", None),
                                ("memcpy", "/usr/lib/libc.so.6", None), ("clear_page", "[kernel.kallsyms]", None),
                                ("??? (/usr/lib/libc.so.6)", None, None)}
    kernel = [f for f in group.frames if f.name == "clear_page"]
    assert kernel[0].kind is FrameKind.KERNEL


@pytest.mark.parametrize("name", [
    "f(int) (anonymous)", "std::vector<int>::push_back", "operator() (closure)", "a:b:1", "L12", "main",
    "??? ([unknown])", "[unknown] (/usr/bin/x)", 'handler {"url":"/x","line":3}', "x (has space/in path.py:3",
    "f (some words here)",
])
def test_names_that_only_look_alike_are_kept(name: str) -> None:
    """When unsure, the raw name stays: C++ signatures, lone symbols, other JSON args."""
    assert split_location(name) is None


def test_folded_write_keeps_file_and_line() -> None:
    """Written back as folded, a frame with a file and line is `name (file:line)` (py-spy's
    form), so reading the export gives the same frames."""
    group = ProfileGroup("g")
    p = group.new_profile("p")
    p.add_sample([group.frames.intern(Frame("main", "/x/app.py", 5)), group.frames.intern(Frame("leaf"))], 2)
    text = "".join(folded.write(p))
    assert text == "main (/x/app.py:5);leaf 2\n"
    assert frames_of(folded.read(text)) == {("main", "/x/app.py", 5), ("leaf", None, None)}


SCRIPT = """\
import time
def spin(end):
    x = 0
    while time.monotonic() < end: x += 1
def main():
    spin(time.monotonic() + 3.0)
main()
"""
SPIN_LINE = 4


@pytest.fixture(scope="module")
def py_spy_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """py-spy's raw, chrometrace and speedscope recordings of one script (py-spy from the venv)."""
    work = tmp_path_factory.mktemp("pyspy")
    script = work / "spinner.py"
    script.write_text(SCRIPT)
    py_spy = Path(sys.executable).with_name("py-spy")
    out = {}
    for fmt in ("raw", "chrometrace", "speedscope"):
        out[fmt] = work / f"out.{fmt}"
        proc = subprocess.run([str(py_spy), "record", "--format", fmt, "-r", "200", "-d", "2", "-o", str(out[fmt]),
                               "--", "python3", str(script)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and out[fmt].stat().st_size > 0, proc.stderr
    return out


@pytest.mark.parametrize("fmt", ["raw", "chrometrace", "speedscope"])
def test_real_py_spy_outputs_agree(py_spy_outputs: dict[str, Path], fmt: str) -> None:
    """Each of py-spy's formats reads into the same hottest function: `spin` in spinner.py at
    the line of its loop, called by `main` at line 6."""
    group = load_profile(py_spy_outputs[fmt])
    top = top_functions(group)
    assert top[0].name == "spin" and top[0].file is not None and top[0].file.endswith("spinner.py"), top[:3]
    assert top[0].line == SPIN_LINE
    assert top[0].self_pct > 80
    callers = {(f.name, f.line) for f in group.frames if f.file is not None and f.file.endswith("spinner.py")}
    assert ("main", 6) in callers
    assert not any("filename" in f.name or "spinner.py" in f.name for f in group.frames)
