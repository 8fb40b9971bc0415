"""Python frames on top of a native unwinder (see `collectors/live/python/`).

`PythonUnwinder` wraps the native unwinder the collector uses (frame pointers, CFI): the
BPF side appends the sampled thread's Python frames and a trailer to the native addresses
of the record's user part (`python/bpf.py`); user space recognises CPython processes as
the collector reads their mappings (`track`), hands the native part to the native
unwinder and, once the native frames have names, puts the Python frames in place of the
interpreter-loop frames (`rewrite`, see `python/merge.py`). Processes that are not Python
(or a version bpfscope does not know, which `notes` names) keep their native stacks.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from collectors.live.batches import THREAD_ROOTS, BatchAssembler
from collectors.live.python import bpf as pybpf
from collectors.live.python.code import CodeReader
from collectors.live.python.detect import NotSupported, PythonProcess, detect, interpreter_key
from collectors.live.python.merge import groups, merge
from collectors.live.python.threads import thread_names
from collectors.live.records import RawStacks
from collectors.live.unwind.base import Unwinder, UserStack
from collectors.profile import Frame, FrameKind

_CODE_MASK = 0x0000_FFFF_FFFF_FFF8


@dataclass(frozen=True, slots=True)
class PythonStack:
    """The Python part of a record: words innermost first, and the walk's status."""

    words: tuple[int, ...]
    status: int
    """STATUS_OK, STATUS_NO_THREAD, STATUS_READ_ERROR or STATUS_TRUNCATED."""
    gil_released: bool = False
    """The thread did not hold the GIL when sampled."""


def split_user(user: tuple[int, ...]) -> tuple[tuple[int, ...], PythonStack | None]:
    """(native addresses, Python part) of a record's user words (no Python part: as is)."""
    if not user or user[-1] >> 40 != pybpf.PY_MAGIC:
        return user, None
    trailer = user[-1]
    flags = (trailer >> 32) & 0xFF
    native = (trailer >> 16) & 0xFFFF
    count = trailer & 0xFFFF
    if native + count + 1 != len(user):
        return user[:-1], PythonStack((), pybpf.STATUS_READ_ERROR)
    return user[:native], PythonStack(user[native:native + count], flags & pybpf.STATUS_MASK,
                                      bool(flags & pybpf.STATUS_NO_GIL))


NAMES_RETRY = 0.5
"""Seconds before a Python process's thread names are read again for a thread not in them."""
NAMES_REFRESH = 2.0
"""Seconds before they are read again anyway (a thread renamed with `t.name = ...`)."""


@dataclass(slots=True)
class _Interpreter:
    proc: PythonProcess
    reader: CodeReader
    key: tuple[str, int] | None
    names: dict[int, str] | None = None
    """tid -> Python's name of the thread, as last read (`threads.thread_names`)."""
    names_read: float = 0.0
    """`time.monotonic()` of that read."""


GIL_RELEASED = "[GIL released]"
"""The frame put below the innermost Python frame of a sample whose thread did not hold the
GIL: the native code under it ran (or waited to take the GIL back) without it."""


def _gil_released_frame() -> Frame:
    return Frame(GIL_RELEASED, None, None, None, FrameKind.INTERPRETER)


def _truncated_frame() -> Frame:
    return Frame(f"[truncated: {pybpf.PY_MAX_FRAMES}+ Python frames]", None, None, None, FrameKind.INTERPRETER)


