"""Thread names as the target's `threading` module gives them, read from its memory by PID.

The kernel names every thread of an interpreter `python3.11`; Python code names them
(`MainThread`, `worker-1`, a name set later with `t.name = ...`). Those names live in the
target's objects, reached without running anything in it:

    _PyRuntime -> each interpreter -> sys.modules (a dict) -> "threading" (a module) ->
    its namespace dict -> `_active` (dict: ident -> Thread) -> each Thread's attributes ->
    `_name` (str) and `_native_id` (int: the kernel's tid, set when the thread starts)

Dicts are read by walking their entries in order (no hashing). Their layout changes with the
version (3.9/3.10: `dk_size` and 24-byte entries; 3.11+: `dk_log2_size`, `dk_kind`, 16-byte
entries for str keys; split tables keep values apart from the keys), and so does where an
instance's attributes are: the dict at `tp_dictoffset` (3.9/3.10), a managed dict or a
values array before the object with the keys in the type's `ht_cached_keys` (3.11, 3.12:
one tagged word), or values inline after the object (3.13). The offsets come from
`offsets.py` (and 3.13's `_Py_DebugOffsets`).

Everything read is hostile or stale (a thread ending while we read, a program that forges
objects): every loop has a bound, every read goes through `ProcessMemory` and a budget of
`MAX_READS`, no pointer is followed in a loop (so a cycle cannot hold us), and any failure
skips that thread or ends the walk with what was found. Names are capped at `MAX_NAME`
characters and stripped of control characters.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from collectors.live.python.code import read_str
from collectors.live.python.detect import PythonProcess
from collectors.live.python.memory import MAX_READ, ProcessMemory
from collectors.live.python.offsets import PyOffsets
from collectors.safe_text import without_controls

MAX_NAME = 64
"""Characters of a thread name kept."""
MAX_THREADS = 4096
"""Entries of `threading._active` looked at."""
MAX_MODULE_ENTRIES = 1 << 14
"""Entries of sys.modules, and of the `threading` module's namespace, looked at."""
MAX_ATTRIBUTES = 256
"""Entries of a Thread's instance dict looked at (a Thread has about 15)."""
MAX_INTERPRETERS = 8
MAX_READS = 50_000
"""Reads of one `thread_names` call (a 50-thread program takes a few hundred)."""
MAX_TID = 1 << 22
"""The kernel's largest pid (PID_MAX_LIMIT): a larger `_native_id` is not a tid."""
_KEY_CHARS = 32
"""Characters read of a dict key: enough to tell the few keys looked for from others."""
_DICT_KEYS_GENERAL = 0
"""`DICT_KEYS_GENERAL` (3.11+): entries with a hash; the other kinds hold str keys only."""

_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_U32 = struct.Struct("<I")


def thread_names(mem: ProcessMemory, proc: PythonProcess) -> dict[int, str]:
    """Native thread id (the kernel's tid) -> the name `threading` gives that thread, for the
    threads `threading` knows (started through it, or met by `threading.current_thread()`).
    {} when `threading` was never imported or nothing could be read; never raises."""
    if not usable(proc.offsets):
        return {}
    reader = ObjectReader(mem, proc.offsets, (proc.version[0], proc.version[1]))
    names: dict[int, str] = {}
    try:
        # The newest interpreter is the list's head: the main one is read first, so that a
        # thread a subinterpreter also knows (as a dummy thread) keeps its main name.
        for interp in reversed(reader.interpreters(proc.runtime)):
            reader.names_in(interp, names)
    except OutOfReads:
        pass
    return names


MAX_OFFSET = 1 << 16
"""The largest offset taken (3.13's interpreter state has sys.modules 7.6 KB in). 3.13's
offsets come from the target's own `_Py_DebugOffsets`, which a hostile program can fill
with anything."""
_REQUIRED = ("runtime_interpreters_head", "interp_next", "interp_modules", "object_type", "type_name",
             "type_flags", "type_dictoffset", "heaptype_cached_keys", "module_dict", "dict_keys", "dict_values",
             "dictkeys_nentries", "dictkeys_indices", "dictentry_key", "dictentry_value", "dictvalues_values",
             "long_digits", "unicode_state", "unicode_length", "unicode_ascii_size", "unicode_compact_size")
_OPTIONAL = ("tpflags_managed_dict", "tpflags_inline_values", "managed_dict_before", "managed_values_before",
             "inline_values", "dictkeys_size", "dictkeys_log2_size", "dictkeys_log2_index_bytes", "dictkeys_kind",
             "dictunicodeentry_key", "dictunicodeentry_value", "dictvalues_valid", "long_size", "long_tag",
             "long_tag_size_shift")


