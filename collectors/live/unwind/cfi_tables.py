"""Unwind tables from an ELF file's call-frame information (`.eh_frame`, or `.debug_frame`).

pyelftools parses the CIEs and FDEs into instruction lists; this module runs those
instructions (the few rules x86-64 code uses) into compact rows, one per address where the
rules change, sorted by address:

- the CFA (the caller's stack pointer) as rsp + offset, rbp + offset, or the PLT's
  expression (rsp + 8, + 8 more from the 11th byte of each 16-byte entry on);
- where the caller's rbp was saved (at CFA + offset), or left as it is;
- the return address at CFA - 8 (x86-64's CIEs all say so), or undefined, which marks the
  outermost frame of a thread (`_start`, `clone3`): the stack is whole there.

A row whose rules are none of these (a CFA computed by another expression, stack
realignment through r10, a signal frame) is `CFA_UNSUPPORTED`; the gaps between FDEs are
`CFA_NONE`: the BPF unwinder takes a frame-pointer step for both. pyelftools' own
`get_decoded()` is not used: it stops at `DW_CFA_GNU_args_size`, which C++ code has.

The input is hostile (any process can map any file): every failure of pyelftools ends the
file's table (what was built so far of whole FDEs is kept), and the rows are capped.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import IO, Any, NamedTuple

CFA_NONE = 0
"""No call-frame information here: a frame-pointer step."""
CFA_RSP = 1
CFA_RBP = 2
CFA_PLT = 3
"""CFA = rsp + 8, plus 8 when (pc & 15) >= `cfa_offset` (the PLT's expression)."""
CFA_END = 4
"""The return address is undefined: the outermost frame of a thread."""
CFA_UNSUPPORTED = 5
"""A rule not followed in the kernel: a frame-pointer step."""

RBP_SAME = 0
RBP_SAVED = 1
"""rbp saved at CFA + `rbp_offset`."""

ROW = struct.Struct("<IihBB")
"""pc (file address), cfa_offset, rbp_offset, cfa kind, rbp rule: `struct cfi_row` in BPF."""

MAX_ROWS = 1 << 20
"""Rows kept of one file at most (libc has about 20,000, libstdc++ 25,000)."""

_RSP, _RBP, _RA = 7, 6, 16
_RA_AT_CFA, _RA_UNDEFINED, _RA_ELSEWHERE = 0, 1, 2
_PLT_EXPRESSIONS = {
    (0x77, 8, 0x80, 0, 0x3F, 0x1A, 0x3B, 0x2A, 0x33, 0x24, 0x22): 11,
    (0x77, 8, 0x80, 0, 0x3F, 0x1A, 0x3A, 0x2A, 0x33, 0x24, 0x22): 10,
}
"""DW_OP_breg7 8; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_lit11 (or 10); DW_OP_ge;
DW_OP_lit3; DW_OP_shl; DW_OP_plus: the CFA of a PLT entry, as binutils writes it."""


class Row(NamedTuple):
    pc: int
    cfa: int
    cfa_offset: int
    rbp: int
    rbp_offset: int


class _State:
    """The rules at one address while an FDE's instructions run."""

    __slots__ = ("cfa", "cfa_offset", "cfa_reg", "ra", "rbp", "rbp_offset")

    def __init__(self) -> None:
        self.cfa = CFA_UNSUPPORTED
        self.cfa_reg = -1
        self.cfa_offset = 0
        self.rbp = RBP_SAME
        self.rbp_offset = 0
        self.ra = _RA_AT_CFA

    def copy(self) -> _State:
        other = _State()
        other.cfa, other.cfa_reg, other.cfa_offset = self.cfa, self.cfa_reg, self.cfa_offset
        other.rbp, other.rbp_offset, other.ra = self.rbp, self.rbp_offset, self.ra
        return other

    def set_cfa(self, reg: int, offset: int) -> None:
        self.cfa_reg, self.cfa_offset = reg, offset
        self.cfa = CFA_RSP if reg == _RSP else CFA_RBP if reg == _RBP else CFA_UNSUPPORTED

    def row(self, pc: int) -> Row:
        if self.ra == _RA_UNDEFINED:
            return Row(pc, CFA_END, 0, RBP_SAME, 0)
        if self.ra == _RA_ELSEWHERE:
            return Row(pc, CFA_UNSUPPORTED, 0, RBP_SAME, 0)
        offset = self.cfa_offset if self.cfa != CFA_UNSUPPORTED else 0
        if not -(1 << 31) <= offset < (1 << 31):
            return Row(pc, CFA_UNSUPPORTED, 0, RBP_SAME, 0)
        rbp, rbp_offset = self.rbp, self.rbp_offset
        if not -(1 << 15) <= rbp_offset < (1 << 15):
            rbp, rbp_offset = RBP_SAME, 0
        return Row(pc, self.cfa, offset, rbp, rbp_offset)


def _run(instructions: Iterable[Any], state: _State, initial: _State, pc: int, end: int,
         code_align: int, data_align: int, rows: list[Row]) -> int:
    """Run one CIE's or FDE's instructions from `pc`, appending the row of each address the
    rules are complete for (at every advance); returns the address of the last, open row."""
    stack: list[_State] = []
    for ins in instructions:
        op, args = ins.opcode, ins.args
        if op in (0x40, 0x02, 0x03, 0x04, 0x01):  # advance_loc, advance_loc1/2/4, set_loc
            new_pc = args[0] if op == 0x01 else pc + args[0] * code_align
            if new_pc > pc:
                rows.append(state.row(pc))  # the rules from `pc` on are complete
                if new_pc >= end:
                    return end
                pc = new_pc
        elif op == 0x0C:  # def_cfa
            state.set_cfa(args[0], args[1])
        elif op == 0x12:  # def_cfa_sf
            state.set_cfa(args[0], args[1] * data_align)
        elif op == 0x0D:  # def_cfa_register
            state.set_cfa(args[0], state.cfa_offset)
        elif op == 0x0E:  # def_cfa_offset
            state.set_cfa(state.cfa_reg, args[0])
        elif op == 0x13:  # def_cfa_offset_sf
            state.set_cfa(state.cfa_reg, args[0] * data_align)
        elif op == 0x0F:  # def_cfa_expression
            threshold = _PLT_EXPRESSIONS.get(tuple(args[0]))
            state.cfa_reg = -1
            state.cfa = CFA_PLT if threshold is not None else CFA_UNSUPPORTED
            state.cfa_offset = threshold or 0
        elif op in (0x80, 0x05, 0x11):  # offset, offset_extended, offset_extended_sf
            _set_register(state, args[0], RBP_SAVED, args[1] * data_align)
        elif op in (0xC0, 0x06):  # restore, restore_extended
            _restore(state, initial, args[0])
        elif op == 0x07:  # undefined
            _set_register(state, args[0], -1, 0)
        elif op == 0x08:  # same_value
            _set_register(state, args[0], RBP_SAME, 0)
        elif op in (0x09, 0x10, 0x14, 0x15, 0x16):  # register, expression, val_*
            _set_register(state, args[0], -2, 0)
        elif op == 0x0A:  # remember_state
            if len(stack) < 64:
                stack.append(state.copy())
        elif op == 0x0B and stack:  # restore_state
            saved = stack.pop()
            state.cfa, state.cfa_reg, state.cfa_offset = saved.cfa, saved.cfa_reg, saved.cfa_offset
            state.rbp, state.rbp_offset, state.ra = saved.rbp, saved.rbp_offset, saved.ra
        # nop, GNU_args_size, GNU_window_save and the rest change nothing we follow.
    return pc


def _set_register(state: _State, reg: int, rule: int, offset: int) -> None:
    if reg == _RBP:
        # Anything but "saved at CFA + n" or "same" loses rbp: treated as unchanged, which
        # only matters to a frame further up that finds its CFA from rbp.
        state.rbp, state.rbp_offset = (rule, offset) if rule in (RBP_SAME, RBP_SAVED) else (RBP_SAME, 0)
    elif reg == _RA:
        # Anything but CFA - 8 (a signal frame, a register) is not followed.
        state.ra = (_RA_UNDEFINED if rule == -1 else _RA_AT_CFA if rule == RBP_SAVED and offset == -8
                    else _RA_ELSEWHERE)


def _restore(state: _State, initial: _State, reg: int) -> None:
    if reg == _RBP:
        state.rbp, state.rbp_offset = initial.rbp, initial.rbp_offset
    elif reg == _RA:
        state.ra = initial.ra


def fde_rows(fde: Any) -> list[Row]:
    """The rows of one FDE, from its start to its end (exclusive), gaps not included."""
    cie = fde.cie
    code_align = cie.header.get("code_alignment_factor") or 1
    data_align = cie.header.get("data_alignment_factor") or 1
    start = fde.header["initial_location"]
    end = start + fde.header["address_range"]
    initial = _State()
    scratch: list[Row] = []
    _run(cie.instructions, initial, initial.copy(), start, end, code_align, data_align, scratch)
    state = initial.copy()
    rows: list[Row] = []
    last = _run(fde.instructions, state, initial, start, end, code_align, data_align, rows)
    if last < end:
        rows.append(state.row(last))
    return rows


def table_rows(fdes: Iterable[Any], limit: int = MAX_ROWS) -> list[Row]:
    """Sorted, merged rows for a file's FDEs, with `CFA_NONE` rows where no FDE covers."""
    spans: list[tuple[int, int, list[Row]]] = []
    count = 0
    for fde in fdes:
        try:
            rows = fde_rows(fde)
        except Exception:  # a malformed FDE (hostile input): skipped, the rest kept
            continue
        start = fde.header["initial_location"]
        spans.append((start, start + fde.header["address_range"], rows))
        count += len(rows) + 1
        if count > limit:
            break
    spans.sort(key=lambda s: s[0])
    out: list[Row] = []
    covered = 0
    for start, end, rows in spans:
        if start < covered or start >= (1 << 32) or end > (1 << 32):
            continue  # overlapping FDEs (broken input) or beyond 32-bit file addresses
        if out and out[-1].pc == start and out[-1].cfa == CFA_NONE:
            out.pop()
        for row in rows:
            if out and out[-1][1:] == row[1:]:
                continue
            if out and out[-1].pc == row.pc:
                out[-1] = row
            else:
                out.append(row)
        out.append(Row(end, CFA_NONE, 0, RBP_SAME, 0))
        covered = end
    return out[:limit]


def pack(rows: Iterable[Row]) -> bytes:
    return b"".join(ROW.pack(r.pc, r.cfa_offset, r.rbp_offset, r.cfa, r.rbp) for r in rows)


def unpack(data: bytes) -> list[Row]:
    return [Row(pc, cfa, cfa_off, rbp, rbp_off) for pc, cfa_off, rbp_off, cfa, rbp in ROW.iter_unpack(data)]


def elf_fdes(stream: IO[bytes]) -> list[Any]:
    """The FDEs of an ELF file's `.eh_frame` (or `.debug_frame` when it has none)."""
    from elftools.dwarf.callframe import FDE
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(stream)
    if elf.get_machine_arch() != "x64":
        return []
    dwarf = elf.get_dwarf_info(relocate_dwarf_sections=False, follow_links=False)
    if dwarf.has_EH_CFI():
        entries = dwarf.EH_CFI_entries()
    elif dwarf.has_CFI():
        entries = dwarf.CFI_entries()
    else:
        return []
    return [e for e in entries if isinstance(e, FDE)]


def load_segments(stream: IO[bytes]) -> list[tuple[int, int, int]]:
    """(file offset, file size, address) of each executable PT_LOAD segment."""
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(stream)
    out = []
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_LOAD" and seg["p_flags"] & 1:
            out.append((seg["p_offset"], seg["p_filesz"], seg["p_vaddr"]))
    return out
