"""The BPF side of the Python unwinder: at each sample, the sampled thread's Python frames.

For a process user space recognised as CPython (`detect`), a `py_procs` entry (keyed by
tgid) holds the address of `_PyRuntime`, the version and the struct offsets. At a sample
the fragment finds the thread's `PyThreadState` (cached per tid in `py_threads`, checked
at each use; otherwise found by walking the main interpreter's thread list and matching
`native_thread_id` (3.11+) or the `tid` inside the glibc `struct pthread` that
`thread_id` points to (3.9/3.10)), then walks the frame chain from the innermost frame
outwards, at most `PY_MAX_FRAMES`:

- 3.9/3.10: `tstate->frame`, `PyFrameObject.f_back`; each frame is one call of
  `_PyEval_EvalFrameDefault` (flagged as an entry frame);
- 3.11/3.12: `tstate->cframe->current_frame`, `_PyInterpreterFrame.previous`; 3.11 flags
  entry frames itself (`is_entry`), 3.12 pushes a shim frame owned by the C stack below
  the frames of each eval call: the shim is skipped and the frame above it flagged;
- 3.13: `tstate->current_frame`, as 3.12.

Each frame is recorded as (code object address | 1 if entry, instruction pointer or
`f_lasti`); names and lines are read in user space (`code`). A read that fails cuts the
stack there and is flagged in `status`.
"""

from __future__ import annotations

import contextlib
import ctypes as ct

from collectors.live.python.detect import PythonProcess

PY_MAX_FRAMES = 32
"""At most this many Python frames per sample, the innermost (a power of two: the BPF code
masks indexes); the native frames get the rest of the record's 127 user slots. 64 took the
program past the verifier's limit (E2BIG) together with the CFI unwinder's loops."""
PY_MAGIC = 0xB9F5A7
"""The trailer's tag (bits 40-63)."""
PY_MAX_THREADS = 64
"""Thread states looked at to find a thread that is not cached yet."""

STATUS_OK = 0
STATUS_NO_THREAD = 1
"""The process is Python but the sampled thread has no thread state (a native thread)."""
STATUS_READ_ERROR = 2
STATUS_TRUNCATED = 3
STATUS_NO_GIL = 0x10
"""Added to the status when the sampled thread did not hold the GIL (it released it around
C code, or waits to take it back)."""
STATUS_MASK = 0x0F

ENTRY_FLAG = 1
SHIM_FLAG = 2
NO_OFFSET = 0xFFFF

