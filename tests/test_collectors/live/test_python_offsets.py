"""The shipped CPython offsets and line-table decoding, checked against every pyenv build."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest

from collectors.live.python.linetable import line_for
from collectors.live.python.offsets import TABLE, debug_offsets
from tests.test_collectors.live.python_workloads import INTERPRETER_VERSIONS, interpreters

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "python_offsets.c"
PYTHONS = interpreters()


@pytest.mark.parametrize("version", INTERPRETER_VERSIONS)
def test_table_matches_the_headers(version: str, tmp_path: Path) -> None:
    """offsetof() against the internal headers of the installed build gives the table's numbers."""
    prefix = Path(PYTHONS[version]).parents[1]
    include = prefix / "include" / f"python{version}"
    assert include.is_dir(), f"{include} is missing: run scripts/setup-system.sh"
    exe = tmp_path / "offsets"
    subprocess.run(["gcc", f"-I{include}", f"-I{include / 'internal'}", "-o", str(exe), str(SCRIPT)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    measured = {name: int(value) for name, value in (line.split() for line in out.splitlines())}
    major, minor = map(int, version.split("."))
    assert measured == asdict(TABLE[(major, minor)])


def test_debug_offsets_of_313_agree_with_the_table() -> None:
    """3.13's _Py_DebugOffsets, as stored in libpython's initialised _PyRuntime, say what the table says."""
    from elftools.elf.elffile import ELFFile

    lib = Path(PYTHONS["3.13"]).parents[1] / "lib" / "libpython3.13.so.1.0"
    with lib.open("rb") as f:
        elf = ELFFile(f)
        addr = elf.get_section_by_name(".dynsym").get_symbol_by_name("_PyRuntime")[0]["st_value"]
        seg = next(s for s in elf.iter_segments()
                   if s["p_type"] == "PT_LOAD" and s["p_vaddr"] <= addr < s["p_vaddr"] + s["p_filesz"])
        f.seek(seg["p_offset"] + addr - seg["p_vaddr"])
        data = f.read(1024)
    assert debug_offsets(data, TABLE[(3, 13)]) == TABLE[(3, 13)]
    assert debug_offsets(b"not a cookie" + data[12:], TABLE[(3, 13)]) is None
    assert debug_offsets(data[:100], TABLE[(3, 13)]) is None


DUMP = r'''
import dis, json, sys, types, json.encoder, collections, argparse
def walk(co):
    yield co
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            yield from walk(c)
out = []
for mod in (json.encoder, collections, argparse):
    for c in walk(compile(open(mod.__file__).read(), mod.__file__, "exec")):
        table = c.co_lnotab if sys.version_info < (3, 10) else c.co_linetable
        if sys.version_info >= (3, 11):
            lines = {2 * i: p[0] for i, p in enumerate(c.co_positions())}
        elif sys.version_info >= (3, 10):
            lines = {o: l for s, e, l in c.co_lines() for o in range(s, e, 2)}
        else:
            starts, lines, cur = dict(dis.findlinestarts(c)), {}, c.co_firstlineno
            for o in range(0, len(c.co_code), 2):
                cur = lines[o] = starts.get(o, cur)
        out.append([table.hex(), c.co_firstlineno, lines])
print(json.dumps(out))
'''


@pytest.mark.parametrize("version", INTERPRETER_VERSIONS)
def test_line_tables_agree_with_the_interpreter(version: str) -> None:
    """For every instruction of three stdlib modules, the line we decode is the one the
    interpreter itself gives (co_positions / co_lines / findlinestarts)."""
    out = subprocess.run([PYTHONS[version], "-c", DUMP], capture_output=True, text=True, check=True).stdout
    key = tuple(map(int, version.split(".")))
    checked = 0
    for table, first, lines in json.loads(out):
        for offset, line in lines.items():
            assert line_for((key[0], key[1]), bytes.fromhex(table), first, int(offset)) == line
            checked += 1
    assert checked > 10_000


def test_line_tables_survive_garbage() -> None:
    """Random or cut tables give a line or None, never an exception."""
    import random

    rng = random.Random(7)
    for _ in range(300):
        table = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        for version in ((3, 9), (3, 10), (3, 11), (3, 12), (3, 13)):
            line = line_for(version, table, 10, rng.randrange(200))
            assert line is None or isinstance(line, int)
