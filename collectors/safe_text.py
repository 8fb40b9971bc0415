"""Making untrusted names (frames, threads, command lines) safe to show in a terminal.

A frame name is data from someone else's file or process: an ESC or OSC sequence in it
must be shown, not obeyed. `printable` replaces every control character (C0, DEL, C1)
with a visible escape; Rich markup is defused by never passing names through markup at
all (callers build `Text` objects), not by escaping here.
"""

from __future__ import annotations

import json
import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    code = ord(c)
    if code == 0x09:
        return "\\t"
    if code == 0x0A:
        return "\\n"
    if code == 0x0D:
        return "\\r"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with control and bidi-override characters replaced by visible escapes."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(_escape, text)


def without_controls(text: str) -> str:
    """`text` with the characters `printable` escapes (controls, bidi overrides) removed: for
    short labels taken from a process (thread names), where an escape would only add noise."""
    return _CONTROL.sub("", text)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_text(value: object) -> str:
    """`value` as JSON that keeps non-ASCII text readable but escapes (as `\\uXXXX`, still
    the same JSON) the characters a terminal would act on: JSON escapes only C0 controls."""
    text = json.dumps(value, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
