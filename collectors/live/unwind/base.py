"""How a user stack is unwound: a piece of the BPF program and its user-space half.

An `Unwinder` supplies the C function the sampling program calls to fill a record's user
addresses (`unwind_user`), sets up whatever that function needs for a process (maps,
tables) when the collector reads the process's mappings, and turns the record's user part
back into native addresses (`user_stack`). Frame pointers, CFI (`.eh_frame`) and Python
frames are implementations side by side; the collector, the symbols and the TUI do not
change with the choice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, NamedTuple

from collectors.live.batches import BatchAssembler
from collectors.live.records import RawStacks


class UserStack(NamedTuple):
    """A sample's user stack as native addresses, leaf first."""

    addresses: tuple[int, ...]
    cut: bool = False
    """The unwinder knows it stopped early (a failed read or a bad unwind rule)."""
    extra: object = None
    """What else the unwinder found (interpreter frames), for its `rewrite`."""


class Unwinder(ABC):
    """One way of unwinding user stacks (see the module docstring)."""

    name: str = ""
    off_cpu_function: str | None = None
    """A C function of `program_text` with `unwind_user`'s signature that starts from the
    task's saved user registers (`bpf_task_pt_regs`), not from the perf event's: the off-CPU
    `sched_switch` tracepoint calls it instead of `bpf_get_stack`, which only follows frame
    pointers. None: frame pointers there too."""
    off_cpu_extend: str | None = None
    """C text defining `offcpu_extend(struct offcpu_t *s, u32 tgid)`, which adds to an
    off-CPU wait's user stack after it is unwound (see `offcpu.program_text`); the Python
    frames. None: nothing added."""

    @abstractmethod
    def program_text(self) -> str:
        """C (after `struct sample_t` and the maps of the collector's program) defining
        `static __always_inline long unwind_user(void *ctx, u64 *ips)`: writes at most
        MAX_FRAMES user addresses, leaf first, into `ips` and returns the bytes written
        or a negative error, as `bpf_get_stack` does."""

    def attach(self, bpf: Any) -> None:  # noqa: B027 (an optional hook)
        """The program is loaded (`bpf` is bcc's BPF object): take the maps it needs."""

    def track(self, pid: int) -> None:  # noqa: B027 (an optional hook)
        """`pid`'s mappings were (re)read: prepare the BPF side for any new ones (worker thread)."""

    def ready(self, timeout: float) -> bool:
        """Wait (at most `timeout` seconds) until what `track` started is in place; False if not yet."""
        return True

    def user_stack(self, pid: int, raw: RawStacks) -> UserStack:
        """The native user stack of a record (by default its addresses as written)."""
        return UserStack(raw.user)

    def rewrite(self, pid: int, stack: UserStack, user: list[int], asm: BatchAssembler) -> list[int]:
        """The user frame ids of a sample (root first, native frames named in `asm`) as
        they should be shown: interpreter frames put in place (by default unchanged).
        Called only for a `stack` with `extra`."""
        return user

    def thread_name(self, pid: int, tid: int) -> str | None:
        """The name the target's runtime gives thread `tid` (Python's `threading`), if it
        has one; called for every record, so cheap when nothing changed."""
        return None

    def forget(self, pid: int) -> None:  # noqa: B027 (an optional hook)
        """`pid` is gone and its last samples are in."""

    def close(self) -> None:  # noqa: B027 (an optional hook)
        """Sampling stopped: free what `attach` and `track` took."""