class PythonUnwinder(Unwinder):
    """A native unwinder plus the Python frames of CPython 3.9-3.13 processes."""

    def __init__(self, native: Unwinder) -> None:
        self.native = native
        self.name = f"{native.name} + Python"
        # Off CPU, the native walk in the sched_switch program and the Python walk in a
        # program it tail-calls: both in one go past the verifier's limit (a million instructions).
        self.off_cpu_function = None if native.off_cpu_function is None else f"native_{native.off_cpu_function}"
        self.off_cpu_extend = pybpf.OFF_CPU_EXTEND
        self._bpf: Any = None
        self._interpreters: dict[int, _Interpreter] = {}
        self._seen: dict[int, tuple[str, int] | None] = {}
        """pid -> the interpreter file and address last looked at (None: not Python)."""
        self.notes: dict[int, str] = {}
        """pid -> what bpfscope made of it (`Python 3.11.7`, or why not)."""
        self.read_errors = 0
        self.truncated = 0
        self.gil_released = 0
        """Distinct stacks marked GIL_RELEASED."""
        """Distinct stacks whose Python part was deeper than the BPF program reads (PY_MAX_FRAMES)."""

    def program_text(self) -> str:
        return pybpf.fragment(self.native.program_text())

    def attach(self, bpf: Any) -> None:
        self.native.attach(bpf)
        self._bpf = bpf

    def track(self, pid: int) -> None:
        self.native.track(pid)
        self._track_python(pid)

    def _track_python(self, pid: int) -> None:
        key = interpreter_key(pid)
        if pid in self._seen and self._seen[pid] == key:
            return
        self._seen[pid] = key
        self._drop(pid)  # an exec: whatever it was before is gone
        if key is None:
            return
        found = detect(pid)
        if isinstance(found, NotSupported):
            self.notes[pid] = found.reason
        elif found is not None:
            self._interpreters[pid] = _Interpreter(found, CodeReader(pid, found.version[:2], found.offsets), key)
            self.notes[pid] = found.describe()
            if self._bpf is not None:
                pybpf.register(self._bpf, found)

    def ready(self, timeout: float) -> bool:
        return self.native.ready(timeout)

    def user_stack(self, pid: int, raw: RawStacks) -> UserStack:
        if pid not in self._seen:
            # A process met in a sample first (sampling every process, `-a`): is it Python?
            # Its later samples will say, from the moment it is registered.
            self._track_python(pid)
        native, python = split_user(raw.user)
        stack = self.native.user_stack(pid, RawStacks(raw.kernel, native, raw.error) if python else raw)
        if python is None:
            return stack
        cut = stack.cut or python.status in (pybpf.STATUS_READ_ERROR, pybpf.STATUS_TRUNCATED)
        return UserStack(stack.addresses, cut, python)

    def rewrite(self, pid: int, stack: UserStack, user: list[int], asm: BatchAssembler) -> list[int]:
        python = stack.extra
        interp = self._interpreters.get(pid)
        if not isinstance(python, PythonStack) or interp is None or not python.words:
            return user
        frames: list[int] = []
        entries: list[bool] = []
        after_shim = False
        reader = interp.reader
        errors = reader.errors
        if python.status == pybpf.STATUS_TRUNCATED:
            # Only the innermost PY_MAX_FRAMES frames were read: say so where the outer ones
            # would be, rather than let the innermost pass for the whole stack.
            self.truncated += 1
            frames.append(asm.frame(_truncated_frame()))
            entries.append(True)
        for word in reversed(python.words):  # root first
            if word & pybpf.SHIM_FLAG:
                after_shim = True
                continue
            frame, resolved = reader.frame(word & _CODE_MASK, word >> 48)
            frames.append(asm.frame(frame, resolved))
            entries.append(bool(word & pybpf.ENTRY_FLAG) or after_shim)
            after_shim = False
        self.read_errors += reader.errors - errors
        names = [asm.frame_name(f) for f in user]
        whole = bool(names) and names[0] in THREAD_ROOTS
        merged = merge(user, names, groups(frames, entries), whole)
        if python.gil_released and frames:
            self.gil_released += 1
            innermost = frames[-1]
            at = len(merged) - merged[::-1].index(innermost) if innermost in merged else len(merged)
            merged.insert(at, asm.frame(_gil_released_frame()))
        return merged

    def thread_name(self, pid: int, tid: int) -> str | None:
        interp = self._interpreters.get(pid)
        if interp is None:
            return None
        names = interp.names
        now = time.monotonic()
        if names is None or now - interp.names_read >= (NAMES_REFRESH if tid in names else NAMES_RETRY):
            names = interp.names = thread_names(interp.reader.memory, interp.proc)
            interp.names_read = now
        return names.get(tid)

    def _drop(self, pid: int) -> None:
        interp = self._interpreters.pop(pid, None)
        self.notes.pop(pid, None)
        if interp is not None:
            interp.reader.close()
            if self._bpf is not None:
                with contextlib.suppress(Exception):
                    pybpf.forget(self._bpf, pid)

    def forget(self, pid: int) -> None:
        self.native.forget(pid)
        self._drop(pid)
        self._seen.pop(pid, None)

    def close(self) -> None:
        self.native.close()
        for interp in self._interpreters.values():
            interp.reader.close()
        self._interpreters.clear()
        self._bpf = None
