/* Prints the CPython struct offsets bpfscope's Python unwinder needs, from the internal
   headers of the build it is compiled against (scripts/python_offsets.sh runs it for every
   pyenv version; collectors/live/python/offsets.py ships the result, and a test checks it). */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#include "internal/pycore_code.h"
#else
#include "frameobject.h"
#endif

#define P(name, value) printf("%s %ld\n", name, (long)(value))

int main(void) {
    P("runtime_interpreters_head", offsetof(_PyRuntimeState, interpreters.head));
#if PY_VERSION_HEX >= 0x030B0000
    P("interp_tstate_head", offsetof(PyInterpreterState, threads.head));
#else
    P("interp_tstate_head", offsetof(PyInterpreterState, tstate_head));
#endif
    P("tstate_next", offsetof(PyThreadState, next));
    P("tstate_thread_id", offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030B0000
    P("tstate_native_thread_id", offsetof(PyThreadState, native_thread_id));
#else
    P("tstate_native_thread_id", -1);
#endif
#if PY_VERSION_HEX >= 0x030D0000
    P("tstate_frame", offsetof(PyThreadState, current_frame));
    P("tstate_cframe", -1);
    P("cframe_current_frame", -1);
#elif PY_VERSION_HEX >= 0x030B0000
    P("tstate_frame", -1);
    P("tstate_cframe", offsetof(PyThreadState, cframe));
    P("cframe_current_frame", offsetof(_PyCFrame, current_frame));
#else
    P("tstate_frame", offsetof(PyThreadState, frame));
    P("tstate_cframe", -1);
    P("cframe_current_frame", -1);
#endif
#if PY_VERSION_HEX >= 0x030B0000
#if PY_VERSION_HEX >= 0x030D0000
    P("frame_code", offsetof(_PyInterpreterFrame, f_executable));
    P("frame_instr", offsetof(_PyInterpreterFrame, instr_ptr));
#else
    P("frame_code", offsetof(_PyInterpreterFrame, f_code));
    P("frame_instr", offsetof(_PyInterpreterFrame, prev_instr));
#endif
    P("frame_previous", offsetof(_PyInterpreterFrame, previous));
    P("frame_owner", offsetof(_PyInterpreterFrame, owner));
#if PY_VERSION_HEX < 0x030C0000
    P("frame_is_entry", offsetof(_PyInterpreterFrame, is_entry));
#else
    P("frame_is_entry", -1);
#endif
    P("code_qualname", offsetof(PyCodeObject, co_qualname));
    P("code_adaptive", offsetof(PyCodeObject, co_code_adaptive));
#else
    P("frame_code", offsetof(PyFrameObject, f_code));
    P("frame_instr", offsetof(PyFrameObject, f_lasti));
    P("frame_previous", offsetof(PyFrameObject, f_back));
    P("frame_owner", -1);
    P("frame_is_entry", -1);
    P("code_qualname", -1);
    P("code_adaptive", -1);
#endif
    P("code_name", offsetof(PyCodeObject, co_name));
    P("code_filename", offsetof(PyCodeObject, co_filename));
    P("code_firstlineno", offsetof(PyCodeObject, co_firstlineno));
#if PY_VERSION_HEX >= 0x030A0000
    P("code_linetable", offsetof(PyCodeObject, co_linetable));
#else
    P("code_linetable", offsetof(PyCodeObject, co_lnotab));
#endif
    P("unicode_state", offsetof(PyASCIIObject, state));
    P("unicode_length", offsetof(PyASCIIObject, length));
    P("unicode_ascii_size", sizeof(PyASCIIObject));
    P("unicode_compact_size", sizeof(PyCompactUnicodeObject));
    P("bytes_size", offsetof(PyBytesObject, ob_base.ob_size));
    P("bytes_data", offsetof(PyBytesObject, ob_sval));
    /* The GIL: before 3.12 embedded in _PyRuntime (`gil` is its offset there), from 3.12 the
       interpreter's `ceval.gil` points to it (`gil` is that pointer's offset in the interpreter). */
#if PY_VERSION_HEX >= 0x030C0000
    P("gil", offsetof(PyInterpreterState, ceval.gil));
#else
    P("gil", offsetof(_PyRuntimeState, ceval.gil));
#endif
    P("gil_locked", offsetof(struct _gil_runtime_state, locked));
    P("gil_holder", offsetof(struct _gil_runtime_state, last_holder));
    return 0;
}
