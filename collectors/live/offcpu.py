"""Off-CPU time (`--off-cpu`): where the target waits, from the scheduler's switch events.

This kernel has no kprobes, so the `sched:sched_switch` tracepoint does it all. When a
target thread is switched out (it is `prev`, and still the current task), the program notes
the time and writes its kernel and user stacks straight into the thread's entry of a hash
map (made at its first wait, reused in place after, freed at its last switch: memory only
for threads that wait). When that thread is switched back in (it is `next`), the wait is
added to the entry's pending record if that has the same stacks, else the pending record is
sent and the wait starts a new one. A record is sent, into the collector's ring buffer
without a wake-up, as soon as its waits add up to one sampling period (1/F) or began that
long ago: a thread sleeping 10 ms at a time sends every wait, one doing 100,000 short waits
a second on a lock or a pipe sends about F records a second, each weighing the sum of its
waits and timed at the first (Time Order then shows them at the on-CPU samples' resolution).
Every wait counts, however short; only the record count is bounded.

An off-CPU record has the on-CPU record's layout with `kind` = 1 and, after the addresses,
the nanoseconds off CPU.

Not seen: a wait that began before sampling started (its stack is gone), and the last
switch-out of an exiting thread (its thread id may be reused). When sampling stops, the
pending records and the waits still going on (counted up to the stop) are read from the map
(`pending_records`), so that on-CPU plus off-CPU time adds up to the wall time of every
thread.

User stacks: with the CFI unwinder, its walk (`unwind/cfi.py`), which starts from the task's
saved user registers and so works here as in the sampling program; with frame pointers,
`bpf_get_stack`. An unwinder may extend them (`Unwinder.off_cpu_extend`: the Python frames)
in a second program the first tail-calls (`offcpu_extended`: both walks in one program pass
the verifier's million-instruction limit), which then does the switch-in, at the time the first
program read (a switch is one instant for both threads). The programs share the walks' per-CPU
buffers with the sampling program safely: sched_switch runs with
interrupts off, and the kernel never nests tracing programs on a CPU. Measured on a ping-
pong target switching about 500,000 times a second (`--off-cpu`, no frame pointers): the
program takes 0.75 µs per switch with `bpf_get_stack`, 1.18 µs with the CFI walk (shallow
stacks; each frame more costs more); verifying it adds about 0.2 s at start. With the Python
walk: 2.1-2.3 µs per switch with CFI alone, 2.7-3.1 µs with it (a 3.12 ping-pong, about
200,000 switches a second).

The program text is appended to the collector's (it uses its `config`, `targets` and
`samples` maps and its `MAX_FRAMES`); bcc attaches the tracepoint when it loads it, and the
program stays idle until `enable()` gives it the time sampling began.
"""

from __future__ import annotations

import ctypes as ct
import struct
from typing import Any

OFF_CPU_KIND = 1
"""The `kind` of an off-CPU record (on-CPU samples have 0)."""

ENTRIES = 65536
"""Threads that can wait at once (for `-a`); entries are allocated on use."""

MIN_RING_PAGES = 2048
"""Ring buffer pages (8 MiB) at least with off-CPU records: their rate follows the target's
switches, not the sampling rate."""

EXIT_STATES = 0x30
"""`prev_state` bits of a thread's final switch-out (EXIT_DEAD, EXIT_ZOMBIE)."""

# The record: ts, pid, tid, cpu, kind, comm[16] (the on-CPU head), then klen, ulen, the
# addresses, and the nanoseconds off CPU. A map entry is a record with room for every
# address, then: the pending nanoseconds, the current wait's start and its stacks.
_HEAD = struct.Struct("<QIIII16s")
_LENS = struct.Struct("<ii")
_KEY_START = _HEAD.size
_IPS_START = _KEY_START + _LENS.size
_DURATION = struct.Struct("<Q")
_SLOTS = 2 * 127 + 1
"""Address slots of a map entry's record (both stacks, then the duration)."""
_ENTRY_TAIL = struct.Struct("<QQii")
"""After a map entry's record: pending ns, current wait's start, its klen and ulen."""
_ENTRY_TAIL_START = _IPS_START + _SLOTS * 8
_CUR_IPS_START = _ENTRY_TAIL_START + _ENTRY_TAIL.size

