"""Where CPython keeps what the frame walk needs, per version.

The table below was produced by `scripts/python_offsets.c` compiled against the internal
headers of each pyenv build (3.9.18, 3.10.13, 3.11.7, 3.12.1, 3.13.0) and is shipped
because a server has no headers; `tests/test_collectors/live/test_python_offsets.py`
compiles the program again against every installed build and compares. Layouts do not
change within a minor version (CPython keeps the ABI of these structs stable in a release
series), so the table is keyed by (major, minor). For 3.13 the interpreter describes itself:
`_Py_DebugOffsets` at the start of `_PyRuntime` (`debug_offsets` reads it), checked against
this table too. -1 means the field does not exist in that version.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, fields, replace


@dataclass(frozen=True, slots=True)
class PyOffsets:
    """Byte offsets (or sizes) inside CPython's structures; -1 where a version lacks the field."""

    runtime_interpreters_head: int
    interp_tstate_head: int
    tstate_next: int
    tstate_thread_id: int
    tstate_native_thread_id: int
    tstate_frame: int
    """3.9/3.10: `PyThreadState.frame` (PyFrameObject*); 3.13: `current_frame`."""
    tstate_cframe: int
    """3.11/3.12: `PyThreadState.cframe`, whose `current_frame` is the innermost frame."""
    cframe_current_frame: int
    frame_code: int
    """`f_code` (3.9-3.12) or `f_executable` (3.13)."""
    frame_instr: int
    """3.9/3.10: `f_lasti` (an int); 3.11/3.12: `prev_instr`; 3.13: `instr_ptr`."""
    frame_previous: int
    frame_owner: int
    frame_is_entry: int
    code_qualname: int
    code_adaptive: int
    code_name: int
    code_filename: int
    code_firstlineno: int
    code_linetable: int
    """`co_lnotab` in 3.9, `co_linetable` after."""
    unicode_state: int
    unicode_length: int
    unicode_ascii_size: int
    unicode_compact_size: int
    bytes_size: int
    bytes_data: int
    gil: int
    """Where the GIL is: before 3.12 its offset inside `_PyRuntime` (`ceval.gil`, embedded);
    from 3.12 the offset inside the interpreter state of `ceval.gil`, a pointer to it."""
    gil_locked: int
    """`locked` (an int) inside `struct _gil_runtime_state`."""
    gil_holder: int
    """`last_holder` (the thread state that took the GIL last) inside it."""

    # --- thread names (`threads.py`): sys.modules -> threading -> `_active` -> each Thread's
    # instance dict; objects, dicts and ints on the way. Kept apart from the frame walk's fields.
    interp_next: int
    interp_modules: int
    """`PyInterpreterState.modules` (3.9-3.11), `.imports.modules` (3.12+): sys.modules."""
    object_type: int
    type_name: int
    type_flags: int
    type_dictoffset: int
    heaptype_cached_keys: int
    """`PyHeapTypeObject.ht_cached_keys`: the keys shared by instances whose dict is values only."""
    module_dict: int
    tpflags_managed_dict: int
    """The flag values `Py_TPFLAGS_MANAGED_DICT` (3.11+) and `Py_TPFLAGS_INLINE_VALUES` (3.13)."""
    tpflags_inline_values: int
    managed_dict_before: int
    """3.11+: bytes before an object where its managed dict pointer is (3.12: dict or tagged values)."""
    managed_values_before: int
    """3.11: bytes before an object where its values pointer is."""
    inline_values: int
    """3.13: offset of the inline `PyDictValues` from the object."""
    dict_used: int
    dict_keys: int
    dict_values: int
    dictkeys_size: int
    """3.9/3.10: `dk_size`; from 3.11 the size is `dk_log2_size`."""
    dictkeys_log2_size: int
    dictkeys_log2_index_bytes: int
    dictkeys_kind: int
    dictkeys_nentries: int
    dictkeys_indices: int
    dictunicodeentry_size: int
    dictunicodeentry_key: int
    dictunicodeentry_value: int
    dictvalues_values: int
    dictvalues_valid: int
    dictentry_size: int
    dictentry_key: int
    dictentry_value: int
    long_size: int
    """3.9-3.11: `ob_size` (digit count, negative for negative ints)."""
    long_tag: int
    """3.12+: `long_value.lv_tag` (digit count shifted by `long_tag_size_shift`, sign in the low bits)."""
    long_tag_size_shift: int
    long_digits: int
    long_shift: int
    """Bits per digit (`PyLong_SHIFT`)."""

    def code_header_size(self) -> int:
        """Bytes to read from a code object's start to get every field used."""
        return max(self.code_qualname, self.code_name, self.code_filename, self.code_firstlineno,
                   self.code_linetable) + 8


