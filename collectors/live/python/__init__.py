"""Python (CPython 3.9-3.13) frames in live stacks, read from a running interpreter by PID.

- `offsets`: the struct offsets of each supported CPython version (a shipped table,
  checked against the headers of every pyenv build by a test, and 3.13's `_Py_DebugOffsets`);
- `detect`: whether a process runs CPython, which version, where its `_PyRuntime` is;
- `bpf`: the BPF C fragment that walks the sampled thread's frame chain at sample time,
  and the per-process configuration it reads;
- `code`: code objects (names, file, line table) read from /proc/PID/mem in user space;
- `linetable`: instruction offset -> line, per version;
- `merge`: the Python frames put in place of the interpreter-loop frames of the native stack;
- `threads`: thread names as the target's `threading` gives them (tid -> name), read from memory.
"""
