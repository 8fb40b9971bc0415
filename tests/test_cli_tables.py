"""`top` and `diff` tables as users read them: one line per function at 80 columns, names
whole when they fit, paths shortened from the left, plain ASCII when piped, rounded JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import ok, run

LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
APP = "/opt/build/release/bin/app_server"
CPP = ("std::vector<std::basic_string<char, std::char_traits<char>, std::allocator<char> >, "
       "std::allocator<std::basic_string<char> > >::_M_realloc_insert<std::string const&>")


def perf_script(tmp_path: Path, name: str = "app.perf") -> Path:
    """A `perf script` file: a C++ name, a libc function with a long path, a short name."""
    samples = [([("main", APP), (CPP, APP)], 6), ([("main", APP), ("msort_with_tmp.part.0", LIBC)], 3),
               ([("main", APP), ("__memmove_avx_unaligned_erms", LIBC)], 1)]
    out = []
    t = 1.0
    for stack, n in samples:
        for _ in range(n):
            out.append(f"app 100 {t:.6f}: 1000000 cpu-clock:\n")
            out.extend(f"\t{0x1000 + i:x} {fn}+0x10 ({mod})\n" for i, (fn, mod) in enumerate(reversed(stack)))
            out.append("\n")
            t += 0.001
    path = tmp_path / name
    path.write_text("".join(out))
    return path


def test_top_at_80_columns_one_line_per_function(tmp_path: Path) -> None:
    """At 80 columns (piped: COLUMNS or 80) each function is one line of at most 80 characters,
    the long C++ name cut at the end, paths shortened from the left, ASCII only."""
    r = run("top", perf_script(tmp_path), env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "app.perf: hottest functions by self\n"
        "self self% total total%  function                             file\n"
        "   6 60.00     6  60.00  std::vector<std::basic_string<ch...  .../bin/app_server\n"
        "   3 30.00     3  30.00  msort_with_tmp.part.0                .../libc.so.6\n"
        "   1 10.00     1  10.00  __memmove_avx_unaligned_erms         .../libc.so.6\n"
        "   0  0.00    10 100.00  main                                 .../bin/app_server\n")
    assert all(len(line) <= 80 for line in r.stdout.splitlines())


def test_top_at_200_columns_and_wide(tmp_path: Path) -> None:
    """At 200 columns the paths are whole and the name gets the rest; `--wide` cuts nothing."""
    path = perf_script(tmp_path)
    lines = ok("top", path, env={"COLUMNS": "200"}).splitlines()
    assert lines[2] == f"   6 60.00     6  60.00  {CPP[:135]}...  {APP}"
    assert len(lines[2]) == 198  # the name column leaves libc's whole path its room
    assert lines[3] == "   3 30.00     3  30.00  msort_with_tmp.part.0" + " " * 117 + f"  {LIBC}"
    wide = ok("top", path, "--wide", env={"COLUMNS": "80"}).splitlines()
    assert wide[2] == f"   6 60.00     6  60.00  {CPP}  {APP}"


def test_diff_at_80_columns(tmp_path: Path) -> None:
    """`diff`'s table at 80 columns: one line per function, the function column takes the room."""
    base = tmp_path / "base.folded"
    base.write_text(f"main;{CPP} 3\nmain;msort_with_tmp.part.0 1\n")
    new = tmp_path / "new.folded"
    new.write_text(f"main;{CPP} 1\nmain;msort_with_tmp.part.0 3\n")
    r = run("diff", base, new, env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1:] == [
        "      total %              self %",
        "  base    new change  base   new change  function",
        " 25.00  75.00 +50.00 25.00 75.00 +50.00  msort_with_tmp.part.0",
        " 75.00  25.00 -50.00 75.00 25.00 -50.00  std::vector<std::basic_string<char,...",
        "100.00 100.00  +0.00  0.00  0.00  +0.00  main",
    ]


def test_table_on_a_terminal_uses_an_ellipsis() -> None:
    """On a terminal the cut is one `…` cell, and a path keeps its last component (`…/libc.so.6`)."""
    from tui.tables import TableRow, render_table

    text = render_table("t", ("n", "function", "file"), [TableRow(("1",), "x" * 80, LIBC)], 60, ascii_only=False)
    assert text.splitlines()[2] == "1  " + "x" * 35 + "…  …/libc.so.6"
    assert len(text.splitlines()[2]) == 52


def test_top_json_weights_are_rounded(tmp_path: Path) -> None:
    """Weights that add up to float noise (0.1 + 0.2 + ...) print rounded; counts stay integers."""
    path = tmp_path / "s.speedscope.json"
    path.write_text(json.dumps({
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": "f"}]},
        "profiles": [{"type": "sampled", "name": "p", "unit": "seconds", "startValue": 0, "endValue": 2,
                      "samples": [[0]] * 3, "weights": [0.1, 0.2, 0.815]}]}))
    r = run("top", path, "--json")
    assert r.returncode == 0, r.stderr
    assert '"self": 1.115,' in r.stdout and '"total": 1.115,' in r.stdout
    counts = json.loads(run("top", perf_script(tmp_path), "--json").stdout)
    assert counts[0]["self"] == 6 and isinstance(counts[0]["self"], int)


def test_live_tui_with_a_missing_process_or_command_exits_2() -> None:
    """`bpfscope -p 999999` and `bpfscope -- /nonexistent` say why in one line and exit 2 (as
    `record` does), before any screen: no picker, no escape sequences, no log path."""
    from tests.test_cli import assert_one_line_error

    for args, needle in ((("-p", "999999"), "no running process with PID 999999"),
                         (("--", "/nonexistent/prog", "-x"), "command not found: /nonexistent/prog")):
        r = run(*args)
        assert_one_line_error(r, needle)
        assert r.stdout == ""


def test_an_empty_command_log_is_removed_not_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """After the live TUI, a command log that stayed empty is deleted with its directory; a log
    with output is named on stderr."""
    from tui.cli.open_tui import report_log

    empty = tmp_path / "empty" / "command.log"
    empty.parent.mkdir()
    empty.write_text("")
    report_log(str(empty))
    assert not empty.parent.exists()
    full = tmp_path / "command.log"
    full.write_text("hello\n")
    report_log(str(full))
    assert capsys.readouterr().err == f"bpfscope: the command's output is in {full}\n"