def usable(o: PyOffsets) -> bool:
    """Whether `o` describes a layout this reader can walk without reading out of what it read:
    the fields it needs present and small, entries large enough for their key and value."""
    if not all(0 <= getattr(o, name) <= MAX_OFFSET for name in _REQUIRED):
        return False
    if not all(-1 <= getattr(o, name) <= MAX_OFFSET for name in _OPTIONAL):
        return False
    entries = [(o.dictentry_size, o.dictentry_key, o.dictentry_value)]
    if o.dictkeys_size < 0:  # 3.11+: the sizes in log2 bytes, and entries of str keys too
        if min(o.dictkeys_log2_size, o.dictkeys_log2_index_bytes, o.dictkeys_kind) < 0:
            return False
        entries.append((o.dictunicodeentry_size, o.dictunicodeentry_key, o.dictunicodeentry_value))
    if not all(0 < size <= 256 and min(key, value) >= 0 and max(key, value) + 8 <= size
               for size, key, value in entries):
        return False
    if o.long_tag >= 0:
        if not 0 <= o.long_tag_size_shift < 64:
            return False
    elif o.long_size < 0:
        return False
    return o.long_shift in (15, 30) and (o.managed_dict_before < 0 or o.managed_dict_before >= 8)


class OutOfReads(Exception):
    """`MAX_READS` reached: the walk ends with what it found."""


@dataclass(frozen=True, slots=True)
class _TypeInfo:
    flags: int
    dictoffset: int
    cached_keys: int


