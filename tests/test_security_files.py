"""Hostile profile files (issue 12, items 5-7): each attack reproduced as the issue found it.

- A perf-script-looking file with a long run of spaces in a header line (the header
  expression was quadratic: 16 KB took 7.6 s in `top`, and format detection ran it on
  every text file) is read or refused promptly.
- A small gzip that unpacks to 512 MiB (it took 1.07 GB) is refused with memory, measured
  as the peak RSS of the `bpfscope top` child, under 300 MB.
- C1 controls (U+009B, CSI) and bidi overrides/isolates in frame names never reach a
  terminal raw: not in folded exports, not in `top --json`, not in the tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from collectors.formats import folded, perf_script
from collectors.formats.output import render
from collectors.profile import ProfileGroup
from collectors.safe_text import json_text, printable

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ["\x9b31mred", "a\u202eevil", "b\u2066iso\u2069", "c\u2067r\u2068f\u202d\u202c\u202a\u202b", "\x85nel",
           "\x9d0;title\x9c"]
TERMINAL_ACTIVE = set(range(0x80, 0xA0)) | {*range(0x202A, 0x202F), *range(0x2066, 0x206A)}


# The child's own peak (VmHWM of its post-exec memory): ru_maxrss would carry the parent's (pytest's)
# peak over the vfork+exec that starts the child.
PEAK_MB = "int([w for w in open('/proc/self/status') if w.startswith('VmHWM')][0].split()[1]) / 1024"

def _bpfscope(*args: str, measure: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`bpfscope ARGS` in a child; with `measure`, its peak RSS in MB is the last stderr line."""
    code = ("import resource, sys\nfrom tui.cli import main\ntry:\n    code = main(sys.argv[1:])\n"
            "finally:\n    print(" + PEAK_MB + ", file=sys.stderr)\n"
            "sys.exit(code)\n") if measure else "import sys\nfrom tui.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"})


def test_a_header_line_with_a_long_run_of_spaces_is_parsed_in_linear_time(tmp_path: Path) -> None:
    """64 KB of spaces in a header-looking line: the old expression needed minutes (n²); the
    deadline is generous (the figure is in bench/hostile_bench.py: about a millisecond)."""
    path = tmp_path / "spaces.txt"
    sample = "\t401000 main (/bin/x)\n\n"
    path.write_text("prog" + " " * 65536 + "x\n" + sample + "prog 1 1.0: cpu-clock:\n" + sample)
    done = _bpfscope("top", str(path), timeout=20)
    assert done.returncode in (0, 2), done.stderr


def test_the_header_split_matches_perf_scripts_shapes() -> None:
    """The linear split keeps what the expression matched: spaces in the command name, an
    optional cpu, the first pid that a timestamp follows, and no match without a name."""
    parse = perf_script._parse_header
    assert parse("V8 Worker  12/34 [001] 5.5: 1000 cpu-clock: rest") == \
        ("V8 Worker", 12, 34, 5.5, "cpu-clock", 1000, "rest")
    assert parse("a 1 b 2 3.0:") == ("a 1 b", None, 2, 3.0, "", None, "")
    assert parse("  prog 7 [3] x") == ("prog", None, 7, None, "", None, "x")
    assert parse("12 3.0:") is None
    assert parse("prog" + " " * 5000 + "x") is None


def _gzip_bomb(path: Path, unpacked: int = 512 << 20) -> int:
    """Folded-looking text, gzip members of 16 MiB each, `unpacked` bytes in all."""
    piece = b"main;work;hot 1\n" * (1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = c.compress(piece) + c.flush()
    with open(path, "wb") as f:
        for _ in range(unpacked // len(piece)):
            f.write(member)
    return path.stat().st_size


def test_a_gzip_bomb_is_refused_within_300_mb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.folded.gz"
    packed = _gzip_bomb(path)
    assert packed < 1 << 20
    done = _bpfscope("top", str(path), measure=True)
    assert done.returncode == 2, done.stderr
    assert "gzip" in done.stderr
    peak_mb = float(done.stderr.strip().splitlines()[-1])
    assert peak_mb < 300, f"peak RSS {peak_mb:.0f} MB"


def test_an_honest_gzip_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "small.folded.gz"
    path.write_bytes(zlib.compress(b"main;hot 3\nmain;cold 1\n", wbits=31))
    done = _bpfscope("top", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert {r["name"] for r in json.loads(done.stdout)} >= {"hot", "cold"}


def _hostile_group() -> ProfileGroup:
    text = "".join(f"main;{name};leaf {i + 1}\n" for i, name in enumerate(HOSTILE))
    return folded.read(text, "hostile")


def test_folded_export_escapes_c1_controls_and_bidi_overrides() -> None:
    out = "".join(folded.write(_hostile_group().profiles[0]))
    assert not TERMINAL_ACTIVE & {ord(c) for c in out}
    assert out.count("\ufffd") >= 10
    assert "main;\ufffd31mred;leaf" in out


@pytest.mark.parametrize("fmt", ["folded", "speedscope"])
def test_no_export_carries_terminal_active_characters(fmt: str, tmp_path: Path) -> None:
    import io

    buf = io.BytesIO()
    render(_hostile_group(), fmt, buf)
    text = buf.getvalue().decode("utf-8")
    assert not TERMINAL_ACTIVE & {ord(c) for c in text}


def test_top_json_and_table_escape_them(tmp_path: Path) -> None:
    path = tmp_path / "hostile.folded"
    path.write_text("".join(f"main;{name} {i + 1}\n" for i, name in enumerate(HOSTILE)), encoding="utf-8")
    for args in (("--json",), ()):
        done = _bpfscope("top", str(path), "-n", "0", *args)
        assert done.returncode == 0, done.stderr
        assert not TERMINAL_ACTIVE & {ord(c) for c in done.stdout}, args
    rows = json.loads(_bpfscope("top", str(path), "-n", "0", "--json").stdout)
    assert "\x9b31mred" in {r["name"] for r in rows}  # escaped as \u009b, the same JSON string


def test_the_screen_and_json_helpers_escape_every_one() -> None:
    for c in sorted(TERMINAL_ACTIVE):
        assert chr(c) not in printable(f"x{chr(c)}y")
        assert chr(c) not in json_text([f"x{chr(c)}y"])
        assert json.loads(json_text([f"x{chr(c)}y"])) == [f"x{chr(c)}y"]