BPF_FRAGMENT = r"""
#define PY_MAX_FRAMES __PY_MAX_FRAMES__
#define PY_MAX_THREADS __PY_MAX_THREADS__
#define PY_CSTACK 3
#define PY_NO_GIL __PY_NO_GIL__

struct py_proc_t {
    u64 runtime;
    u32 version;      /* major << 8 | minor */
    s32 pthread_tid;
    s16 runtime_interpreters_head;
    s16 interp_tstate_head;
    s16 tstate_next;
    s16 tstate_thread_id;
    s16 tstate_native_thread_id;
    s16 tstate_frame;
    s16 tstate_cframe;
    s16 cframe_current_frame;
    s16 frame_code;
    s16 frame_instr;
    s16 frame_previous;
    s16 frame_flags;
    s16 code_adaptive;
    s16 gil_locked;
    s16 gil_holder;
    s32 gil;
};

struct py_stack_t {
    u64 words[PY_MAX_FRAMES];
};

BPF_HASH(py_procs, u32, struct py_proc_t, 4096);
BPF_HASH(py_threads, u32, u64, 65536);
BPF_PERCPU_ARRAY(py_scratch, struct py_stack_t, 1);

static __always_inline int py_is_thread(struct py_proc_t *p, u64 ts, u32 tid) {
    u32 id = 0;
    if (p->tstate_native_thread_id >= 0) {
        if (bpf_probe_read_user(&id, 4, (void *)(ts + p->tstate_native_thread_id)))
            return -1;
        return id == tid;
    }
    u64 pthread = 0;
    if (bpf_probe_read_user(&pthread, 8, (void *)(ts + p->tstate_thread_id)) || !pthread)
        return -1;
    if (bpf_probe_read_user(&id, 4, (void *)(pthread + p->pthread_tid)))
        return -1;
    return id == tid;
}

static __always_inline u64 py_thread_state(struct py_proc_t *p, u32 tid) {
    u64 *cached = py_threads.lookup(&tid);
    if (cached && *cached && py_is_thread(p, *cached, tid) == 1)
        return *cached;
    u64 interp = 0, ts = 0;
    if (bpf_probe_read_user(&interp, 8, (void *)(p->runtime + p->runtime_interpreters_head)) || !interp)
        return 0;
    if (bpf_probe_read_user(&ts, 8, (void *)(interp + p->interp_tstate_head)))
        return 0;
#pragma clang loop unroll(disable)
    for (int i = 0; i < PY_MAX_THREADS && ts; i++) {
        if (py_is_thread(p, ts, tid) == 1) {
            py_threads.update(&tid, &ts);
            return ts;
        }
        if (bpf_probe_read_user(&ts, 8, (void *)(ts + p->tstate_next)))
            return 0;
    }
    return 0;
}

/* Whether thread state `ts` holds the GIL (1 when that cannot be read: unmarked). The GIL
   is in _PyRuntime before 3.12 and behind the interpreter's `ceval.gil` pointer after. */
static __always_inline int py_holds_gil(struct py_proc_t *p, u64 ts) {
    u64 gil = p->runtime + p->gil;
    if (p->version >= 0x030C) {
        u64 interp = 0;
        if (bpf_probe_read_user(&interp, 8, (void *)(p->runtime + p->runtime_interpreters_head)) || !interp)
            return 1;
        if (bpf_probe_read_user(&gil, 8, (void *)(interp + p->gil)) || !gil)
            return 1;
    }
    s32 locked = 0;
    u64 holder = 0;
    if (bpf_probe_read_user(&locked, 4, (void *)(gil + p->gil_locked))
        || bpf_probe_read_user(&holder, 8, (void *)(gil + p->gil_holder)))
        return 1;
    return locked && holder == ts;
}

/* The sampled thread's Python frames into `out->words`, innermost first: the number of
   words, and in *status 0 (whole), 1 (no thread state), 2 (a read failed: cut), 3 (more
   than PY_MAX_FRAMES: cut), plus PY_NO_GIL when the thread did not hold the GIL. Each word:
   code object address | offset << 48 | flags (bit 0: the outermost frame of an eval call,
   bit 1: a 3.12+ shim frame, with no code). */
static __always_inline u32 py_walk(struct py_proc_t *p, u32 tid, struct py_stack_t *out, u32 *status) {
    *status = 1;
    u64 ts = py_thread_state(p, tid);
    if (!ts)
        return 0;
    *status = 2;
    u64 frame = 0;
    if (p->tstate_cframe >= 0) {
        u64 cframe = 0;
        if (bpf_probe_read_user(&cframe, 8, (void *)(ts + p->tstate_cframe)) || !cframe)
            return 0;
        if (bpf_probe_read_user(&frame, 8, (void *)(cframe + p->cframe_current_frame)))
            return 0;
    } else if (bpf_probe_read_user(&frame, 8, (void *)(ts + p->tstate_frame))) {
        return 0;
    }
    /* The walk never branches on what it found but to stop, so that the verifier's states
       stay few (a count that differs by path makes them grow with the square of the loop). */
    int i = 0;
#pragma clang loop unroll(disable)
    for (; i < PY_MAX_FRAMES; i++) {
        if (!frame)
            break;
        u64 code = 0, instr = 0;
        u8 flags = 0;
        if (p->frame_flags >= 0
            && bpf_probe_read_user(&flags, 1, (void *)(frame + p->frame_flags)))
            break;
        u64 shim = flags == PY_CSTACK && p->version >= 0x030C;
        if (!shim
            && (bpf_probe_read_user(&code, 8, (void *)(frame + p->frame_code))
                || bpf_probe_read_user(&instr, 8, (void *)(frame + p->frame_instr))))
            break;
        u64 offset;
        if (p->version >= 0x030B) {
            u64 start = code + p->code_adaptive;
            offset = instr >= start && instr - start < 0x1FFFE ? (instr - start) >> 1 : 0xFFFF;
        } else {
            offset = (instr & 0xFFFFFFFF) < 0xFFFF ? (instr & 0xFFFFFFFF) : 0xFFFF;
        }
        u64 entry = p->version < 0x030B || (p->version == 0x030B && flags);
        out->words[i & (PY_MAX_FRAMES - 1)] = (code & 0xFFFFFFFFFFF8ULL) | offset << 48 | shim << 1 | entry;
        if (bpf_probe_read_user(&frame, 8, (void *)(frame + p->frame_previous)))
            break;
    }
    *status = !frame ? 0 : i >= PY_MAX_FRAMES ? 3 : 2;
    if (!py_holds_gil(p, ts))
        *status |= PY_NO_GIL;
    return i;
}

/* The user stack with the Python frames: the native unwinder's addresses (cut at the root
   side when both do not fit), the Python words, then a trailer word
   PY_MAGIC << 40 | status << 32 | native count << 16 | Python count (never an address:
   not canonical). Processes that are not Python get the native stack alone. */
static __always_inline long unwind_user(void *ctx, u64 *ips) {
    long n = native_unwind_user(ctx, ips);
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct py_proc_t *p = py_procs.lookup(&tgid);
    if (!p)
        return n;
    u32 zero = 0;
    struct py_stack_t *py = py_scratch.lookup(&zero);
    if (!py)
        return n;
    u32 status = 0;
    u32 m = py_walk(p, (u32)bpf_get_current_pid_tgid(), py, &status);
    if (m > PY_MAX_FRAMES)
        m = PY_MAX_FRAMES;
    u32 native = n > 0 ? ((u32)n / 8) & 127 : 0;
    /* The last slot is kept free: 126 words at most, so that the verifier sees every
       write inside the record whatever the kernel stack took. */
    if (native + m > MAX_FRAMES - 2)
        native = MAX_FRAMES - 2 - m;
#pragma clang loop unroll(disable)
    for (u32 i = 0; i < PY_MAX_FRAMES; i++) {
        if (i >= m)
            break;
        u32 at = native + i;
        if (at >= MAX_FRAMES - 2)
            break;
        /* Keep clang from computing the address before the check the verifier needs. */
        asm volatile("" : "+r"(at));
        at &= 127;
        if (at >= MAX_FRAMES - 2)
            break;
        ips[at] = py->words[i & (PY_MAX_FRAMES - 1)];
    }
    u32 end = native + m;
    asm volatile("" : "+r"(end));
    end &= 127;
    if (end > MAX_FRAMES - 2)
        return n;
    ips[end] = PY_MAGIC << 40 | (u64)status << 32 | (u64)native << 16 | m;
    return (end + 1) * 8;
}
"""


