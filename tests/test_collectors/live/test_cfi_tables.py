"""The unwind-table builder against `readelf --debug-dump=frames-interp`, and on hostile ELF files."""

from __future__ import annotations

import bisect
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from collectors.live.unwind import cfi, cfi_build, cfi_tables
from collectors.live.unwind.cfi_tables import (
    CFA_END,
    CFA_PLT,
    CFA_RBP,
    CFA_RSP,
    CFA_UNSUPPORTED,
    RBP_SAME,
    RBP_SAVED,
    Row,
)

LIBC = Path("/lib/x86_64-linux-gnu/libc.so.6")
LIBSTDCXX = Path("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")


def readelf_rules(path: Path) -> dict[int, tuple[int, int | None, int, int]]:
    """Per address where a rule changes: (CFA kind, offset, rbp rule, rbp offset), from readelf."""
    # readelf exits 1 on libc (no .debug_* sections to dump) after printing the frames.
    out = subprocess.run(["readelf", "--debug-dump=frames-interp", str(path)], capture_output=True,
                         text=True, check=False).stdout
    assert " FDE " in out, f"readelf printed no frames for {path}"
    rules: dict[int, tuple[int, int | None, int, int]] = {}
    columns: list[str] | None = None
    in_fde = False
    for raw in out.splitlines():
        line = re.sub(r"r\d+ \(\w+\)", "reg", raw)  # "r10 (r10)": one column
        if " FDE " in line:
            in_fde, columns = True, None
            continue
        if " CIE" in line or "ZERO terminator" in line:
            in_fde = False
            continue
        parts = line.split()
        if not in_fde or not parts:
            continue
        if parts[0] == "LOC":
            columns = parts
            continue
        if columns is None or not re.fullmatch(r"[0-9a-f]{8,16}", parts[0]):
            continue
        cell = dict(zip(columns, parts, strict=False))
        cfa, ra, rbp = cell["CFA"], cell.get("ra", "c-8"), cell.get("rbp", "u")
        rbp_rule = (RBP_SAVED, int(rbp[1:])) if rbp.startswith("c") else (RBP_SAME, 0)
        if ra == "u":
            rules[int(parts[0], 16)] = (CFA_END, 0, RBP_SAME, 0)
        elif ra != "c-8":
            rules[int(parts[0], 16)] = (CFA_UNSUPPORTED, 0, RBP_SAME, 0)
        elif cfa.startswith("rsp+"):
            rules[int(parts[0], 16)] = (CFA_RSP, int(cfa[4:]), *rbp_rule)
        elif cfa.startswith("rbp+"):
            rules[int(parts[0], 16)] = (CFA_RBP, int(cfa[4:]), *rbp_rule)
        elif cfa == "exp":
            rules[int(parts[0], 16)] = (CFA_PLT, None, *rbp_rule)  # readelf does not say which
        else:
            rules[int(parts[0], 16)] = (CFA_UNSUPPORTED, 0, RBP_SAME, 0)
    return rules


def rows_of(path: Path) -> list[Row]:
    with open(path, "rb") as f:
        return cfi_tables.table_rows(cfi_tables.elf_fdes(f))


def mismatches(path: Path) -> list[str]:
    rows = rows_of(path)
    pcs = [r.pc for r in rows]
    bad = []
    for pc, (kind, offset, rbp, rbp_offset) in readelf_rules(path).items():
        row = rows[bisect.bisect_right(pcs, pc) - 1]
        got: tuple[int, int | None, int, int] = (row.cfa, row.cfa_offset, row.rbp, row.rbp_offset)
        if kind == CFA_PLT and row.cfa == CFA_PLT:
            got = (CFA_PLT, None, row.rbp, row.rbp_offset)
        if kind in (CFA_END, CFA_UNSUPPORTED):
            got = (row.cfa, 0, RBP_SAME, 0)  # the rbp rule does not matter in these rows
        if got != (kind, offset, rbp, rbp_offset):
            bad.append(f"{pc:#x}: {got} != readelf {(kind, offset, rbp, rbp_offset)}")
    return bad


@pytest.mark.parametrize("path", [LIBC, LIBSTDCXX], ids=["libc", "libstdc++"])
def test_rows_match_readelf(path: Path) -> None:
    """At every address where readelf's interpreted table changes, our row says the same."""
    assert mismatches(path) == []


def test_a_program_without_frame_pointers(tmp_path: Path) -> None:
    """A gcc -O2 program: readelf agrees, its PLT has the PLT rule, and _start ends the stack."""
    src = tmp_path / "p.c"
    src.write_text("#include <stdio.h>\nint main(int c, char **v) { puts(v[0]); return c; }\n")
    exe = tmp_path / "p"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(src)], check=True)
    assert mismatches(exe) == []
    rows = rows_of(exe)
    assert any(r.cfa == CFA_PLT and r.cfa_offset in (10, 11) for r in rows)
    start = int(subprocess.run(["nm", str(exe)], capture_output=True, text=True, check=True).stdout
                .split(" T _start")[0].rsplit("\n", 1)[-1], 16)
    row = rows[bisect.bisect_right([r.pc for r in rows], start) - 1]
    assert row.cfa == CFA_END