class ObjectReader:
    """CPython objects of one process (dicts, str, small ints, instance attributes), for
    one walk: every read counted against `MAX_READS` (past it, `OutOfReads`), and what
    several threads share (key strings, types, shared keys) read once."""

    def __init__(self, mem: ProcessMemory, offsets: PyOffsets, version: tuple[int, int]) -> None:
        self.mem = mem
        self.o = offsets
        self.version = version
        self.reads = 0
        self._texts: dict[int, str | None] = {}
        self._type_names: dict[int, str | None] = {}
        self._types: dict[int, _TypeInfo | None] = {}
        self._shared_keys: dict[int, list[int]] = {}
        o = offsets
        # What to read of each kind of object to reach every field used (offsets vary).
        self._dict_head = max(o.object_type, o.dict_keys, o.dict_values) + 8
        self._keys_head = max(o.dictkeys_indices, o.dictkeys_nentries + 8, o.dictkeys_size + 8,
                              o.dictkeys_log2_size + 1, o.dictkeys_log2_index_bytes + 1, o.dictkeys_kind + 1)
        self._type_block = max(o.type_flags, o.type_dictoffset, o.heaptype_cached_keys) + 8
        self._before = max(o.managed_dict_before, o.managed_values_before, 0)
        self._long_head = max(o.object_type + 8, o.long_digits + 12, o.long_tag + 8, o.long_size + 8)
        self._module_head = max(o.object_type, o.module_dict) + 8

    # --- memory -------------------------------------------------------------------------

    def read(self, addr: int, size: int) -> bytes | None:
        if self.reads >= MAX_READS:
            raise OutOfReads
        self.reads += 1
        return self.mem.read(addr, size)

    def ptr(self, addr: int) -> int:
        """The pointer at `addr`, 0 when it cannot be read."""
        data = self.read(addr, 8)
        return 0 if data is None else int(_U64.unpack(data)[0])

    def text(self, addr: int, max_chars: int) -> str | None:
        return read_str(self.read, self.o, addr, max_chars)

    def key(self, addr: int) -> str | None:
        """A dict key's text (keys are shared by many dicts, interned: read once each)."""
        if addr not in self._texts:
            self._texts[addr] = self.text(addr, _KEY_CHARS)
        return self._texts[addr]

    def type_name(self, type_addr: int) -> str | None:
        """`tp_name` of the type at `type_addr` (its first 16 bytes: enough for "dict")."""
        if type_addr not in self._type_names:
            name = None
            at = self.ptr(type_addr + self.o.type_name) if type_addr else 0
            if at:
                # A C string of unknown length: read no further than its page's end.
                data = self.read(at, min(16, 4096 - at % 4096))
                if data is not None:
                    name = data.split(b"\0", 1)[0].decode("latin-1")
            self._type_names[type_addr] = name
        return self._type_names[type_addr]

    def is_a(self, head: bytes, type_name: str) -> bool:
        """Whether the object whose first bytes are `head` has the built-in type `type_name`."""
        return self.type_name(int(_U64.unpack_from(head, self.o.object_type)[0])) == type_name

    # --- dicts --------------------------------------------------------------------------

    def items(self, addr: int, limit: int) -> list[tuple[int, int]]:
        """(key, value) addresses of the dict at `addr` in entry order, at most `limit`; []
        when it is no dict or cannot be read."""
        o = self.o
        head = self.read(addr, self._dict_head) if addr else None
        if head is None or not self.is_a(head, "dict"):
            return []
        keys = int(_U64.unpack_from(head, o.dict_keys)[0])
        values = int(_U64.unpack_from(head, o.dict_values)[0])
        return self.table(keys, values, limit)

    def table(self, keys: int, values: int, limit: int) -> list[tuple[int, int]]:
        """(key, value) addresses of a keys object, the values in it (combined) or in the
        array at `values` (split: shared keys, one values array per dict or object)."""
        o = self.o
        layout = self._keys_layout(keys)
        if layout is None:
            return []
        entries, count, size, key_at, value_at = layout
        count = min(count, limit)
        if values:
            shared = self._shared_keys.get(keys)
            if shared is None or len(shared) < count:
                shared = [key for key, _ in self._entries(entries, count, size, key_at, value_at)]
                self._shared_keys[keys] = shared
            found = self._pointers(values + o.dictvalues_values, count)
            pairs = list(zip(shared, found, strict=False))
        else:
            pairs = self._entries(entries, count, size, key_at, value_at)
        return [(key, value) for key, value in pairs if key and value]

    def _keys_layout(self, keys: int) -> tuple[int, int, int, int, int] | None:
        """(address of the entries, how many are used, entry size, key and value offsets in
        an entry) of the keys object at `keys`, None when its header makes no sense."""
        o = self.o
        header = self.read(keys, self._keys_head) if keys else None
        if header is None:
            return None
        nentries = int(_I64.unpack_from(header, o.dictkeys_nentries)[0])
        if o.dictkeys_size >= 0:  # 3.9/3.10
            size = int(_I64.unpack_from(header, o.dictkeys_size)[0])
            if size < 8 or size > 1 << 30 or size & (size - 1):
                return None
            index_bytes = size * (1 if size <= 0xFF else 2 if size <= 0xFFFF else 4)
            entry, key_at, value_at = o.dictentry_size, o.dictentry_key, o.dictentry_value
        else:
            log2_size = header[o.dictkeys_log2_size]
            log2_index_bytes = header[o.dictkeys_log2_index_bytes]
            if not 3 <= log2_size <= 30 or not 0 <= log2_index_bytes - log2_size <= 3:
                return None
            size = 1 << log2_size
            index_bytes = 1 << log2_index_bytes
            if header[o.dictkeys_kind] == _DICT_KEYS_GENERAL:
                entry, key_at, value_at = o.dictentry_size, o.dictentry_key, o.dictentry_value
            else:
                entry, key_at, value_at = (o.dictunicodeentry_size, o.dictunicodeentry_key,
                                           o.dictunicodeentry_value)
        if not 0 <= nentries <= size:
            return None
        return keys + o.dictkeys_indices + index_bytes, nentries, entry, key_at, value_at

    def _entries(self, at: int, count: int, size: int, key_at: int,
                 value_at: int) -> list[tuple[int, int]]:
        """(key, value) pointer pairs of `count` entries of `size` bytes at `at`, read a
        chunk at a time; a chunk that cannot be read ends the list."""
        out: list[tuple[int, int]] = []
        per_read = MAX_READ // size
        for first in range(0, count, per_read):
            n = min(per_read, count - first)
            data = self.read(at + first * size, n * size)
            if data is None:
                break
            for i in range(n):
                base = i * size
                out.append((int(_U64.unpack_from(data, base + key_at)[0]),
                            int(_U64.unpack_from(data, base + value_at)[0])))
        return out

    def _pointers(self, at: int, count: int) -> list[int]:
        data = self.read(at, count * 8) if count else b""
        return [] if data is None else [int(v) for (v,) in _U64.iter_unpack(data)]

    # --- objects --------------------------------------------------------------------------

    def _type(self, type_addr: int) -> _TypeInfo | None:
        if type_addr not in self._types:
            o = self.o
            block = self.read(type_addr, self._type_block)
            self._types[type_addr] = None if block is None else _TypeInfo(
                int(_U64.unpack_from(block, o.type_flags)[0]),
                int(_I64.unpack_from(block, o.type_dictoffset)[0]),
                int(_U64.unpack_from(block, o.heaptype_cached_keys)[0]))
        return self._types[type_addr]

    def attributes(self, obj: int) -> list[tuple[int, int]]:
        """(key, value) addresses of the instance attributes of the object at `obj`."""
        o = self.o
        before = self._before
        block = self.read(obj - before, before + o.object_type + 8)
        if block is None:
            return []
        info = self._type(int(_U64.unpack_from(block, before + o.object_type)[0]))
        if info is None:
            return []

        def word_before(distance: int) -> int:
            return int(_U64.unpack_from(block, before - distance)[0])

        if o.tpflags_managed_dict >= 0 and info.flags & o.tpflags_managed_dict:
            if o.managed_values_before >= 0:  # 3.11: a values array, else a dict
                values = word_before(o.managed_values_before)
                if values:
                    return self.table(info.cached_keys, values, MAX_ATTRIBUTES)
                return self.items(word_before(o.managed_dict_before), MAX_ATTRIBUTES)
            word = word_before(o.managed_dict_before)
            if self.version == (3, 12):  # one word: a dict, or values - 1 (tagged by bit 0)
                if word & 1:
                    return self.table(info.cached_keys, word + 1, MAX_ATTRIBUTES)
                return self.items(word, MAX_ATTRIBUTES)
            if word:  # 3.13: a dict when one was made, else the inline values
                return self.items(word, MAX_ATTRIBUTES)
            if o.inline_values >= 0 and info.flags & o.tpflags_inline_values:
                values = obj + o.inline_values
                valid = self.read(values + o.dictvalues_valid, 1)
                if valid is not None and valid[0]:
                    return self.table(info.cached_keys, values, MAX_ATTRIBUTES)
            return []
        if info.dictoffset <= 0:  # no dict, or one counted from the end of a variable-size object
            return []
        return self.items(self.ptr(obj + info.dictoffset), MAX_ATTRIBUTES)

    def small_int(self, addr: int) -> int | None:
        """The value of the int at `addr` when it is one of 1 to 3 digits, >= 0, else None."""
        o = self.o
        head = self.read(addr, self._long_head) if addr else None
        if head is None or not self.is_a(head, "int"):
            return None
        if o.long_tag >= 0:  # 3.12+: digit count above the sign bits (0 positive, 1 zero, 2 negative)
            tag = int(_U64.unpack_from(head, o.long_tag)[0])
            if tag & 3 == 1:
                return 0
            ndigits = tag >> o.long_tag_size_shift if tag & 3 == 0 else -1
        else:
            ndigits = int(_I64.unpack_from(head, o.long_size)[0])
        if not 0 <= ndigits <= 3:
            return None
        mask = (1 << o.long_shift) - 1
        value = 0
        for i in range(ndigits):
            value |= (int(_U32.unpack_from(head, o.long_digits + 4 * i)[0]) & mask) << (o.long_shift * i)
        return value

    # --- the walk -----------------------------------------------------------------------

    def interpreters(self, runtime: int) -> list[int]:
        out: list[int] = []
        interp = self.ptr(runtime + self.o.runtime_interpreters_head)
        while interp and len(out) < MAX_INTERPRETERS and interp not in out:
            out.append(interp)
            interp = self.ptr(interp + self.o.interp_next)
        return out

    def lookup(self, dict_addr: int, name: str, limit: int) -> int:
        """The value stored under the str key `name` in the dict at `dict_addr`, or 0."""
        for key, value in self.items(dict_addr, limit):
            if self.key(key) == name:
                return value
        return 0

    def names_in(self, interp: int, names: dict[int, str]) -> None:
        """Adds the named threads of one interpreter's `threading` to `names` (first name wins)."""
        o = self.o
        module = self.lookup(self.ptr(interp + o.interp_modules), "threading", MAX_MODULE_ENTRIES)
        head = self.read(module, self._module_head) if module else None
        if head is None or not self.is_a(head, "module"):
            return
        namespace = int(_U64.unpack_from(head, o.module_dict)[0])
        active = self.lookup(namespace, "_active", MAX_MODULE_ENTRIES)
        for _, thread in self.items(active, MAX_THREADS):
            tid, name = self.thread(thread)
            if tid is not None and name is not None and tid not in names:
                names[tid] = name

    def thread(self, obj: int) -> tuple[int | None, str | None]:
        """(`_native_id`, `_name`) of a Thread object, None for what cannot be read."""
        name_at = tid_at = 0
        for key, value in self.attributes(obj):
            text = self.key(key)
            if text == "_name":
                name_at = value
            elif text == "_native_id":
                tid_at = value
        tid = self.small_int(tid_at) if tid_at else None
        if tid is None or not 0 < tid <= MAX_TID:
            return None, None
        head = self.read(name_at, self.o.object_type + 8) if name_at else None
        if head is None or not self.is_a(head, "str"):
            return tid, None
        text = self.text(name_at, MAX_NAME)
        return tid, None if text is None else without_controls(text)[:MAX_NAME]
