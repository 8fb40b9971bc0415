/* Prints the CPython struct offsets bpfscope's Python unwinder needs, from the internal
   headers of the build it is compiled against (scripts/python_offsets.sh runs it for every
   pyenv version; collectors/live/python/offsets.py ships the result, and a test checks it). */
#define Py_BUILD_CORE 1
/* Without assertions the internal inline helpers (_PyObject_ValuesPointer, ...) are pointer
   arithmetic only, so they can be applied to a made-up address below. */
#define NDEBUG 1
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
#include "longintrepr.h"
#endif
#if PY_VERSION_HEX >= 0x030A0000
#include "internal/pycore_moduleobject.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_dict.h"
#include "internal/pycore_object.h"
#else
/* 3.9/3.10 keep these in Objects/dict-common.h, which is not installed: this is a copy of
   its layout (the same in both), so the numbers below are the compiler's for that copy;
   tests/test_collectors/live/test_python_threads.py checks them in a live interpreter. */
typedef struct {
    Py_hash_t me_hash;
    PyObject *me_key;
    PyObject *me_value;
} PyDictKeyEntry;
typedef struct {
    Py_ssize_t dk_refcnt;
    Py_ssize_t dk_size;
    void *dk_lookup;
    Py_ssize_t dk_usable;
    Py_ssize_t dk_nentries;
    char dk_indices[];
} DictKeys39;
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

    /* --- thread names (collectors/live/python/threads.py): sys.modules -> threading ->
       _active -> each Thread's instance dict, and the ints and dicts on the way. --- */
    P("interp_next", offsetof(PyInterpreterState, next));
#if PY_VERSION_HEX >= 0x030C0000
    P("interp_modules", offsetof(PyInterpreterState, imports.modules));
#else
    P("interp_modules", offsetof(PyInterpreterState, modules));
#endif
    P("object_type", offsetof(PyObject, ob_type));
    P("type_name", offsetof(PyTypeObject, tp_name));
    P("type_flags", offsetof(PyTypeObject, tp_flags));
    P("type_dictoffset", offsetof(PyTypeObject, tp_dictoffset));
    P("heaptype_cached_keys", offsetof(PyHeapTypeObject, ht_cached_keys));
#if PY_VERSION_HEX >= 0x030A0000
    P("module_dict", offsetof(PyModuleObject, md_dict));
#else
    /* 3.9 defines PyModuleObject in Objects/moduleobject.c only: md_dict follows the header. */
    P("module_dict", sizeof(PyObject));
#endif
    {
        char *base = (char *)0x100000;
        PyObject *obj = (PyObject *)base;
        (void)obj;
#if PY_VERSION_HEX >= 0x030D0000
        P("tpflags_managed_dict", Py_TPFLAGS_MANAGED_DICT);
        P("tpflags_inline_values", Py_TPFLAGS_INLINE_VALUES);
        P("managed_dict_before", base - (char *)_PyObject_ManagedDictPointer(obj));
        P("managed_values_before", -1);
        P("inline_values", (char *)_PyObject_InlineValues(obj) - base);
#elif PY_VERSION_HEX >= 0x030C0000
        P("tpflags_managed_dict", Py_TPFLAGS_MANAGED_DICT);
        P("tpflags_inline_values", -1);
        P("managed_dict_before", base - (char *)_PyObject_DictOrValuesPointer(obj));
        P("managed_values_before", -1);
        P("inline_values", -1);
#elif PY_VERSION_HEX >= 0x030B0000
        P("tpflags_managed_dict", Py_TPFLAGS_MANAGED_DICT);
        P("tpflags_inline_values", -1);
        P("managed_dict_before", base - (char *)_PyObject_ManagedDictPointer(obj));
        P("managed_values_before", base - (char *)_PyObject_ValuesPointer(obj));
        P("inline_values", -1);
#else
        P("tpflags_managed_dict", -1);
        P("tpflags_inline_values", -1);
        P("managed_dict_before", -1);
        P("managed_values_before", -1);
        P("inline_values", -1);
#endif
    }
    P("dict_used", offsetof(PyDictObject, ma_used));
    P("dict_keys", offsetof(PyDictObject, ma_keys));
    P("dict_values", offsetof(PyDictObject, ma_values));
#if PY_VERSION_HEX >= 0x030B0000
    P("dictkeys_size", -1);
    P("dictkeys_log2_size", offsetof(PyDictKeysObject, dk_log2_size));
    P("dictkeys_log2_index_bytes", offsetof(PyDictKeysObject, dk_log2_index_bytes));
    P("dictkeys_kind", offsetof(PyDictKeysObject, dk_kind));
    P("dictkeys_nentries", offsetof(PyDictKeysObject, dk_nentries));
    P("dictkeys_indices", offsetof(PyDictKeysObject, dk_indices));
    P("dictunicodeentry_size", sizeof(PyDictUnicodeEntry));
    P("dictunicodeentry_key", offsetof(PyDictUnicodeEntry, me_key));
    P("dictunicodeentry_value", offsetof(PyDictUnicodeEntry, me_value));
    P("dictvalues_values", offsetof(PyDictValues, values));
#else
    P("dictkeys_size", offsetof(DictKeys39, dk_size));
    P("dictkeys_log2_size", -1);
    P("dictkeys_log2_index_bytes", -1);
    P("dictkeys_kind", -1);
    P("dictkeys_nentries", offsetof(DictKeys39, dk_nentries));
    P("dictkeys_indices", offsetof(DictKeys39, dk_indices));
    P("dictunicodeentry_size", -1);
    P("dictunicodeentry_key", -1);
    P("dictunicodeentry_value", -1);
    P("dictvalues_values", 0);  /* ma_values is the PyObject *[] itself */
#endif
#if PY_VERSION_HEX >= 0x030D0000
    P("dictvalues_valid", offsetof(PyDictValues, valid));
#else
    P("dictvalues_valid", -1);
#endif
    P("dictentry_size", sizeof(PyDictKeyEntry));
    P("dictentry_key", offsetof(PyDictKeyEntry, me_key));
    P("dictentry_value", offsetof(PyDictKeyEntry, me_value));
#if PY_VERSION_HEX >= 0x030C0000
    P("long_size", -1);
    P("long_tag", offsetof(PyLongObject, long_value.lv_tag));
    P("long_tag_size_shift", _PyLong_NON_SIZE_BITS);
    P("long_digits", offsetof(PyLongObject, long_value.ob_digit));
#else
    P("long_size", offsetof(PyLongObject, ob_base.ob_size));
    P("long_tag", -1);
    P("long_tag_size_shift", -1);
    P("long_digits", offsetof(PyLongObject, ob_digit));
#endif
    P("long_shift", PyLong_SHIFT);
    return 0;
}