FRAME_OWNED_BY_CSTACK = 3
"""3.12+: an interpreter frame owned by the C stack: the shim each `_PyEval_EvalFrameDefault`
call pushes below the Python frames it runs (an entry boundary, not a Python function)."""

TABLE: dict[tuple[int, int], PyOffsets] = {
    (3, 9): PyOffsets(runtime_interpreters_head=32, interp_tstate_head=8, tstate_next=8, tstate_thread_id=176,
                      tstate_native_thread_id=-1, tstate_frame=24, tstate_cframe=-1, cframe_current_frame=-1,
                      frame_code=32, frame_instr=104, frame_previous=24, frame_owner=-1, frame_is_entry=-1,
                      code_qualname=-1, code_adaptive=-1, code_name=112, code_filename=104, code_firstlineno=40,
                      code_linetable=120, unicode_state=32, unicode_length=16, unicode_ascii_size=48,
                      unicode_compact_size=72, bytes_size=16, bytes_data=32,
                      gil=352, gil_locked=16, gil_holder=8,
                      # thread names
                      interp_next=0, interp_modules=856, object_type=8, type_name=24, type_flags=168,
                      type_dictoffset=288, heaptype_cached_keys=864, module_dict=16, tpflags_managed_dict=-1,
                      tpflags_inline_values=-1, managed_dict_before=-1, managed_values_before=-1,
                      inline_values=-1, dict_used=16, dict_keys=32, dict_values=40, dictkeys_size=8,
                      dictkeys_log2_size=-1, dictkeys_log2_index_bytes=-1, dictkeys_kind=-1,
                      dictkeys_nentries=32, dictkeys_indices=40, dictunicodeentry_size=-1,
                      dictunicodeentry_key=-1, dictunicodeentry_value=-1, dictvalues_values=0,
                      dictvalues_valid=-1, dictentry_size=24, dictentry_key=8, dictentry_value=16,
                      long_size=16, long_tag=-1, long_tag_size_shift=-1, long_digits=24, long_shift=30),
    (3, 10): PyOffsets(runtime_interpreters_head=32, interp_tstate_head=8, tstate_next=8, tstate_thread_id=176,
                       tstate_native_thread_id=-1, tstate_frame=24, tstate_cframe=-1, cframe_current_frame=-1,
                       frame_code=32, frame_instr=96, frame_previous=24, frame_owner=-1, frame_is_entry=-1,
                       code_qualname=-1, code_adaptive=-1, code_name=112, code_filename=104, code_firstlineno=40,
                       code_linetable=120, unicode_state=32, unicode_length=16, unicode_ascii_size=48,
                       unicode_compact_size=72, bytes_size=16, bytes_data=32,
                       gil=352, gil_locked=16, gil_holder=8,
                       # thread names
                       interp_next=0, interp_modules=856, object_type=8, type_name=24, type_flags=168,
                       type_dictoffset=288, heaptype_cached_keys=872, module_dict=16,
                       tpflags_managed_dict=-1, tpflags_inline_values=-1, managed_dict_before=-1,
                       managed_values_before=-1, inline_values=-1, dict_used=16, dict_keys=32,
                       dict_values=40, dictkeys_size=8, dictkeys_log2_size=-1, dictkeys_log2_index_bytes=-1,
                       dictkeys_kind=-1, dictkeys_nentries=32, dictkeys_indices=40, dictunicodeentry_size=-1,
                       dictunicodeentry_key=-1, dictunicodeentry_value=-1, dictvalues_values=0,
                       dictvalues_valid=-1, dictentry_size=24, dictentry_key=8, dictentry_value=16,
                       long_size=16, long_tag=-1, long_tag_size_shift=-1, long_digits=24, long_shift=30),
    (3, 11): PyOffsets(runtime_interpreters_head=40, interp_tstate_head=16, tstate_next=8, tstate_thread_id=152,
                       tstate_native_thread_id=160, tstate_frame=-1, tstate_cframe=56, cframe_current_frame=8,
                       frame_code=32, frame_instr=56, frame_previous=48, frame_owner=69, frame_is_entry=68,
                       code_qualname=128, code_adaptive=184, code_name=120, code_filename=112, code_firstlineno=72,
                       code_linetable=136, unicode_state=32, unicode_length=16, unicode_ascii_size=48,
                       unicode_compact_size=72, bytes_size=16, bytes_data=32,
                       gil=360, gil_locked=16, gil_holder=8,
                       # thread names
                       interp_next=0, interp_modules=888, object_type=8, type_name=24, type_flags=168,
                       type_dictoffset=288, heaptype_cached_keys=872, module_dict=16,
                       tpflags_managed_dict=16, tpflags_inline_values=-1, managed_dict_before=24,
                       managed_values_before=32, inline_values=-1, dict_used=16, dict_keys=32,
                       dict_values=40, dictkeys_size=-1, dictkeys_log2_size=8, dictkeys_log2_index_bytes=9,
                       dictkeys_kind=10, dictkeys_nentries=24, dictkeys_indices=32, dictunicodeentry_size=16,
                       dictunicodeentry_key=0, dictunicodeentry_value=8, dictvalues_values=0,
                       dictvalues_valid=-1, dictentry_size=24, dictentry_key=8, dictentry_value=16,
                       long_size=16, long_tag=-1, long_tag_size_shift=-1, long_digits=24, long_shift=30),
    (3, 12): PyOffsets(runtime_interpreters_head=40, interp_tstate_head=72, tstate_next=8, tstate_thread_id=136,
                       tstate_native_thread_id=144, tstate_frame=-1, tstate_cframe=56, cframe_current_frame=0,
                       frame_code=0, frame_instr=56, frame_previous=8, frame_owner=70, frame_is_entry=-1,
                       code_qualname=128, code_adaptive=192, code_name=120, code_filename=112, code_firstlineno=68,
                       code_linetable=136, unicode_state=32, unicode_length=16, unicode_ascii_size=40,
                       unicode_compact_size=56, bytes_size=16, bytes_data=32,
                       gil=384, gil_locked=16, gil_holder=8,
                       # thread names
                       interp_next=0, interp_modules=944, object_type=8, type_name=24, type_flags=168,
                       type_dictoffset=288, heaptype_cached_keys=880, module_dict=16,
                       tpflags_managed_dict=16, tpflags_inline_values=-1, managed_dict_before=24,
                       managed_values_before=-1, inline_values=-1, dict_used=16, dict_keys=32,
                       dict_values=40, dictkeys_size=-1, dictkeys_log2_size=8, dictkeys_log2_index_bytes=9,
                       dictkeys_kind=10, dictkeys_nentries=24, dictkeys_indices=32, dictunicodeentry_size=16,
                       dictunicodeentry_key=0, dictunicodeentry_value=8, dictvalues_values=0,
                       dictvalues_valid=-1, dictentry_size=24, dictentry_key=8, dictentry_value=16,
                       long_size=-1, long_tag=16, long_tag_size_shift=3, long_digits=24, long_shift=30),
    (3, 13): PyOffsets(runtime_interpreters_head=632, interp_tstate_head=7344, tstate_next=8, tstate_thread_id=152,
                       tstate_native_thread_id=160, tstate_frame=72, tstate_cframe=-1, cframe_current_frame=-1,
                       frame_code=0, frame_instr=56, frame_previous=8, frame_owner=70, frame_is_entry=-1,
                       code_qualname=128, code_adaptive=200, code_name=120, code_filename=112, code_firstlineno=68,
                       code_linetable=136, unicode_state=32, unicode_length=16, unicode_ascii_size=40,
                       unicode_compact_size=56, bytes_size=16, bytes_data=32,
                       gil=16, gil_locked=16, gil_holder=8,
                       # thread names
                       interp_next=7264, interp_modules=7656, object_type=8, type_name=24, type_flags=168,
                       type_dictoffset=288, heaptype_cached_keys=880, module_dict=16,
                       tpflags_managed_dict=16, tpflags_inline_values=4, managed_dict_before=24,
                       managed_values_before=-1, inline_values=16, dict_used=16, dict_keys=32,
                       dict_values=40, dictkeys_size=-1, dictkeys_log2_size=8, dictkeys_log2_index_bytes=9,
                       dictkeys_kind=10, dictkeys_nentries=24, dictkeys_indices=32, dictunicodeentry_size=16,
                       dictunicodeentry_key=0, dictunicodeentry_value=8, dictvalues_values=8,
                       dictvalues_valid=3, dictentry_size=24, dictentry_key=8, dictentry_value=16,
                       long_size=-1, long_tag=16, long_tag_size_shift=3, long_digits=24, long_shift=30),
}

