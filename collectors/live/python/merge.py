"""Python frames put in place of the interpreter's native frames, as `py-spy --native` does.

Each call of `_PyEval_EvalFrameDefault` runs one or more Python frames (3.11+ runs Python
calls inline: the frames of one call end at an entry frame). Walking root first, the n-th
eval-loop frame of the native stack is replaced by the n-th group of Python frames, so
that C extensions and the kernel stay below and between the Python functions that called
them. When the native stack has fewer eval-loop frames than there are groups (a native
unwind cut short, as without frame pointers in libpython), the groups are matched from the
innermost and the extra outer groups go with the outermost match; with none at all, the
Python stack is put outermost, above whatever native frames there are.
"""

from __future__ import annotations

from collections.abc import Sequence

EVAL_FRAMES = frozenset({"_PyEval_EvalFrameDefault", "_PyEval_EvalFrame", "PyEval_EvalFrameEx"})


def groups(python: Sequence[int], entries: Sequence[bool]) -> list[list[int]]:
    """Root-first groups of root-first Python frame ids: a group starts at an entry frame."""
    out: list[list[int]] = []
    for fid, entry in zip(python, entries, strict=True):
        if entry or not out:
            out.append([fid])
        else:
            out[-1].append(fid)
    return out


def merge(native: Sequence[int], native_names: Sequence[str], python_groups: list[list[int]],
          whole: bool = True) -> list[int]:
    """The user stack, root first, with eval-loop frames replaced by their Python frames;
    `whole`: the native stack reaches the thread's entry point (else the native frames
    outside its outermost eval-loop frame are the debris of a broken unwind, and dropped)."""
    if not python_groups:
        return list(native)
    evals = [i for i, name in enumerate(native_names) if name in EVAL_FRAMES]
    if not evals:
        return [f for g in python_groups for f in g] + list(native)
    if not whole:
        native = native[evals[0]:]
        native_names = native_names[evals[0]:]
        evals = [i - evals[0] for i in evals]
    n = min(len(evals), len(python_groups))
    matched = evals[-n:]
    extra = len(python_groups) - n
    replacement: dict[int, list[int]] = {}
    for k, at in enumerate(matched):
        group_index = extra + k
        if k == 0:
            replacement[at] = [f for g in python_groups[: group_index + 1] for f in g]
        else:
            replacement[at] = python_groups[group_index]
    out: list[int] = []
    for i, fid in enumerate(native):
        got = replacement.get(i)
        if got is not None:
            out.extend(got)
        else:
            out.append(fid)
    return out
