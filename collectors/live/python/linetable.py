"""Instruction offset -> source line, from a code object's line table, per CPython version.

- 3.9 `co_lnotab`: (byte offset increment, signed line increment) pairs; offsets in bytes;
- 3.10 `co_linetable`: (byte length, signed line delta, -128 = no line) ranges;
- 3.11+ location table: entries of 1-8 code units with a line delta (and columns, unused).

`offset` is in bytes from the start of the bytecode in every case. Tables are untrusted
bytes: decoding stops at the end of the data or after a bounded number of entries.
"""

from __future__ import annotations

MAX_ENTRIES = 1 << 16


def line_for(version: tuple[int, int], table: bytes, firstlineno: int, offset: int) -> int | None:
    """The line of the instruction at byte `offset`; None when the table says none."""
    if version >= (3, 11):
        return _location_table(table, firstlineno, offset // 2)
    if version >= (3, 10):
        return _linetable_310(table, firstlineno, offset)
    return _lnotab(table, firstlineno, offset)


def _lnotab(table: bytes, line: int, offset: int) -> int:
    addr = 0
    for i in range(0, min(len(table) - 1, 2 * MAX_ENTRIES), 2):
        addr += table[i]
        if addr > offset:
            break
        delta = table[i + 1]
        line += delta - 256 if delta >= 128 else delta
    return line


def _linetable_310(table: bytes, line: int, offset: int) -> int | None:
    start = 0
    for i in range(0, min(len(table) - 1, 2 * MAX_ENTRIES), 2):
        end = start + table[i]
        delta = table[i + 1]
        current: int | None
        if delta == 128:
            current = None
        else:
            line += delta - 256 if delta > 128 else delta
            current = line
        if start <= offset < end:
            return current
        start = end
    return None


def _varint(table: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(table):
        b = table[at]
        at += 1
        value |= (b & 63) << shift
        shift += 6
        if not b & 64 or shift > 60:
            break
    return value, at


def _svarint(table: bytes, at: int) -> tuple[int, int]:
    value, at = _varint(table, at)
    return (-(value >> 1) if value & 1 else value >> 1), at


def _location_table(table: bytes, line: int, unit: int) -> int | None:
    """3.11+ (Objects/locations.md): each entry starts with a byte 1CCCCLLL, LLL+1 code units."""
    at = 0
    start = 0
    entries = 0
    while at < len(table) and entries < MAX_ENTRIES:
        first = table[at]
        at += 1
        entries += 1
        code = (first >> 3) & 15
        end = start + (first & 7) + 1
        current: int | None = line
        if code == 15:  # no location
            current = None
        elif code == 14:  # long form: line delta, end line delta, column, end column
            delta, at = _svarint(table, at)
            line += delta
            current = line
            for _ in range(3):
                _, at = _varint(table, at)
        elif code == 13:  # no column
            delta, at = _svarint(table, at)
            line += delta
            current = line
        elif code >= 10:  # one-line form: line delta code - 10, column, end column
            line += code - 10
            current = line
            at += 2
        else:  # short form: same line, one column byte
            at += 1
        if start <= unit < end:
            return current
        start = end
        # skip continuation bytes, if any were not consumed
        while at < len(table) and not table[at] & 128:
            at += 1
    return None
