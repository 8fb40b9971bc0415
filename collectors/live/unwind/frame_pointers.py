"""Frame-pointer unwinding: the kernel follows the rbp chain (`bpf_get_stack`)."""

from __future__ import annotations

from collectors.live.unwind.base import Unwinder

PROGRAM_TEXT = r"""
static __always_inline long unwind_user(void *ctx, u64 *ips) {
    return bpf_get_stack(ctx, ips, MAX_FRAMES * 8, BPF_F_USER_STACK);
}
"""


class FramePointerUnwinder(Unwinder):
    """Follows frame pointers in the kernel: whole stacks only where every function keeps them."""

    name = "frame pointers"

    def program_text(self) -> str:
        return PROGRAM_TEXT