BPF_TEXT = r"""
/* Off-CPU time: see collectors/live/offcpu.py. */
struct offcpu_t {
    /* The pending record: waits with the same stacks, sent as one. */
    u64 ts;
    u32 pid;
    u32 tid;
    u32 cpu;
    u32 kind;
    char comm[16];
    s32 klen;
    s32 ulen;
    u64 ips[2 * MAX_FRAMES + 1];  /* the addresses, then (when sent) the time off CPU */
    u64 total;                    /* its nanoseconds off CPU; 0: nothing pending */
    /* The current wait. */
    u64 cur_ts;                   /* when it began; 0: the thread runs */
    s32 cur_klen;
    s32 cur_ulen;
    u64 cur_ips[2 * MAX_FRAMES];
};

BPF_F_TABLE("hash", u32, struct offcpu_t, offcpu_starts, __ENTRIES__, BPF_F_NO_PREALLOC);
/* [0]: when sampling began (bpf_ktime_get_ns); 0: record nothing. */
BPF_ARRAY(offcpu_config, u64, 1);
BPF_ARRAY(offcpu_lost, u64, 1);
BPF_ARRAY(offcpu_blank, struct offcpu_t, 1);  /* all zeros: a new thread's first entry */
BPF_PROG_ARRAY(offcpu_tail, 1);  /* the extension's program (`attach_extension`), if any */

static __always_inline u32 offcpu_frames(s32 klen, s32 ulen) {
    u32 nk = klen > 0 ? ((u32)klen / 8) & 127 : 0;
    u32 nu = ulen > 0 ? ((u32)ulen / 8) & 127 : 0;
    return nk + nu;
}

static __always_inline void offcpu_send(struct offcpu_t *v) {
    u32 n = offcpu_frames(v->klen, v->ulen);
    v->ips[n] = v->total;
    u32 size = offsetof(struct offcpu_t, ips) + (n + 1) * 8;
    if (size > offsetof(struct offcpu_t, total))
        size = offsetof(struct offcpu_t, total);
    if (samples.ringbuf_output(v, size, BPF_RB_NO_WAKEUP) != 0)
        offcpu_lost.increment(0);
    v->total = 0;
}

/* `next` is switched in: its wait (if it was switched out while recording) ends `now`. */
static __always_inline int offcpu_switch_in(u32 next, u64 now) {
    if (next == 0)
        return 0;
    struct offcpu_t *v = offcpu_starts.lookup(&next);
    if (!v || !v->cur_ts)
        return 0;
    u64 began = v->cur_ts;
    v->cur_ts = 0;
    u32 n = offcpu_frames(v->cur_klen, v->cur_ulen);
    int same = v->total && v->klen == v->cur_klen && v->ulen == v->cur_ulen;
    for (u32 i = 0; same && i < 2 * MAX_FRAMES; i++) {
        if (i >= n)
            break;
        if (v->ips[i] != v->cur_ips[i])
            same = 0;
    }
    if (!same) {
        if (v->total)
            offcpu_send(v);
        v->ts = began;
        v->klen = v->cur_klen;
        v->ulen = v->cur_ulen;
        /* A helper, not a loop: clang would make the loop a memmove, which BPF has not. */
        u32 bytes = n * 8;
        if (bytes > sizeof(v->cur_ips))
            bytes = sizeof(v->cur_ips);
        bpf_probe_read_kernel(v->ips, bytes, v->cur_ips);
    }
    v->total += now - began;
    if (v->total >= __FLUSH_NS__ || now - v->ts >= __FLUSH_NS__)
        offcpu_send(v);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_switch) {
    u32 zero = 0;
    u64 *start = offcpu_config.lookup(&zero);
    if (!start || !*start)
        return 0;
    u64 now = bpf_ktime_get_ns();
    /* The tracepoint runs before the switch: the current task is still `prev`. */
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
    u32 prev = (u32)id;
    if (args->prev_state & __EXIT_STATES__) {
        offcpu_starts.delete(&prev);  /* its last switch: the thread id may be reused */
    } else if (prev != 0) {
        u32 *mode = config.lookup(&zero);
        if (mode && (!*mode || targets.lookup(&tgid))) {
            struct offcpu_t *s = offcpu_starts.lookup(&prev);
            if (!s) {
                struct offcpu_t *blank = offcpu_blank.lookup(&zero);
                if (blank)
                    offcpu_starts.update(&prev, blank);
                s = offcpu_starts.lookup(&prev);
            }
            if (s) {
                s->cur_ts = now;
                s->pid = tgid;
                s->tid = prev;
                s->cpu = bpf_get_smp_processor_id();
                s->kind = __KIND__;
                bpf_get_current_comm(&s->comm, sizeof(s->comm));
                long k = bpf_get_stack(args, s->cur_ips, MAX_FRAMES * 8, 0);
                s->cur_klen = k;
                u32 nk = k > 0 ? ((u32)k / 8) & 127 : 0;
                s->cur_ulen = __USER_STACK__;
                __EXTEND_CALL__
            } else {
                offcpu_lost.increment(0);
            }
        }
    }
    return offcpu_switch_in(args->next_pid, now);
}
__EXTENSION__"""


