"""Names that carry a source location in a known convention, read into name + file + line.

Formats without a file field (folded stacks, trace events) make profilers write the
location into the frame name. These conventions are recognised, and nothing else: a name
that only looks similar keeps its raw form (a C++ signature such as `f(int) (anonymous)`,
a lone `???`), since a wrong split is worse than none.

- py-spy `--format raw` (folded): `func (file.py:123)`; with `--nolineno`, `func (file.py)`.
- speedscope's names for Chrome trace events that carry py-spy's `args`:
  `func {"filename":"/x/file.py","line":258}` (what a speedscope export of py-spy's
  `--format chrometrace` holds).
- austin 3 (folded): `/x/file.py:func:123`; its alternative format (`-a`), `/x/file.py:func`
  (the line follows as an `L123` frame, kept as it is).
- `perf script`-style module suffixes: `symbol (/usr/lib/x86_64-linux-gnu/libc.so.6)` or
  `symbol ([kernel.kallsyms])`: the module is the file (as the perf script reader makes it),
  except for unknown symbols (`??? (dso)`, `[unknown] (dso)`), whose raw name is what names them.
"""

from __future__ import annotations

import json
import re

Location = tuple[str, str, int | None]
"""(name, file, line)."""

_SOURCE_SUFFIXES = (".py", ".pyx", ".pyw", ".pyi", ".pxd", ".so")

# `func (file:123)`: the name may hold spaces and parentheses; the file is what is inside the
# last parenthesised group at the very end, and holds no parentheses itself.
_PAREN_LINE = re.compile(r"(?P<name>\S.*?) \((?P<file>[^()]+?):(?P<line>[0-9]{1,9})\)")
_PAREN = re.compile(r"(?P<name>\S.*?) \((?P<file>[^()]+)\)")
_AUSTIN = re.compile(r"(?P<file>[^;]+?):(?P<name>[A-Za-z_<][^:;]*):(?P<line>[0-9]{1,9})")
_AUSTIN_ALT = re.compile(r"(?P<file>[^;]+?):(?P<name>[A-Za-z_<][^:;]*)")
_JSON_ARGS = re.compile(r"(?P<name>\S.*?) (?P<args>\{\"filename\":.*\})")
_UNKNOWN_SYMBOLS = ("???", "[unknown]")


def _looks_like_source(file: str) -> bool:
    """A Python source file or pseudo-file (`<frozen importlib._bootstrap>`, `<string>`)."""
    return file.endswith(_SOURCE_SUFFIXES) or (file.startswith("<") and file.endswith(">"))


def _looks_like_module(file: str) -> bool:
    """What perf names a dso: an absolute path, or `[kernel.kallsyms]`-like brackets."""
    return (file.startswith("/") and " " not in file) or (
        file.startswith("[") and file.endswith("]") and len(file) > 2)


def split_location(name: str) -> Location | None:
    """(name, file, line) when `name` carries a location in a convention we know, else None."""
    if not name:
        return None
    if name[-1] == ")":
        m = _PAREN_LINE.fullmatch(name)
        if m is not None:
            return m["name"], m["file"], int(m["line"])
        m = _PAREN.fullmatch(name)
        if m is None:
            return None
        file = m["file"]
        if _looks_like_source(file):
            return m["name"], file, None
        if _looks_like_module(file) and m["name"] not in _UNKNOWN_SYMBOLS:
            return m["name"], file, None
        return None
    if name[-1] == "}":
        return _json_args(name)
    m = _AUSTIN.fullmatch(name)
    if m is not None and _looks_like_austin_file(m["file"]):
        return m["name"], m["file"], int(m["line"])
    return _austin_alt(name)


def _looks_like_austin_file(file: str) -> bool:
    return _looks_like_source(file) or "/" in file or "\\" in file


def _austin_alt(name: str) -> Location | None:
    m = _AUSTIN_ALT.fullmatch(name)
    if m is None or not _looks_like_source(m["file"]) or m["name"].endswith(" "):
        return None
    return m["name"], m["file"], None


def _json_args(name: str) -> Location | None:
    """speedscope's `name {"filename":...,"line":N}` for trace events with py-spy's args."""
    m = _JSON_ARGS.fullmatch(name)
    if m is None:
        return None
    try:
        args = json.loads(m["args"])
    except ValueError:
        return None
    return location_from_args(m["name"], args)


def location_from_args(name: str, args: object) -> Location | None:
    """A trace event's `args` of exactly py-spy's shape, `{"filename": str, "line": int}`."""
    if not isinstance(args, dict) or set(args) != {"filename", "line"}:
        return None
    file, line = args["filename"], args["line"]
    if not isinstance(file, str) or not file or type(line) is not int or not 0 <= line < 10**9:
        return None
    return name, file, line