def test_rows_are_sorted_and_capped() -> None:
    rows = rows_of(LIBC)
    assert [r.pc for r in rows] == sorted({r.pc for r in rows})
    with open(LIBC, "rb") as f:
        fdes = cfi_tables.elf_fdes(f)
    assert 0 < len(cfi_tables.table_rows(fdes, limit=1000)) <= 1000


def test_pack_round_trip() -> None:
    rows = rows_of(LIBC)[:500]
    assert cfi_tables.unpack(cfi_tables.pack(rows)) == rows


def test_bias_of_a_mapping() -> None:
    """A mapping's bias turns its addresses into the file's (PIE, and a non-PIE executable)."""
    pie = cfi.FileTable(0, 1, ((0x26000, 0x15000, 0x26000),), 0)
    assert pie.bias(0x7F0000026000, 0x26000) == 0x7F0000000000
    fixed = cfi.FileTable(0, 1, ((0x1000, 0x2000, 0x401000),), 0)
    assert fixed.bias(0x401000, 0x1000) == 0
    assert fixed.bias(0x401000, 0x9000) is None


# --- hostile files ---------------------------------------------------------------------

def _eh_frame(path: Path) -> tuple[int, int]:
    """(file offset, size) of a file's .eh_frame."""
    out = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.replace("[ ", "[").split()
        if len(parts) > 6 and parts[1] == ".eh_frame":
            return int(parts[4], 16), int(parts[5], 16)
    raise AssertionError(f"{path} has no .eh_frame")


def _corrupt(tmp_path: Path, name: str, change: object) -> Path:
    copy = tmp_path / name
    shutil.copy(LIBC, copy)
    offset, size = _eh_frame(copy)
    data = bytearray(copy.read_bytes())
    assert callable(change)
    change(data, offset, size)
    copy.write_bytes(bytes(data))
    return copy


def _random(data: bytearray, offset: int, size: int) -> None:
    rng = random.Random(10)
    for _ in range(2000):
        data[offset + rng.randrange(size)] = rng.randrange(256)


def _truncated(data: bytearray, offset: int, size: int) -> None:
    data[offset + size // 3 : offset + size] = bytes(size - size // 3)


def _huge_lengths(data: bytearray, offset: int, size: int) -> None:
    data[offset + 24 : offset + 28] = b"\xf0\xff\xff\x7f"  # an FDE claiming 2 GB


def _state_bomb(data: bytearray, offset: int, size: int) -> None:
    # DW_CFA_remember_state over every FDE's instructions: a stack that would grow without end.
    for i in range(offset + 64, offset + size, 2):
        data[i] = 0x0A


@pytest.mark.parametrize("change", [_random, _truncated, _huge_lengths, _state_bomb],
                         ids=["random", "truncated", "huge-length", "state-bomb"])
def test_hostile_cfi_builds_or_fails_cleanly(tmp_path: Path, change: object) -> None:
    """A corrupt copy of libc: the child process returns rows or a failure, never hangs or
    takes the collector down; whatever rows come are sorted and within the cap."""
    copy = _corrupt(tmp_path, "libc-corrupt.so", change)
    fd = os.open(copy, os.O_RDONLY)
    try:
        results = cfi._run_builder([((0, 0, 0, 0), fd)])
    finally:
        os.close(fd)
    data = results[(0, 0, 0, 0)]
    assert data is not None
    parsed = cfi._parse_result(data)
    if parsed is not None:
        rows = cfi_tables.unpack(parsed[1])
        assert len(rows) <= cfi_tables.MAX_ROWS
        assert [r.pc for r in rows] == sorted(r.pc for r in rows)


def test_a_file_that_is_not_elf_fails_cleanly(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x7fELF" + os.urandom(5000))
    fd = os.open(junk, os.O_RDONLY)
    try:
        assert cfi_build.build(fd)[:4] == cfi_build.RESULT.pack(1, 0, 0, 0)[:4]
    finally:
        os.close(fd)


def test_tables_come_in_steps_smallest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files are built a few per child process, smallest first, and each step's tables are
    in (processes pointed at them) before the next step is built: a process mapping many
    libraries gets its small files' tables early, and a slow file costs only its step."""
    from collectors.live.unwind import cfi

    unwinder = cfi.CfiUnwinder(cache_dir=None)
    steps: list[list[tuple[int, int, int, int]]] = []
    tables_in: list[set[tuple[int, int, int, int]]] = []

    def builder(files: list[tuple[tuple[int, int, int, int], int]]) -> dict[tuple[int, int, int, int], bytes | None]:
        steps.append([key for key, _fd in files])
        tables_in.append(set(unwinder._tables))  # what the builder thread published
        return {key: None for key, _fd in files}

    monkeypatch.setattr(cfi, "_run_builder", builder)
    sizes = [50, 10, 40, 30, 20, 60]
    files = {(1, i, 0, size): os.open("/dev/null", os.O_RDONLY) for i, size in enumerate(sizes)}
    unwinder._building.update(files)  # as track() does
    unwinder._queue.put(files)
    unwinder._queue.put(None)  # then stop
    unwinder._build_loop()  # the builder thread's loop, here on this thread
    assert [key[3] for step in steps for key in step] == sorted(sizes)
    assert [len(step) for step in steps] == [cfi.BUILD_STEP, len(sizes) - cfi.BUILD_STEP]
    assert tables_in[1] == set(steps[0])
    assert not unwinder._building and set(unwinder._tables) == set(files)