SUPPORTED = tuple(sorted(TABLE))


def offset_names() -> list[str]:
    return [f.name for f in fields(PyOffsets)]


DEBUG_COOKIE = b"xdebugpy"
_U64 = struct.Struct("<Q")

# 3.13's `struct _Py_DebugOffsets` (Include/internal/pycore_runtime.h): u64 fields after the
# 8-byte cookie, the u64 version and the u64 free_threaded flag, section by section.
_DEBUG_313 = (
    ("runtime_state", ("size", "finalizing", "interpreters_head")),
    ("interpreter_state", ("size", "id", "next", "threads_head", "gc", "imports_modules", "sysdict",
                           "builtins", "ceval_gil", "gil_runtime_state", "gil_runtime_state_enabled",
                           "gil_runtime_state_locked", "gil_runtime_state_holder")),
    ("thread_state", ("size", "prev", "next", "interp", "current_frame", "thread_id", "native_thread_id",
                      "datastack_chunk", "status")),
    ("interpreter_frame", ("size", "previous", "executable", "instr_ptr", "localsplus", "owner")),
    ("code_object", ("size", "filename", "name", "qualname", "linetable", "firstlineno", "argcount",
                     "localsplusnames", "localspluskinds", "co_code_adaptive")),
    ("pyobject", ("size", "ob_type")),
    ("type_object", ("size", "tp_name", "tp_repr", "tp_flags")),
    ("tuple_object", ("size", "ob_item", "ob_size")),
    ("list_object", ("size", "ob_item", "ob_size")),
    ("dict_object", ("size", "ma_keys", "ma_values")),
    ("float_object", ("size", "ob_fval")),
    ("long_object", ("size", "lv_tag", "ob_digit")),
    ("bytes_object", ("size", "ob_size", "ob_sval")),
    ("unicode_object", ("size", "state", "length", "asciiobject_size")),
)


