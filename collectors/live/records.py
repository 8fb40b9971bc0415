"""The layout of the BPF program's sample records, and their parsing.

One ring-buffer record per sample, `struct sample_t` below (the C text is part of the BPF
program): its head (time, process, thread, CPU, kind, command name), then the byte lengths
of the kernel and user stacks as `bpf_get_stack` returns them (negative: an error), then
the addresses, kernel ones first, each stack leaf first. Off-CPU records (`offcpu.py`)
share the head and the stacks and carry the time off CPU after the addresses.

The bytes after the head (`key`) identify a stack: the collector caches its work per key.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAX_FRAMES = 127
"""Addresses per stack (kernel and user each), as `bpf_get_stack` fills at most."""

SAMPLE_STRUCT = r"""
struct sample_t {
    u64 ts;
    u32 pid;
    u32 tid;
    u32 cpu;
    u32 pad;
    char comm[16];
    s32 klen;
    s32 ulen;
    u64 ips[2 * MAX_FRAMES];
};
"""
"""The record as the BPF program writes it; `pad` is the kind of record (0; off-CPU: 1)."""

HEAD = struct.Struct("<QII4xI16s")
"""ts, pid, tid, (cpu), kind, comm."""
LENS = struct.Struct("<ii")
KEY_START = HEAD.size
IPS_START = KEY_START + LENS.size
FULL_RECORD = 8 + IPS_START + 2 * MAX_FRAMES * 8
"""Ring bytes of a sample with two full stacks (the ring adds an 8-byte header)."""


@dataclass(frozen=True, slots=True)
class RawStacks:
    """A record's stacks as the kernel wrote them, leaf first."""

    kernel: tuple[int, ...]
    user: tuple[int, ...]
    error: bool
    """The kernel or the user stack could not be read (`bpf_get_stack` failed)."""


def split_key(key: bytes) -> RawStacks:
    """The stacks in a record's key bytes (everything after the head)."""
    klen, ulen = LENS.unpack_from(key)
    nk = klen // 8 if klen > 0 else 0
    nu = ulen // 8 if ulen > 0 else 0
    ips = struct.unpack_from(f"<{nk + nu}Q", key, LENS.size)
    return RawStacks(ips[:nk], ips[nk:], klen < 0 or ulen < 0)