EXTENDED_PROGRAM = "offcpu_extended"
"""The program the sched_switch program tail-calls when an unwinder extends off-CPU stacks."""

EXTENSION_TEXT = r"""
__EXTEND_FUNCTION__

/* Tail-called by the sched_switch program once it wrote `prev`'s stacks (a program of its
   own: both walks in one pass the verifier's limit): extends them, then switches `next` in. */
int offcpu_extended(void *ctx) {
    /* (not the parameter's type: bcc would define the struct a second time) */
    struct tracepoint__sched__sched_switch *args = ctx;
    u64 id = bpf_get_current_pid_tgid();
    u32 prev = (u32)id;
    struct offcpu_t *s = offcpu_starts.lookup(&prev);
    if (!s || !s->cur_ts)
        return offcpu_switch_in(args->next_pid, bpf_ktime_get_ns());
    /* `next`'s wait ends at the instant `prev`'s begins (the time the first program read),
       not now: the walks between run inside the switch, interrupts off, and the scheduler
       and the on-CPU samples (a tick lands after the switch) charge them to `next` running.
       Read here, they were added to its wait: about 1.1 us a switch, a third too much off
       CPU for two threads taking turns on one CPU. */
    u64 now = s->cur_ts;
    offcpu_extend(s, id >> 32);
    return offcpu_switch_in(args->next_pid, now);
}
"""


def program_text(frequency: int, unwind: str | None = None, extend: str | None = None) -> str:
    """The off-CPU program, to append to the collector's BPF text (waits are sent in records
    of about one sampling period, 1/`frequency`). User stacks follow frame pointers
    (`bpf_get_stack`), or are written by the C function `unwind` of the collector's
    unwinder (`Unwinder.off_cpu_function`: CFI's, which starts from the task's saved
    registers). `extend` (`Unwinder.off_cpu_extend`): C text defining
    `static __always_inline void offcpu_extend(struct offcpu_t *s, u32 tgid)`, which may add
    to a wait's user stack (`s->cur_ips`, `s->cur_ulen`) in a tail-called program (load it
    with `attach_extension`)."""
    if unwind is None:
        user_stack = "bpf_get_stack(args, &s->cur_ips[nk], MAX_FRAMES * 8, BPF_F_USER_STACK)"
    else:
        user_stack = f"{unwind}(args, &s->cur_ips[nk])"
    extension = "" if extend is None else EXTENSION_TEXT.replace("__EXTEND_FUNCTION__", extend)
    call = "" if extend is None else "offcpu_tail.call(args, 0);  /* does the rest when it runs */"
    return (BPF_TEXT.replace("__ENTRIES__", str(ENTRIES)).replace("__KIND__", str(OFF_CPU_KIND))
            .replace("__EXTENSION__", extension).replace("__EXTEND_CALL__", call)
            .replace("__USER_STACK__", user_stack)
            .replace("__EXIT_STATES__", hex(EXIT_STATES))
            .replace("__FLUSH_NS__", f"{max(1, 1_000_000_000 // frequency)}ULL"))


def ring_pages(on_cpu_pages: int) -> int:
    """Ring buffer pages with off-CPU records too (a power of two, as the ring needs)."""
    return max(on_cpu_pages, MIN_RING_PAGES)