def debug_offsets(data: bytes, base: PyOffsets) -> PyOffsets | None:
    """3.13's self-description at the start of `_PyRuntime` (`data` read from there), laid
    over `base` (the fields it does not describe); None when `data` does not start with the
    cookie or is too short. The 3.13 layout is assumed: the caller checks the version first."""
    if not data.startswith(DEBUG_COOKIE):
        return None
    values: dict[str, int] = {}
    at = len(DEBUG_COOKIE) + 16
    for section, names in _DEBUG_313:
        for name in names:
            if at + 8 > len(data):
                return None
            values[f"{section}.{name}"] = _U64.unpack_from(data, at)[0]
            at += 8
    v = values.get
    return replace(
        base,
        runtime_interpreters_head=v("runtime_state.interpreters_head", base.runtime_interpreters_head),
        interp_tstate_head=v("interpreter_state.threads_head", base.interp_tstate_head),
        tstate_next=v("thread_state.next", base.tstate_next),
        tstate_thread_id=v("thread_state.thread_id", base.tstate_thread_id),
        tstate_native_thread_id=v("thread_state.native_thread_id", base.tstate_native_thread_id),
        tstate_frame=v("thread_state.current_frame", base.tstate_frame),
        frame_code=v("interpreter_frame.executable", base.frame_code),
        frame_instr=v("interpreter_frame.instr_ptr", base.frame_instr),
        frame_previous=v("interpreter_frame.previous", base.frame_previous),
        frame_owner=v("interpreter_frame.owner", base.frame_owner),
        code_qualname=v("code_object.qualname", base.code_qualname),
        code_adaptive=v("code_object.co_code_adaptive", base.code_adaptive),
        code_name=v("code_object.name", base.code_name),
        code_filename=v("code_object.filename", base.code_filename),
        code_firstlineno=v("code_object.firstlineno", base.code_firstlineno),
        code_linetable=v("code_object.linetable", base.code_linetable),
        unicode_state=v("unicode_object.state", base.unicode_state),
        unicode_length=v("unicode_object.length", base.unicode_length),
        unicode_ascii_size=v("unicode_object.asciiobject_size", base.unicode_ascii_size),
        bytes_size=v("bytes_object.ob_size", base.bytes_size),
        bytes_data=v("bytes_object.ob_sval", base.bytes_data),
        gil=v("interpreter_state.ceval_gil", base.gil),
        gil_locked=_within(values, "gil_runtime_state_locked", base.gil_locked),
        gil_holder=_within(values, "gil_runtime_state_holder", base.gil_holder),
        # thread names
        interp_next=v("interpreter_state.next", base.interp_next),
        interp_modules=v("interpreter_state.imports_modules", base.interp_modules),
        object_type=v("pyobject.ob_type", base.object_type),
        type_name=v("type_object.tp_name", base.type_name),
        type_flags=v("type_object.tp_flags", base.type_flags),
        dict_keys=v("dict_object.ma_keys", base.dict_keys),
        dict_values=v("dict_object.ma_values", base.dict_values),
        long_tag=v("long_object.lv_tag", base.long_tag),
        long_digits=v("long_object.ob_digit", base.long_digits),
    )


def _within(values: dict[str, int], field: str, default: int) -> int:
    """An offset inside `struct _gil_runtime_state`, from 3.13's offsets of the interpreter's
    own GIL (`_gil`) and of its field, both given from the interpreter state's start."""
    start = values.get("interpreter_state.gil_runtime_state")
    at = values.get(f"interpreter_state.{field}")
    return default if start is None or at is None or not 0 <= at - start < 4096 else at - start
