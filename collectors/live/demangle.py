"""Readable names for mangled C++ and Rust symbols.

C++ (and Rust's legacy `_ZN...17h<hash>E` scheme, which is C++-shaped) goes through
libstdc++'s own `__cxa_demangle`, as bcc and perf do; a Rust legacy name then loses its hash
and its `$LT$`-style escapes, as `rustc-demangle` prints it. Symbol names come from files a
profiled process controls, so very long names are left as they are (the demangler is
recursive) and a name that does not demangle is kept.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import re

MAX_MANGLED = 4096
"""Longer names are shown mangled: the demangler's work grows with them."""

_RUST_HASH = re.compile(r"::h[0-9a-f]{16}$")
_RUST_ESCAPES = {"$SP$": "@", "$BP$": "*", "$RF$": "&", "$LT$": "<", "$GT$": ">", "$LP$": "(", "$RP$": ")",
                 "$C$": ","}
_RUST_ESCAPE = re.compile(r"\$(?:SP|BP|RF|LT|GT|LP|RP|C|u[0-9a-f]{2})\$")


def _load() -> tuple[ctypes.CDLL, ctypes.CDLL] | None:
    try:
        cxx = ctypes.CDLL(ctypes.util.find_library("stdc++") or "libstdc++.so.6")
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    cxx.__cxa_demangle.restype = ctypes.c_void_p
    cxx.__cxa_demangle.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                                   ctypes.POINTER(ctypes.c_int)]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.free.restype = None
    return cxx, libc


_LIBS = _load()


@functools.lru_cache(maxsize=65536)
def demangle(name: str) -> str:
    """`name` demangled, or `name` itself when it is not a mangled C++/Rust-legacy name."""
    if not name.startswith("_Z") or len(name) > MAX_MANGLED or _LIBS is None:
        return name
    cxx, libc = _LIBS
    status = ctypes.c_int(0)
    out = cxx.__cxa_demangle(name.encode("utf-8", "surrogateescape"), None, None, ctypes.byref(status))
    if not out:
        return name
    try:
        text = ctypes.string_at(out).decode("utf-8", "replace")
    finally:
        libc.free(out)
    if status.value != 0:
        return name
    if _RUST_HASH.search(text) and ("$" in text or "::" in text):
        text = _rust_legacy(text)
    return text


def _rust_legacy(text: str) -> str:
    """`a::b$LT$T$GT$::h0123456789abcdef` -> `a::b<T>`."""
    text = _RUST_HASH.sub("", text)
    text = text.replace("..", "::")

    def unescape(m: re.Match[str]) -> str:
        s = m.group()
        if s in _RUST_ESCAPES:
            return _RUST_ESCAPES[s]
        return chr(int(s[2:-1], 16))

    return _RUST_ESCAPE.sub(unescape, text)
