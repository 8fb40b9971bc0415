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

import ctypes as ct

from collectors.live.python.detect import PythonProcess

PY_MAX_FRAMES = 128
"""At most this many Python frames per sample (a power of two: the BPF code masks indexes)."""
PY_MAX_THREADS = 64
"""Thread states looked at to find a thread that is not cached yet."""

STATUS_OK = 0
STATUS_NO_THREAD = 1
"""The process is Python but the sampled thread has no thread state (a native thread)."""
STATUS_READ_ERROR = 2
STATUS_TRUNCATED = 3
STATUS_NOT_PYTHON = 4

ENTRY_FLAG = 1

BPF_FRAGMENT = r"""
#define PY_MAX_FRAMES __PY_MAX_FRAMES__
#define PY_MAX_THREADS __PY_MAX_THREADS__
#define PY_CSTACK 3

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
    s16 pad[2];
};

struct py_frame_t {
    u64 code;
    u64 instr;
};

struct py_stack_t {
    s32 len;
    u32 status;
    struct py_frame_t frames[PY_MAX_FRAMES];
    u8 flags[PY_MAX_FRAMES];  /* 3.11: is_entry; 3.12+: owner */
};

BPF_HASH(py_procs, u32, struct py_proc_t, 4096);
BPF_HASH(py_threads, u32, u64, 65536);

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

static __always_inline void py_walk(u32 tgid, u32 tid, struct py_stack_t *out) {
    out->len = 0;
    struct py_proc_t *p = py_procs.lookup(&tgid);
    if (!p) {
        out->status = 4;
        return;
    }
    out->status = 1;
    u64 ts = py_thread_state(p, tid);
    if (!ts)
        return;
    out->status = 2;
    u64 frame = 0;
    if (p->tstate_cframe >= 0) {
        u64 cframe = 0;
        if (bpf_probe_read_user(&cframe, 8, (void *)(ts + p->tstate_cframe)) || !cframe)
            return;
        if (bpf_probe_read_user(&frame, 8, (void *)(cframe + p->cframe_current_frame)))
            return;
    } else if (bpf_probe_read_user(&frame, 8, (void *)(ts + p->tstate_frame))) {
        return;
    }
    /* One slot per frame met, the shim frames of 3.12+ included (code 0, flags PY_CSTACK):
       the walk never branches on what it found but to stop, so that the verifier's states
       stay few (a count that differs by path makes them grow with the square of the loop). */
    int i = 0;
    for (; i < PY_MAX_FRAMES; i++) {
        if (!frame)
            break;
        struct py_frame_t *f = &out->frames[i & (PY_MAX_FRAMES - 1)];
        f->code = 0;
        f->instr = 0;
        u8 flags = 0;
        if (p->frame_flags >= 0
            && bpf_probe_read_user(&flags, 1, (void *)(frame + p->frame_flags)))
            break;
        if (flags != PY_CSTACK || p->version < 0x030C) {
            if (bpf_probe_read_user(&f->code, 8, (void *)(frame + p->frame_code))
                || bpf_probe_read_user(&f->instr, 8, (void *)(frame + p->frame_instr)))
                break;
        }
        out->flags[i & (PY_MAX_FRAMES - 1)] = flags;
        if (bpf_probe_read_user(&frame, 8, (void *)(frame + p->frame_previous)))
            break;
    }
    out->len = i;
    out->status = !frame ? 0 : i >= PY_MAX_FRAMES ? 3 : 2;
}
"""


def fragment() -> str:
    """The C text (maps and `py_walk`) for a BPF program that includes the Python unwinder."""
    return (BPF_FRAGMENT.replace("__PY_MAX_FRAMES__", str(PY_MAX_FRAMES))
            .replace("__PY_MAX_THREADS__", str(PY_MAX_THREADS)))


class PyProcConfig(ct.Structure):
    """`struct py_proc_t`, the per-process entry of `py_procs`."""

    _fields_ = [("runtime", ct.c_uint64), ("version", ct.c_uint32), ("pthread_tid", ct.c_int32)] + [
        (name, ct.c_int16) for name in (
            "runtime_interpreters_head", "interp_tstate_head", "tstate_next", "tstate_thread_id",
            "tstate_native_thread_id", "tstate_frame", "tstate_cframe", "cframe_current_frame", "frame_code",
            "frame_instr", "frame_previous", "frame_flags", "pad0", "pad1")]


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
        frame_flags=o.frame_is_entry if o.frame_is_entry >= 0 else o.frame_owner, pad0=0, pad1=0)


def register(bpf: object, proc: PythonProcess) -> None:
    """Fill `py_procs` for `proc` in a loaded program that includes the fragment."""
    table = bpf[b"py_procs"]  # type: ignore[index]
    table[ct.c_uint32(proc.pid)] = config(proc)


def forget(bpf: object, pid: int) -> None:
    """Drop a process's entry (it exited or exec'd into something else)."""
    table = bpf[b"py_procs"]  # type: ignore[index]
    try:
        del table[ct.c_uint32(pid)]
    except KeyError:
        pass
