"""Thread names read from a live interpreter's `threading` (issue 11), on every supported CPython.

Real targets (pyenv's 3.9-3.13 and Debian's /usr/bin/python3) print what `threading` itself
says (native id and name of every thread); `thread_names` must read exactly that from their
memory. Then hostile memory: forged objects in a live target, a forged heap with cycles and
huge counts, corrupted reads, wrong offsets: never an exception, never past the read budget.
No BPF here: only /proc/PID/mem.
"""

from __future__ import annotations

import ast
import random
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import fields, replace
from pathlib import Path

import pytest

from collectors.live.python import threads as threads_module
from collectors.live.python.detect import PythonProcess, detect
from collectors.live.python.memory import MAX_READ, ProcessMemory
from collectors.live.python.offsets import TABLE, PyOffsets
from collectors.live.python.threads import MAX_NAME, MAX_READS, MAX_TID, ObjectReader, thread_names, usable
from collectors.safe_text import without_controls
from tests.test_collectors.live.python_workloads import interpreters

INTERPRETERS = interpreters()
WORKERS = 45
"""Named workers of the main target: with MainThread, the default-named, non-ASCII, subclassed
and dummy threads, 50 threads (the `_active` dict resizes several times on the way)."""

NAMED = r'''
import _thread, sys, threading
stop = threading.Event()

def wait():
    stop.wait()

class Worker(threading.Thread):
    """A subclass with more attributes than 3.11+ keeps in a values array: a combined dict."""
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for i in range(40):
            setattr(self, f"extra{i}", i)
    def run(self):
        stop.wait()

threads = [threading.Thread(target=wait, name=f"worker-{i}") for i in range(1, int(sys.argv[1]) + 1)]
threads += [threading.Thread(target=wait), threading.Thread(target=wait, name="w\u00f6rker-\u7ebf\u7a0b"),
            Worker(name="subclassed")]
for t in threads:
    t.start()
threads[1].name = "renamed-after-start"
vars(threads[2])                                # a dict made for the attributes (3.11+)
threads[3].__dict__ = dict(vars(threads[3]))    # a combined dict in place of the shared-keys one
dummy = threading.Event()
_thread.start_new_thread(lambda: (threading.current_thread(), dummy.set(), stop.wait()), ())
dummy.wait()
ended = threading.Thread(target=lambda: None, name="ended")
ended.start()
ended.join()
print("ended", ended.native_id)
for t in threading.enumerate():
    print("thread", t.native_id, ascii(t.name))
print("ready", flush=True)
sys.stdin.readline()
stop.set()
'''
"""Prints `ended TID` (a thread that ran and was joined), `thread TID NAME` per thread
`threading` knows, then `ready`; ends when a line comes on stdin."""

LATE_IMPORT = r'''
import sys
print("ready", flush=True)
sys.stdin.readline()
import threading
print(threading.get_native_id(), flush=True)
sys.stdin.readline()
'''