OFF_CPU_EXTEND = r"""
/* Off CPU: the waiting thread's Python frames after the native user addresses of
   `s->cur_ips`, with the on-CPU record's trailer (`unwind_user` above), so that user space
   reads both alike. Runs in the tail-called `offcpu_extended` program. */
static __always_inline void offcpu_extend(struct offcpu_t *s, u32 tgid) {
    struct py_proc_t *p = py_procs.lookup(&tgid);
    if (!p)
        return;
    u32 zero = 0;
    struct py_stack_t *py = py_scratch.lookup(&zero);
    if (!py)
        return;
    u32 status = 0;
    u32 m = py_walk(p, s->tid, py, &status);
    if (m > PY_MAX_FRAMES)
        m = PY_MAX_FRAMES;
    s32 klen = s->cur_klen, ulen = s->cur_ulen;
    u32 nk = klen > 0 ? ((u32)klen / 8) & 127 : 0;
    u32 native = ulen > 0 ? ((u32)ulen / 8) & 127 : 0;
    if (native + m > MAX_FRAMES - 2)
        native = MAX_FRAMES - 2 - m;
#pragma clang loop unroll(disable)
    for (u32 i = 0; i < PY_MAX_FRAMES; i++) {
        if (i >= m)
            break;
        u32 at = nk + native + i;
        asm volatile("" : "+r"(at));
        if (at >= 2 * MAX_FRAMES)
            break;
        at &= 255;
        if (at >= 2 * MAX_FRAMES)
            break;
        s->cur_ips[at] = py->words[i & (PY_MAX_FRAMES - 1)];
    }
    u32 end = nk + native + m;
    asm volatile("" : "+r"(end));
    end &= 255;
    if (end >= 2 * MAX_FRAMES)
        return;
    s->cur_ips[end] = PY_MAGIC << 40 | (u64)status << 32 | (u64)native << 16 | m;
    s->cur_ulen = (native + m + 1) * 8;
}
"""


