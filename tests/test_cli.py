"""The headless CLI, run as users run it: a subprocess, its exit status, stdout and stderr."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.speedscope_expected import PROFILES

SIMPLE = PROFILES / "stackcollapse" / "simple.txt"
BPFSCOPE = [sys.executable, "-m", "tui.cli"]
ROOT = Path(__file__).resolve().parents[1]


def run(*args: str | Path, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BPFSCOPE, *map(str, args)], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def ok(*args: str | Path, env: dict[str, str] | None = None) -> str:
    """Runs bpfscope, asserts it succeeded without a word on stderr, and returns its stdout."""
    r = run(*args, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    return r.stdout


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_version_and_help() -> None:
    """`--version` names the version; `--help` works on the command and every subcommand."""
    v = run("--version")
    assert v.returncode == 0 and v.stdout.startswith("bpfscope 0.")
    for args in (["--help"], ["convert", "--help"], ["top", "--help"]):
        r = run(*args)
        assert r.returncode == 0 and "usage: bpfscope" in r.stdout, args


def test_top_json_rows_are_sorted_by_self(tmp_path: Path) -> None:
    """`top --json` prints name/file/self/total/percentages, heaviest self first."""
    r = run("top", SIMPLE, "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(x["name"], x["self"], x["total"]) for x in rows] == [
        ("b", 5, 14), ("c", 5, 5), ("d", 4, 4), ("a", 0, 14)]
    assert rows[0]["self_pct"] == pytest.approx(100 * 5 / 14, abs=1e-3)
    assert {"name", "file", "self", "total", "self_pct", "total_pct"} <= set(rows[0])


def test_top_by_total_and_limit() -> None:
    """`--by total -n 2` gives the two functions with the largest totals."""
    rows = json.loads(ok("top", SIMPLE, "--json", "--by", "total", "-n", "2"))
    assert sorted(x["name"] for x in rows) == ["a", "b"]
    assert all(x["total"] == 14 for x in rows)


def test_top_table_shows_hostile_names_as_text(tmp_path: Path) -> None:
    """Escape sequences and Rich markup in a frame name are printed as text, never obeyed."""
    f = tmp_path / "hostile.folded"
    f.write_text("main;\x1b[31mred\x07[bold red]evil[/bold red] 3\n")
    r = run("top", f, env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert "\\x1b[31mred\\x07[bold red]evil[/bold red]" in r.stdout


def test_convert_to_speedscope_and_back(tmp_path: Path) -> None:
    """convert writes speedscope by suffix; reading it back gives the same top table."""
    out = tmp_path / "simple.speedscope.json"
    r = run("convert", SIMPLE, "-o", out)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["exporter"].startswith("bpfscope@")
    assert ok("top", out, "--json") == ok("top", SIMPLE, "--json")
    assert [x["name"] for x in json.loads(ok("top", out, "--json"))] == ["b", "c", "d", "a"]


def test_convert_to_folded_by_suffix_and_to_stdout(tmp_path: Path) -> None:
    """`.folded` gives folded stacks; `-o - --to folded` prints them."""
    out = tmp_path / "x.folded"
    assert run("convert", SIMPLE, "-o", out).returncode == 0
    assert out.read_text().splitlines() == ["a;b;c 2", "a;b;d 4", "a;b;c 3", "a;b 5"]
    r = run("convert", SIMPLE, "-o", "-", "--to", "folded")
    assert r.returncode == 0 and r.stdout == out.read_text()


def test_convert_unknown_suffix_is_a_usage_error(tmp_path: Path) -> None:
    """An output name with no known suffix and no --to is refused before reading anything."""
    assert_one_line_error(run("convert", SIMPLE, "-o", tmp_path / "out.bin"), "--to")


def test_gzip_input_is_read(tmp_path: Path) -> None:
    """A gzipped profile reads like the plain one."""
    gz = tmp_path / "simple.txt.gz"
    gz.write_bytes(gzip.compress(SIMPLE.read_bytes()))
    rows = json.loads(ok("top", gz, "--json"))
    assert [(x["name"], x["self"], x["total"]) for x in rows] == [
        ("b", 5, 14), ("c", 5, 5), ("d", 4, 4), ("a", 0, 14)]


BAD_INPUTS: dict[str, bytes | None] = {
    "missing": None,
    "empty": b"",
    "binary junk": bytes(range(256)) * 40,
    "prose": b"hello, this is not a profile\nat all\n",
    "bad json": b'{"profiles": [',
    "json not a profile": b'{"foo": 1}',
    "truncated gzip": gzip.compress(b"a;b 1\n" * 1000)[:-30],
    "negative weight": b"a;b 1\na;c -4\n",
    "one huge line": b"x" * (1 << 20),
    "mismatched weights": json.dumps({
        "$schema": "https://www.speedscope.app/file-format-schema.json", "shared": {"frames": [{"name": "a"}]},
        "profiles": [{"type": "sampled", "name": "p", "unit": "none", "startValue": 0, "endValue": 2,
                      "samples": [[0], [0]], "weights": [1]}]}).encode(),
    "unbalanced events": (PROFILES / "speedscope" / "invalid" / "incomplete-trace.json").read_bytes(),
    "out-of-order events": (PROFILES / "speedscope" / "invalid" / "out-of-order-events.json").read_bytes(),
    "bad pprof counts": None,  # made by bad_pprof(): two values per sample for one sample type
}


def bad_pprof() -> bytes:
    from collectors.formats.pprof import ProfileMessage

    msg = ProfileMessage()
    msg.string_table.extend(["", "samples", "count", "main"])
    msg.sample_type.add(type=1, unit=2)
    msg.function.add(id=1, name=3)
    loc = msg.location.add(id=1)
    loc.line.add(function_id=1)
    msg.sample.add(location_id=[1], value=[5, 7])
    return gzip.compress(msg.SerializeToString())


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line_and_no_output(kind: str, tmp_path: Path) -> None:
    """Bad input of each kind: exit 2, one line naming the file, no traceback, no output file."""
    src = tmp_path / f"input-{kind.replace(' ', '-')}"
    data = bad_pprof() if kind == "bad pprof counts" else BAD_INPUTS[kind]
    if data is not None:
        src.write_bytes(data)
    out = tmp_path / "out.speedscope.json"
    assert_one_line_error(run("convert", src, "-o", out), str(src))
    assert not out.exists()
    assert list(tmp_path.glob(".out*")) == []
    assert_one_line_error(run("top", src), str(src))


def test_not_a_profile_names_the_formats_tried(tmp_path: Path) -> None:
    """For a file in no known format, the message lists what was tried."""
    f = tmp_path / "notes.txt"
    f.write_text("dear diary\n")
    assert_one_line_error(run("top", f), "tried", "folded stacks", "perf script", "pprof")


def test_directory_is_an_error(tmp_path: Path) -> None:
    """A directory given as input gets one clear line."""
    assert_one_line_error(run("top", tmp_path), "directory")


def test_unwritable_output_is_an_error(tmp_path: Path) -> None:
    """Writing into a directory that does not exist: exit 2, one line naming the output."""
    out = tmp_path / "no" / "such" / "dir.folded"
    assert_one_line_error(run("convert", SIMPLE, "-o", out), str(out))


def test_deep_stack_converts(tmp_path: Path) -> None:
    """A 20,000-frame stack goes through convert and top."""
    f = tmp_path / "deep.folded"
    f.write_text(";".join(f"f{i}" for i in range(20_000)) + " 7\n")
    out = tmp_path / "deep.speedscope.json"
    assert run("convert", f, "-o", out).returncode == 0
    rows = json.loads(ok("top", out, "--json", "-n", "1"))
    assert rows[0]["name"] == "f19999" and rows[0]["self"] == 7


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    """Reading a large file draws a progress bar on stderr when it is a terminal, and nothing when it is not."""
    import pty
    import threading

    big = tmp_path / "big.folded"
    line = ";".join(f"module{i % 50}.function_{i}" for i in range(40))
    big.write_text("".join(f"{line};leaf{i} {i % 7 + 1}\n" for i in range(12_000)))
    assert big.stat().st_size > 8 << 20
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc = subprocess.run([*BPFSCOPE, "top", str(big), "--json", "-n", "1"], stdout=subprocess.PIPE,
                          stderr=slave, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    assert proc.returncode == 0
    assert b"reading" in b"".join(chunks)
    plain = run("top", big, "--json", "-n", "1")
    assert plain.returncode == 0 and plain.stderr == ""