class Target:
    """A Python program started for a test, its stdout lines up to `ready` kept."""

    def __init__(self, python: str, source: str, *args: str, flags: tuple[str, ...] = ()) -> None:
        assert Path(python).exists(), f"{python} is missing: run scripts/setup-system.sh"
        self.proc = subprocess.Popen([python, *flags, "-c", source, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.lines = self.until_ready()

    def until_ready(self) -> list[str]:
        assert self.proc.stdout is not None
        lines = []
        for line in self.proc.stdout:
            if line.strip() == "ready":
                return lines
            lines.append(line.rstrip("\n"))
        raise AssertionError(f"the target ended before `ready`: {lines}")

    def send(self) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def python(self) -> PythonProcess:
        found = detect(self.proc.pid)
        assert isinstance(found, PythonProcess), found
        return found

    def printed_threads(self) -> dict[int, str]:
        return {int(tid): ast.literal_eval(name) for kind, tid, name in (line.split(" ", 2) for line in self.lines
                                                                           if line.startswith("thread "))}


@pytest.fixture
def start() -> Iterator[Callable[..., Target]]:
    """Starts targets; every one is killed after the test."""
    started: list[Target] = []

    def run(python: str, source: str, *args: str, flags: tuple[str, ...] = ()) -> Target:
        started.append(Target(python, source, *args, flags=flags))
        return started[-1]

    yield run
    for target in started:
        target.proc.kill()
        target.proc.wait()


class CountingMemory(ProcessMemory):
    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.reads = 0

    def read(self, addr: int, size: int) -> bytes | None:
        self.reads += 1
        return super().read(addr, size)


@pytest.mark.parametrize("which", list(INTERPRETERS))
def test_names_are_the_ones_threading_gives(which: str, start: Callable[..., Target]) -> None:
    """50 threads (named, renamed after start, default-named, non-ASCII, a subclass with a
    combined dict, a materialised or replaced instance dict, a dummy thread, MainThread): the
    names read from memory are exactly what `threading.enumerate()` printed, a joined thread
    is not among them, and one call stays under 2,000 reads (about 600 measured)."""
    target = start(INTERPRETERS[which], NAMED, str(WORKERS))
    expected = target.printed_threads()
    ended = int(next(line for line in target.lines if line.startswith("ended ")).split()[1])
    assert len(expected) == WORKERS + 5
    with CountingMemory(target.proc.pid) as mem:
        got = thread_names(mem, target.python())
        assert mem.reads < 2000, mem.reads
    assert got == expected
    assert ended not in got


@pytest.mark.parametrize("which", list(INTERPRETERS))
def test_without_threading_nothing_then_main_thread(which: str, start: Callable[..., Target]) -> None:
    """A process that has not imported `threading` (`-S`: pyenv's 3.11 imports it from a
    .pth file) gives {}; once it imports it, its main thread is `MainThread`."""
    target = start(INTERPRETERS[which], LATE_IMPORT, flags=("-S",))
    python = target.python()
    with ProcessMemory(target.proc.pid) as mem:
        assert thread_names(mem, python) == {}
        main = int(target.send())
        assert thread_names(mem, python) == {main: "MainThread"}


def test_a_process_that_is_not_python_is_never_passed() -> None:
    """`detect` finds no interpreter in `sleep`: the caller has no PythonProcess to pass."""
    sleep = subprocess.Popen(["sleep", "30"])
    try:
        assert detect(sleep.pid) is None
    finally:
        sleep.kill()
        sleep.wait()


DICTS = r'''
import sys
class C:
    pass
c = C()
c.a, c.b, c.c = "x", 2, None
words = {f"key{i}": i * 3 for i in range(100)}
for i in range(0, 100, 9):
    del words[f"key{i}"]
numbers = {i: str(i) for i in range(300)}
dicts = {"words": words, "numbers": numbers, "empty": {}, "instance": vars(c)}
for name, d in dicts.items():
    print("dict", id(d), " ".join(f"{id(k)}:{id(v)}" for k, v in d.items()))
ints = [0, 1, 255, 2**30 - 1, 2**30 + 5, 2**60 + 7, -5, 2**90, "1"]
print("ints", " ".join(str(id(i)) for i in ints))
print("ready", flush=True)
sys.stdin.readline()
'''
SMALL_INTS = [0, 1, 255, 2**30 - 1, 2**30 + 5, 2**60 + 7, None, None, None]


@pytest.mark.parametrize("which", list(INTERPRETERS))
def test_dicts_and_ints_read_from_outside(which: str, start: Callable[..., Target]) -> None:
    """Dicts (str keys with deletions, 300 int keys: 3.11+'s general entries, an empty one,
    an instance's split dict) read from outside list exactly their (key, value) objects in
    order; ints of up to 3 digits decode, negative and larger ones and a str do not. This
    also checks the 3.9/3.10 dict layout, which the offsets script copies (not installed)."""
    target = start(INTERPRETERS[which], DICTS)
    python = target.python()
    with ProcessMemory(target.proc.pid) as mem:
        reader = ObjectReader(mem, python.offsets, (python.version[0], python.version[1]))
        dicts = [line.split(" ", 2) for line in target.lines if line.startswith("dict ")]
        for _, addr, pairs in dicts:
            expected = [tuple(int(x) for x in pair.split(":")) for pair in pairs.split()]
            assert reader.items(int(addr), 10_000) == expected
        ints = next(line for line in target.lines if line.startswith("ints ")).split()[1:]
        assert [reader.small_int(int(addr)) for addr in ints] == SMALL_INTS
        assert mem.errors == 0


FORGED = r'''
import sys, threading
stop = threading.Event()
real = [threading.Thread(target=stop.wait, name=f"real-{i}") for i in range(3)]
for t in real:
    t.start()

class Fake:
    pass

def fake(name, native_id):
    f = Fake()
    f._name, f._native_id = name, native_id
    return f

class Sub(str):
    pass

forged = [fake("negative", -5), fake("huge", 2**40), fake("zero", 0), fake(12345, 777), fake("str id", "778"),
          fake(Sub("str subclass"), 779), fake(None, 780), Fake(), 42, "not a thread", None]
for i, f in enumerate(forged):
    threading._active[-1 - i] = f
threading._active.update({-100 - i: forged[0] for i in range(20000)})
for t in threading.enumerate()[:1] + real:
    print("thread", t.native_id, ascii(t.name))
print("ready", flush=True)
sys.stdin.readline()
stop.set()
'''


@pytest.mark.parametrize("which", list(INTERPRETERS))
def test_forged_entries_of_active_are_skipped(which: str, start: Callable[..., Target]) -> None:
    """A program that fills `threading._active` with forgeries (a negative, a huge, a zero or a
    str `_native_id`, a name that is no str or a str subclass, objects without the attributes,
    20,000 more entries): only the real threads come out, within the read budget."""
    target = start(INTERPRETERS[which], FORGED)
    with CountingMemory(target.proc.pid) as mem:
        began = time.monotonic()
        got = thread_names(mem, target.python())
        took = time.monotonic() - began
        assert mem.reads <= MAX_READS
    assert got == target.printed_threads()
    assert took < 5, took


# --- a forged heap: every structure built by hand, with cycles and absurd counts ------------------

BASE = 0x7F0000000000


class HeapMemory(ProcessMemory):
    """A made-up process memory: one bytearray at BASE, objects laid out by the test."""

    def __init__(self, size: int) -> None:
        self.pid, self.errors, self._fd = 0, 0, None
        self.buf = bytearray(size)
        self.top = 0x1000
        self.reads = 0

    def read(self, addr: int, size: int) -> bytes | None:
        self.reads += 1
        at = addr - BASE
        if not 0 < size <= MAX_READ or at < 0 or at + size > len(self.buf):
            self.errors += 1
            return None
        return bytes(self.buf[at:at + size])

    def alloc(self, size: int, before: int = 0) -> int:
        """`size` bytes (and `before` bytes of pre-header), 16-aligned; the object's address."""
        addr = BASE + self.top + before
        self.top += (before + size + 15) // 16 * 16
        assert self.top <= len(self.buf)
        return addr

    def put(self, addr: int, fmt: str, *values: int) -> None:
        struct.pack_into(fmt, self.buf, addr - BASE, *values)

    def put_bytes(self, addr: int, data: bytes) -> None:
        self.buf[addr - BASE:addr - BASE + len(data)] = data


class Heap:
    """Objects laid out as the version of `o` lays them out (3.12 or 3.13)."""

    def __init__(self, mem: HeapMemory, o: PyOffsets) -> None:
        self.mem = mem
        self.o = o
        self.types = {name: self.type(name) for name in ("dict", "module", "str", "int")}

    def type(self, name: str, flags: int = 0, cached_keys: int = 0) -> int:
        t = self.mem.alloc(1024)
        text = self.mem.alloc(16)
        self.mem.put_bytes(text, name.encode() + b"\0")
        self.mem.put(t + self.o.type_name, "<Q", text)
        self.mem.put(t + self.o.type_flags, "<Q", flags)
        self.mem.put(t + self.o.heaptype_cached_keys, "<Q", cached_keys)
        return t

    def str(self, text: str, claimed: int | None = None) -> int:
        data = text.encode("latin-1")
        s = self.mem.alloc(self.o.unicode_ascii_size + len(data) + 1)
        self.mem.put(s + self.o.object_type, "<Q", self.types["str"])
        self.mem.put(s + self.o.unicode_length, "<Q", len(data) if claimed is None else claimed)
        self.mem.put(s + self.o.unicode_state, "<I", 1 << 2 | 1 << 5 | 1 << 6)  # kind 1, compact, ascii
        self.mem.put_bytes(s + self.o.unicode_ascii_size, data)
        return s

    def int(self, value: int) -> int:
        i = self.mem.alloc(32)
        self.mem.put(i + self.o.object_type, "<Q", self.types["int"])
        self.mem.put(i + self.o.long_tag, "<Q", 1 << self.o.long_tag_size_shift)
        self.mem.put(i + self.o.long_digits, "<I", value)
        return i

    def keys(self, pairs: list[tuple[int, int]], log2_size: int = 3, count: int | None = None,
             kind: int = 1) -> int:
        """A keys object (`kind` 0: entries with a hash, else str keys only); `count`
        claims more entries than `pairs` (they are repeated to fill them)."""
        count = len(pairs) if count is None else count
        size = 24 if kind == 0 else 16
        index_bytes = 1 << log2_size if log2_size < 8 else 2 << log2_size if log2_size < 16 else 4 << log2_size
        k = self.mem.alloc(self.o.dictkeys_indices + index_bytes + size * count)
        self.mem.put(k + self.o.dictkeys_log2_size, "<B", log2_size)
        self.mem.put(k + self.o.dictkeys_log2_index_bytes, "<B", index_bytes.bit_length() - 1)
        self.mem.put(k + self.o.dictkeys_kind, "<B", kind)
        self.mem.put(k + self.o.dictkeys_nentries, "<q", count)
        entries = k + self.o.dictkeys_indices + index_bytes
        block = b"".join(struct.pack("<qQQ", -1, key, value)[24 - size:] for key, value in pairs)
        filled = (block * (count // max(len(pairs), 1) + 1))[:size * count]
        self.mem.put_bytes(entries, filled)
        return k

    def dict(self, pairs: list[tuple[int, int]], **keys: int) -> int:
        d = self.mem.alloc(48)
        self.mem.put(d + self.o.object_type, "<Q", self.types["dict"])
        self.mem.put(d + self.o.dict_keys, "<Q", self.keys(pairs, **keys))
        return d

    def process(self, version: tuple[int, int, int], active: int) -> PythonProcess:
        """A process whose only interpreter (its `next` pointing to itself) has `threading`
        with `_active` at `active`."""
        o, mem = self.o, self.mem
        namespace = self.dict([(self.str("_active"), active)])
        module = mem.alloc(32)
        mem.put(module + o.object_type, "<Q", self.types["module"])
        mem.put(module + o.module_dict, "<Q", namespace)
        modules = self.dict([(self.str("threading"), module)])
        interp = mem.alloc(max(o.interp_modules, o.interp_next) + 8)
        mem.put(interp + o.interp_next, "<Q", interp)
        mem.put(interp + o.interp_modules, "<Q", modules)
        runtime = mem.alloc(o.runtime_interpreters_head + 8)
        mem.put(runtime + o.runtime_interpreters_head, "<Q", interp)
        return PythonProcess(0, version, "forged", runtime, o, 720)


def forged_process() -> tuple[HeapMemory, PythonProcess, int, str]:
    """A forged 3.12 process: its interpreter list loops on itself, `_active` claims 65,536
    entries (all the same thread), one entry is an object whose attributes are `_active`
    itself, and the thread's name claims 5,000 characters with terminal escapes in them.
    Returns the memory, the process, the thread's tid and the name `thread_names` should give."""
    o = TABLE[(3, 12)]
    mem = HeapMemory(3 << 20)
    heap = Heap(mem, o)
    name_text = "\x1b]0;pwned\x07evil\n" + "A" * 200
    name = heap.str(name_text, claimed=5000)
    tid = 4242
    attrs = heap.keys([(heap.str("_name"), 0), (heap.str("_native_id"), 0)], kind=2)
    thread_type = heap.type("Thread", flags=o.tpflags_managed_dict, cached_keys=attrs)
    thread = mem.alloc(16, before=o.managed_dict_before)
    values = mem.alloc(16)
    mem.put(values, "<QQ", name, heap.int(tid))
    mem.put(thread + o.object_type, "<Q", thread_type)
    mem.put(thread - o.managed_dict_before, "<Q", values - 1)  # 3.12's tagged values pointer
    cyclic = mem.alloc(16, before=o.managed_dict_before)
    mem.put(cyclic + o.object_type, "<Q", thread_type)
    ident = heap.int(1)
    active = heap.dict([(ident, cyclic)] + [(ident, thread)] * 15, log2_size=16, count=65536, kind=0)
    mem.put(cyclic - o.managed_dict_before, "<Q", active)  # its attributes are `_active`
    return mem, heap.process((3, 12, 1), active), tid, without_controls(name_text[:MAX_NAME])


def test_a_forged_heap_is_walked_within_bounds() -> None:
    """Cycles (interpreters, a thread whose attributes are `_active`), 65,536 claimed threads
    and a 5,000-character name with escapes: the one thread comes out with its name cut to
    64 characters and stripped, every loop bounded, the read budget kept."""
    mem, proc, tid, name = forged_process()
    began = time.monotonic()
    got = thread_names(mem, proc)
    took = time.monotonic() - began
    assert got == {tid: name}
    assert len(name) <= MAX_NAME and "\x1b" not in name and "\n" not in name
    assert mem.reads <= MAX_READS
    assert took < 5, took


def test_313_inline_values_marked_invalid_are_not_read() -> None:
    """3.13 keeps a Thread's attributes inline after the object; values marked invalid (an
    object being cleared) are not read, and a dict pointer before the object wins over them."""
    o = TABLE[(3, 13)]
    mem = HeapMemory(1 << 20)
    heap = Heap(mem, o)
    attrs = heap.keys([(heap.str("_name"), 0), (heap.str("_native_id"), 0)], kind=2)
    thread_type = heap.type("Thread", flags=o.tpflags_managed_dict | o.tpflags_inline_values, cached_keys=attrs)

    def thread(tid: int, name: str, valid: bool, with_dict: bool = False) -> int:
        obj = mem.alloc(o.inline_values + o.dictvalues_values + 16, before=o.managed_dict_before)
        mem.put(obj + o.object_type, "<Q", thread_type)
        values = obj + o.inline_values
        mem.put(values + o.dictvalues_valid, "<B", valid)
        mem.put(values + o.dictvalues_values, "<QQ", heap.str(name), heap.int(tid))
        if with_dict:
            attributes = heap.dict([(heap.str("_name"), heap.str(name + "-dict")),
                                    (heap.str("_native_id"), heap.int(tid))])
            mem.put(obj - o.managed_dict_before, "<Q", attributes)
        return obj

    ident = heap.int(1)
    active = heap.dict([(ident, thread(101, "inline", True)), (ident, thread(102, "invalid", False)),
                        (ident, thread(103, "both", False, with_dict=True))], kind=0)
    assert thread_names(mem, heap.process((3, 13, 0), active)) == {101: "inline", 103: "both-dict"}


def test_the_read_budget_ends_the_walk_with_what_was_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a budget too small for the whole walk, the call returns (partial or empty), and
    has made no more reads than the budget."""
    mem, proc, tid, name = forged_process()
    monkeypatch.setattr(threads_module, "MAX_READS", 40)
    got = thread_names(mem, proc)
    assert mem.reads <= 40
    assert got in ({}, {tid: name})


@pytest.mark.parametrize("fill", ["zeros", "random", "self-pointing"])
def test_garbage_memory_gives_nothing_quickly(fill: str) -> None:
    """Memory of zeros, random bytes, or words that all point back into it: {} or a few
    names, no exception, within the budget, in well under a second per version."""
    rng = random.Random(11)
    for version, offsets in TABLE.items():
        mem = HeapMemory(1 << 20)
        if fill == "random":
            mem.buf[:] = rng.randbytes(len(mem.buf))
        elif fill == "self-pointing":
            mem.buf[:] = struct.pack("<Q", BASE + 0x100) * (len(mem.buf) // 8)
        proc = PythonProcess(0, (*version, 0), "garbage", BASE + 0x1000, offsets, 720)
        began = time.monotonic()
        got = thread_names(mem, proc)
        assert time.monotonic() - began < 2
        assert mem.reads <= MAX_READS
        check_shape(got)


def check_shape(names: dict[int, str]) -> None:
    """What any call may return, whatever the memory: tids in range, short clean names."""
    for tid, name in names.items():
        assert isinstance(tid, int) and 0 < tid <= MAX_TID
        assert isinstance(name, str) and len(name) <= MAX_NAME and without_controls(name) == name


class CorruptingMemory(CountingMemory):
    """The target's real memory, with bytes changed at random in a share `rate` of the reads
    (as objects being freed and reused while we read them would look)."""

    def __init__(self, pid: int, seed: int, rate: float) -> None:
        super().__init__(pid)
        self.rng = random.Random(seed)
        self.rate = rate

    def read(self, addr: int, size: int) -> bytes | None:
        data = super().read(addr, size)
        if data is None or self.rng.random() > self.rate:
            return data
        changed = bytearray(data)
        for _ in range(self.rng.randint(1, 4)):
            at = self.rng.randrange(len(changed))
            changed[at] = self.rng.randrange(256)
        if self.rng.random() < 0.3 and len(changed) >= 8:  # a whole pointer elsewhere
            at = self.rng.randrange(len(changed) - 7)
            changed[at:at + 8] = struct.pack("<Q", self.rng.choice([0, 1, 2**63, addr, addr - 24, addr + 8]))
        return bytes(changed)


@pytest.mark.parametrize("which", ["3.9", "3.12", "3.13"])
def test_corrupted_reads_never_raise(which: str, start: Callable[..., Target]) -> None:
    """400 walks of a live 50-thread target through reads corrupted at random (one read in
    300 to one in 3): no exception, the budget kept, only well-formed results; and the
    corruption lands all along the walk: some walks get every name, some lose a few threads,
    some (a dict on the way to `_active` hit) get none."""
    target = start(INTERPRETERS[which], NAMED, str(WORKERS))
    python = target.python()
    found = []
    for seed in range(400):
        with CorruptingMemory(target.proc.pid, seed, rate=(0.003, 0.01, 0.03, 0.33)[seed % 4]) as mem:
            names = thread_names(mem, python)
            check_shape(names)
            assert mem.reads <= MAX_READS
            found.append(len(names))
    assert found.count(WORKERS + 5) >= 20, found
    assert sum(0 < n < WORKERS + 5 for n in found) >= 40, found
    assert found.count(0) >= 40, found


THREAD_FIELDS = [f.name for f in fields(PyOffsets)][[f.name for f in fields(PyOffsets)].index("interp_next"):]


@pytest.mark.parametrize("which", ["3.10", "3.11", "3.13"])
def test_wrong_offsets_never_raise(which: str, start: Callable[..., Target]) -> None:
    """Offsets changed at random (as a hostile 3.13 program's _Py_DebugOffsets could be):
    the walk is refused or finds less, never raises or loops."""
    target = start(INTERPRETERS[which], NAMED, str(WORKERS))
    python = target.python()
    rng = random.Random(5)
    refused = 0
    for _ in range(150):
        changes = {name: rng.choice([-(2**40), -8, -1, 0, 3, 8, 24, 300, 4095, 2**16, 2**63])
                   for name in rng.sample([*THREAD_FIELDS, "unicode_length", "unicode_state"], rng.randint(1, 3))}
        wrong = replace(python, offsets=replace(python.offsets, **changes))
        refused += not usable(wrong.offsets)
        with CountingMemory(target.proc.pid) as mem:
            check_shape(thread_names(mem, wrong))
            assert mem.reads <= MAX_READS
    assert 0 < refused < 150


def test_names_are_cut_and_stripped(start: Callable[..., Target]) -> None:
    """A name with terminal escapes, newlines and a bidi override, and a 100-character name:
    control characters removed, 64 characters at most."""
    source = ("import sys, threading\nstop = threading.Event()\n"
              "names = ['evil\\x1b[31m\\nred\\u202e', 'L' * 100]\n"
              "ts = [threading.Thread(target=stop.wait, name=n) for n in names]\n"
              "[t.start() for t in ts]\n"
              "[print('thread', t.native_id, ascii(t.name)) for t in ts]\n"
              "print('ready', flush=True)\nsys.stdin.readline()\nstop.set()\n")
    target = start(INTERPRETERS["3.12"], source)
    with ProcessMemory(target.proc.pid) as mem:
        got = thread_names(mem, target.python())
    printed = target.printed_threads()
    assert {tid: got[tid] for tid in printed} == {tid: without_controls(name)[:MAX_NAME]
                                                  for tid, name in printed.items()}
    assert set(got.values()) >= {"evil[31mred", "L" * 64}


def test_a_missing_process_gives_nothing() -> None:
    """The process is gone (its memory cannot be opened): {}."""
    python = PythonProcess(2**22 + 12345, (3, 12, 1), "gone", 0x1000, TABLE[(3, 12)], 720)
    with ProcessMemory(python.pid) as mem:
        assert not mem.readable
        assert thread_names(mem, python) == {}