def fragment(native: str) -> str:
    """The C text of `unwind_user` with Python frames, around a native unwinder's text
    (whose `unwind_user` is renamed `native_unwind_user`)."""
    return (native.replace("unwind_user(", "native_unwind_user(")
            + f"#define PY_MAGIC {PY_MAGIC:#x}ULL\n"
            + BPF_FRAGMENT.replace("__PY_MAX_FRAMES__", str(PY_MAX_FRAMES))
            .replace("__PY_MAX_THREADS__", str(PY_MAX_THREADS))
            .replace("__PY_NO_GIL__", str(STATUS_NO_GIL)))


class PyProcConfig(ct.Structure):
    """`struct py_proc_t`, the per-process entry of `py_procs`."""

    _fields_ = [("runtime", ct.c_uint64), ("version", ct.c_uint32), ("pthread_tid", ct.c_int32)] + [
        (name, ct.c_int16) for name in (
            "runtime_interpreters_head", "interp_tstate_head", "tstate_next", "tstate_thread_id",
            "tstate_native_thread_id", "tstate_frame", "tstate_cframe", "cframe_current_frame", "frame_code",
            "frame_instr", "frame_previous", "frame_flags", "code_adaptive", "gil_locked", "gil_holder")] + [
        ("gil", ct.c_int32)]


def config(proc: PythonProcess) -> PyProcConfig:
    """The `py_procs` entry for a recognised process."""
    o = proc.offsets
    major, minor, _ = proc.version
    return PyProcConfig(
        runtime=proc.runtime, version=major << 8 | minor, pthread_tid=proc.pthread_tid,
        runtime_interpreters_head=o.runtime_interpreters_head, interp_tstate_head=o.interp_tstate_head,
        tstate_next=o.tstate_next, tstate_thread_id=o.tstate_thread_id,
        tstate_native_thread_id=o.tstate_native_thread_id, tstate_frame=o.tstate_frame,
        tstate_cframe=o.tstate_cframe, cframe_current_frame=o.cframe_current_frame, frame_code=o.frame_code,
        frame_instr=o.frame_instr, frame_previous=o.frame_previous,
        frame_flags=o.frame_is_entry if o.frame_is_entry >= 0 else o.frame_owner,
        code_adaptive=o.code_adaptive, gil_locked=o.gil_locked, gil_holder=o.gil_holder, gil=o.gil)


def register(bpf: object, proc: PythonProcess) -> None:
    """Fill `py_procs` for `proc` in a loaded program that includes the fragment."""
    table = bpf[b"py_procs"]  # type: ignore[index]
    table[ct.c_uint32(proc.pid)] = config(proc)


def forget(bpf: object, pid: int) -> None:
    """Drop a process's entry (it exited or exec'd into something else)."""
    table = bpf[b"py_procs"]  # type: ignore[index]
    with contextlib.suppress(KeyError):
        del table[ct.c_uint32(pid)]