def split_record(rec: bytes) -> tuple[bytes, float]:
    """An off-CPU record's stack key (lengths and addresses, as for an on-CPU sample) and its
    seconds off CPU."""
    end = len(rec) - _DURATION.size
    return rec[_KEY_START:end], _DURATION.unpack_from(rec, end)[0] / 1e9


def attach_extension(bpf: Any, tracepoint_type: int) -> None:
    """Load the extension's program (`program_text`'s `extend`) into the tail-call slot."""
    fn = bpf.load_func(EXTENDED_PROGRAM.encode(), tracepoint_type)
    bpf[b"offcpu_tail"][ct.c_int(0)] = ct.c_int(fn.fd)


def enable(bpf: Any, start_ns: int) -> None:
    """Start recording switches; times count from `start_ns` (`time.monotonic_ns()`, the
    clock of `bpf_ktime_get_ns`)."""
    bpf[b"offcpu_config"][ct.c_int(0)] = ct.c_uint64(start_ns)


def disable(bpf: Any) -> None:
    """Stop recording switches (threads switched out stay in the map for `pending_records`)."""
    bpf[b"offcpu_config"][ct.c_int(0)] = ct.c_uint64(0)


def lost(bpf: Any) -> int:
    """Off-CPU records dropped: the map or the ring buffer was full."""
    return int(bpf[b"offcpu_lost"][ct.c_int(0)].value)


def pending_records(bpf: Any, stop_ns: int) -> list[bytes]:
    """Records for what the map holds when sampling stops: pending records, and the waits
    still going on, off CPU until `stop_ns`."""
    out: list[bytes] = []
    for _key, value in bpf[b"offcpu_starts"].items():
        out.extend(entry_records(bytes(value), stop_ns))
    out.sort(key=lambda r: _HEAD.unpack_from(r)[0])
    return out


def entry_records(raw: bytes, stop_ns: int) -> list[bytes]:
    """A map entry (`struct offcpu_t`) as the records the program would have sent: its pending
    record, and its current wait cut at `stop_ns` (a wait begun after it is left out)."""
    out: list[bytes] = []
    total, cur_ts, cur_klen, cur_ulen = _ENTRY_TAIL.unpack_from(raw, _ENTRY_TAIL_START)
    if total:
        klen, ulen = _LENS.unpack_from(raw, _KEY_START)
        out.append(raw[:_IPS_START + _frames(klen, ulen) * 8] + _DURATION.pack(total))
    if 0 < cur_ts <= stop_ns:
        head = bytearray(raw[:_KEY_START])
        struct.pack_into("<Q", head, 0, cur_ts)
        ips = raw[_CUR_IPS_START:_CUR_IPS_START + _frames(cur_klen, cur_ulen) * 8]
        out.append(bytes(head) + _LENS.pack(cur_klen, cur_ulen) + ips + _DURATION.pack(stop_ns - cur_ts))
    return out


def _frames(klen: int, ulen: int) -> int:
    return (klen // 8 if klen > 0 else 0) + (ulen // 8 if ulen > 0 else 0)


def records_off_cpu(collector: object) -> bool:
    """True for a collector that records off-CPU time too (the bcc collector with `off_cpu`)."""
    return getattr(collector, "off_cpu", False) is True


class DrainPacer:
    """When the worker drains next, with off-CPU records in the ring: their rate follows the
    target's switches, not the sampling rate, so the wait shrinks (down to `shortest`) when
    records come fast enough to fill a quarter of the ring before the usual `longest` wait."""

    def __init__(self, ring_bytes: int, longest: float, shortest: float = 0.02) -> None:
        self.ring_bytes = ring_bytes
        self.longest = longest
        self.shortest = shortest
        self.wait = longest
        """Seconds until the next drain."""
        self._last: float | None = None

    def drained(self, nbytes: int, now: float) -> None:
        """A drain at `now` (`time.monotonic()`) found `nbytes` of records."""
        last, self._last = self._last, now
        if last is None or now <= last or nbytes <= 0:
            self.wait = self.longest
            return
        rate = nbytes / (now - last)
        self.wait = max(self.shortest, min(self.longest, self.ring_bytes / 4 / rate))
