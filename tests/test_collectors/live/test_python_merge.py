"""Python frames put in place of the interpreter's native frames (pure functions)."""

from __future__ import annotations

from collectors.live.python import bpf as pybpf
from collectors.live.python.merge import groups, merge
from collectors.live.unwind.python import split_user

EVAL = "_PyEval_EvalFrameDefault"


def test_groups_start_at_entry_frames() -> None:
    """Root-first frames split where an eval call's outermost frame begins."""
    assert groups([1, 2, 3, 4], [True, False, True, False]) == [[1, 2], [3, 4]]
    assert groups([1, 2], [False, False]) == [[1, 2]]  # a cut stack still forms a group
    assert groups([], []) == []


def test_each_eval_frame_gets_its_own_python_frames() -> None:
    """The n-th eval-loop frame (root first) is replaced by the n-th group; C code stays between."""
    native = [10, 11, 12, 13, 14]
    names = ["_start", EVAL, "json_encode", EVAL, "memcpy"]
    assert merge(native, names, [[1, 2], [3]]) == [10, 1, 2, 12, 3, 14]


def test_missing_eval_frames_take_the_outer_groups() -> None:
    """Fewer eval frames than groups: matched from the innermost, the rest go with the outermost."""
    native = [10, 11, 12]
    names = ["_start", EVAL, "deflate"]
    assert merge(native, names, [[1], [2], [3]]) == [10, 1, 2, 3, 12]


def test_no_eval_frame_puts_python_outermost() -> None:
    """A native stack with no eval frame (a short unwind): Python first, then the native frames."""
    assert merge([20, 21], ["[unknown]", "deflate"], [[1, 2]]) == [1, 2, 20, 21]


def test_broken_native_roots_are_dropped() -> None:
    """A native stack that does not reach the thread's entry: what is outside its outermost
    eval frame is debris of a broken unwind."""
    native = [30, 31, 11, 12]
    names = ["[unknown]", "[unknown]", EVAL, "sre_match"]
    assert merge(native, names, [[1, 2]], whole=False) == [1, 2, 12]
    assert merge(native, names, [[1, 2]], whole=True) == [30, 31, 1, 2, 12]


def test_no_python_frames_leave_the_stack_alone() -> None:
    assert merge([1, 2], ["main", EVAL], []) == [1, 2]


def test_split_user_reads_the_trailer() -> None:
    """Native addresses, then Python words, then the trailer; anything else is native only."""
    words = (0x7F00_0000_1000, 0x7F00_0000_2000, 0x55_0000_1008 | 3 << 48, 0x55_0000_2010 | 1)
    trailer = pybpf.PY_MAGIC << 40 | 0 << 32 | 2 << 16 | 2
    native, py = split_user((*words, trailer))
    assert native == words[:2] and py is not None and py.words == words[2:] and py.status == 0
    assert split_user(words) == (words, None)
    bad = pybpf.PY_MAGIC << 40 | 5 << 16 | 9  # counts that do not fit: the Python part is dropped
    native, py = split_user((*words, bad))
    assert native == words and py is not None and py.words == () and py.status == pybpf.STATUS_READ_ERROR


def test_extra_eval_frames_keep_their_place() -> None:
    """More eval frames than groups (a Python stack cut at its outer end): the innermost
    ones get the groups, the outer ones stay as they are."""
    native = [10, 11, 12, 13, 14]
    names = ["_start", EVAL, EVAL, "PyObject_Call", EVAL]
    assert merge(native, names, [[1], [2]]) == [10, 11, 1, 13, 2]
