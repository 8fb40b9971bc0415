"""The Sandwich table's rows without Textual: labels that tell same-named functions apart,
labels cut to their column, and the row order with functions only in the base."""

from __future__ import annotations

import subprocess
import sys

from collectors.calltree import FunctionTotals
from collectors.profile import Frame, FrameTable
from tui.sandwich_rows import (
    BaseOnly,
    FunctionChange,
    fit_function_label,
    function_labels,
    sorted_rows,
)


def _frames(*frames: Frame) -> tuple[FrameTable, list[int]]:
    table = FrameTable()
    return table, [table.intern(f) for f in frames]


def test_same_names_get_their_file_then_their_line() -> None:
    """A unique name stays bare; a repeated one gets its file's base name, and `file:line`
    where the file repeats too."""
    frames, ids = _frames(Frame("main", "/src/app.py", 1), Frame("run", "/src/a.py", 3),
                          Frame("run", "/src/b.py", 5), Frame("run", "/lib/b.py", 9))
    assert [function_labels(ids, frames)[f] for f in ids] == [
        "main", "run (a.py)", "run (b.py:5)", "run (b.py:9)",
    ]


def test_labels_are_cut_keeping_what_tells_them_apart() -> None:
    """A long name keeps its file when there is room for both; a short name stays whole."""
    assert fit_function_label("JSONEncoder.encode (encoder.py)", 22) == "JSONEnco… (encoder.py)"
    assert fit_function_label("<module> (server_main.py)", 15) == "<module> (ser…)"
    assert fit_function_label("short", 10) == "short"
    assert fit_function_label("abcdefghijkl", 6) == "abcde…"


def test_functions_only_in_the_base_sort_after_the_others_by_weight_and_in_place_by_name() -> None:
    """By self the base-only rows (0 here) come last; by name they sit among the others."""
    frames, (b, z) = _frames(Frame("b"), Frame("z"))
    totals = FunctionTotals({b: 1.0, z: 3.0}, {b: 2.0, z: 3.0}, 5.0)
    gone = BaseOnly("m", None, FunctionChange((10.0, 0.0, 20.0, 0.0)))
    assert sorted_rows(totals, frames, "self", base_only=[gone]) == [z, b, gone]
    assert sorted_rows(totals, frames, "name", base_only=[gone]) == [b, gone, z]


def test_the_rows_module_imports_no_textual() -> None:
    """`tui.sandwich_rows` loads in a fresh interpreter without pulling in Textual."""
    code = "import sys, tui.sandwich_rows; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
