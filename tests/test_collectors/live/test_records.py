"""The sample record layout (`records.py`) and the perf fallback's call-graph choice."""

from __future__ import annotations

import struct

from collectors.live.perf_collector import call_graph, mmap_pages
from collectors.live.records import HEAD, IPS_START, KEY_START, LENS, RawStacks, split_key
from collectors.live.unwind.base import UserStack
from collectors.live.unwind.frame_pointers import FramePointerUnwinder


def _record(kernel: list[int], user: list[int], klen: int | None = None, ulen: int | None = None) -> bytes:
    head = HEAD.pack(123, 10, 11, 0, b"comm")
    lens = LENS.pack(len(kernel) * 8 if klen is None else klen, len(user) * 8 if ulen is None else ulen)
    return head + lens + struct.pack(f"<{len(kernel) + len(user)}Q", *kernel, *user)


def test_split_key_gives_both_stacks_leaf_first() -> None:
    rec = _record([0xFFFF0001, 0xFFFF0002], [0x401000, 0x402000, 0x403000])
    assert KEY_START + LENS.size == IPS_START
    assert split_key(rec[KEY_START:]) == RawStacks((0xFFFF0001, 0xFFFF0002), (0x401000, 0x402000, 0x403000), False)


def test_a_failed_stack_is_empty_and_an_error() -> None:
    """bpf_get_stack's negative lengths (-EFAULT) mean no addresses and a stack error."""
    rec = _record([], [0x401000], klen=-14)
    assert split_key(rec[KEY_START:]) == RawStacks((), (0x401000,), True)


def test_frame_pointer_unwinder_keeps_the_addresses() -> None:
    raw = RawStacks((), (1, 2, 3), False)
    assert FramePointerUnwinder().user_stack(1, raw) == UserStack((1, 2, 3))
    assert "BPF_F_USER_STACK" in FramePointerUnwinder().program_text()


def test_perf_unwinds_a_target_with_dwarf_and_all_processes_with_frame_pointers() -> None:
    assert call_graph(None) == ["-g"]
    assert call_graph(42)[:2] == ["--call-graph", "dwarf,16384"]
    # The same half second of data in perf record's buffer: 16 KB stacks need far more pages.
    assert mmap_pages(99) == 1
    assert mmap_pages(99, dwarf=True) == 512
    assert mmap_pages(999, dwarf=True) == 4096
