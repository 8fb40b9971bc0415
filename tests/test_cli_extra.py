"""The headless `diff` command, `top --format markdown` and the filters, run as a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.speedscope_expected import PROFILES
from tests.test_cli import SIMPLE, assert_one_line_error, ok, run

PERF_WITH_TIMES = PROFILES / "linux-perf" / "simple-with-header.linux-perf.txt"


def folded(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_diff_json_rows_sorted_by_total_change(tmp_path: Path) -> None:
    """`diff --json` gives shares of each file's total and their change, largest |total change| first."""
    base = folded(tmp_path, "base.folded", "main;a 3\nmain;b 1\n")
    new = folded(tmp_path, "new.folded", "main;b 6\nmain;c 2\n")
    r = run("diff", base, new, "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [x["name"] for x in rows] == ["a", "b", "c", "main"]
    a, b, c = rows[0], rows[1], rows[2]
    assert (a["total_pct_base"], a["total_pct_new"], a["total_pct_delta"]) == (75.0, 0.0, -75.0)
    assert (b["self_pct_base"], b["self_pct_new"], b["self_pct_delta"]) == (25.0, 75.0, 50.0)
    assert (c["total_pct_base"], c["total_pct_new"]) == (0.0, 25.0)


def ok_diff(*args: str | Path) -> str:
    """Runs `bpfscope diff`, asserts it succeeded saying only how many functions matched on
    stderr, and returns its stdout."""
    r = run("diff", *args)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bpfscope: ") and " matched; " in lines[0], r.stderr
    return r.stdout


def test_diff_limit_and_table(tmp_path: Path) -> None:
    """`-n 1` keeps the largest change; the table form names the function."""
    base = folded(tmp_path, "base.folded", "main;a 3\nmain;b 1\n")
    new = folded(tmp_path, "new.folded", "main;b 6\nmain;c 2\n")
    assert [x["name"] for x in json.loads(ok_diff(base, new, "--json", "-n", "1"))] == ["a"]
    r = run("diff", base, new, env={"COLUMNS": "160"})
    assert r.returncode == 0, r.stderr
    assert "-75.00" in r.stdout and "main" in r.stdout


def test_diff_with_filters_and_bad_input(tmp_path: Path) -> None:
    """Filters apply to both files; a missing file is a one-line error with exit status 2."""
    base = folded(tmp_path, "base.folded", "main;a 3\nmain;b 1\n")
    new = folded(tmp_path, "new.folded", "main;b 6\nmain;c 2\n")
    rows = json.loads(ok_diff(base, new, "--json", "--hide", "main"))
    assert "main" not in [x["name"] for x in rows]
    assert_one_line_error(run("diff", base, tmp_path / "missing.folded"), "missing.folded")


def test_top_markdown_escapes_names(tmp_path: Path) -> None:
    """`--format markdown` prints a GitHub table; pipes, backticks and control characters are escaped."""
    path = folded(tmp_path, "odd.folded", "main;a|b`c\x1bd 3\nmain 1\n")
    r = run("top", path, "--format", "markdown")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "| function | self | self % | total | total % |"
    assert lines[2] == "| a\\|b\\`c\\\\x1bd | 3 | 75.00 | 3 | 75.00 |"
    assert "\x1b" not in r.stdout


def test_top_json_alias_equals_format_json() -> None:
    """`--json` is the same as `--format json`."""
    as_json = ok("top", SIMPLE, "--json")
    assert as_json == ok("top", SIMPLE, "--format", "json")
    assert [x["name"] for x in json.loads(as_json)] == ["b", "c", "d", "a"]


def test_top_focus_and_hide(tmp_path: Path) -> None:
    """--focus keeps only stacks through the match; --hide moves a frame's self time to its caller."""
    path = folded(tmp_path, "p.folded", "main;parse;read 2\nmain;render 3\nmain;parse 1\n")
    focused = {x["name"]: x["total"] for x in json.loads(ok("top", path, "--json", "--focus", "parse"))}
    assert focused == {"parse": 3, "read": 2}
    hidden = {x["name"]: x["self"] for x in json.loads(ok("top", path, "--json", "--hide", "render"))}
    assert hidden == {"main": 3, "read": 2, "parse": 1}


def test_top_mine_keeps_only_matching_frames(tmp_path: Path) -> None:
    """--mine keeps only frames whose name or file matches; library time goes to the nearest kept caller."""
    path = folded(tmp_path, "p.folded", "app_main;libc_read;app_parse;libc_memcpy 2\napp_main;libc_write 3\n")
    mine = {x["name"]: x["self"] for x in json.loads(ok("top", path, "--json", "--mine", "app_"))}
    assert mine == {"app_main": 3, "app_parse": 2}


def test_bad_regex_is_a_usage_error() -> None:
    """An invalid `re:` pattern gives one line and exit status 2."""
    assert_one_line_error(run("top", SIMPLE, "--focus", "re:("), "regular expression")


def test_from_to_slices_by_time() -> None:
    """--from/--to keep the samples in that many seconds after the first one."""
    whole = json.loads(ok("top", PERF_WITH_TIMES, "--json", "-n", "0"))
    part = json.loads(ok("top", PERF_WITH_TIMES, "--json", "-n", "0", "--from", "0.05", "--to", "0.1"))
    total = max(x["total"] for x in part)
    assert 0 < total < max(x["total"] for x in whole)
    assert total == pytest.approx(50, abs=2)  # ~1 ms per sample over 50 ms


def test_from_on_a_profile_without_times_is_refused() -> None:
    """Folded stacks have no times: --from is a one-line error."""
    assert_one_line_error(run("top", SIMPLE, "--from", "1"), "no sample times")


def test_convert_to_seconds_is_until_and_to_format_stays_the_format(tmp_path: Path) -> None:
    """convert's `--to` takes seconds (as on top and diff: the slice's end) or a format name."""
    by_until, by_to = tmp_path / "until.folded", tmp_path / "to.folded"
    ok("convert", PERF_WITH_TIMES, "-o", by_until, "--until", "0.02")
    r = run("convert", PERF_WITH_TIMES, "-o", by_to, "--to", "0.02")
    assert r.returncode == 0, r.stderr
    assert by_to.read_text() == by_until.read_text()
    as_format = tmp_path / "out.txt"
    ok("convert", PERF_WITH_TIMES, "-o", as_format, "--to", "folded")
    assert as_format.read_text() != by_to.read_text()
    assert by_to.read_text() != ""


def test_convert_to_neither_format_nor_seconds_is_refused(tmp_path: Path) -> None:
    """`--to bogus` (or nan) gives exit 2 naming what --to takes; `--to` and `--until` together are refused."""
    for bad in ("bogus", "nan"):
        r = run("convert", PERF_WITH_TIMES, "-o", tmp_path / "x.json", "--to", bad)
        assert r.returncode == 2 and "neither an output format" in r.stderr
    assert_one_line_error(run("convert", PERF_WITH_TIMES, "-o", tmp_path / "y.json", "--to", "1", "--until", "2"),
                          "once")


def test_convert_with_until_writes_the_slice(tmp_path: Path) -> None:
    """`convert --until` writes only the early samples."""
    out = tmp_path / "early.folded"
    r = run("convert", PERF_WITH_TIMES, "-o", out, "--until", "0.02")
    assert r.returncode == 0, r.stderr
    weights = sum(int(line.rsplit(" ", 1)[1]) for line in out.read_text().splitlines())
    assert 0 < weights <= 21
