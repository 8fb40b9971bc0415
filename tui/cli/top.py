"""`bpfscope top INPUT`: the hottest functions across all profiles (threads) of a file, as a
table, JSON or a GitHub markdown table."""

from __future__ import annotations

import argparse
import sys

from collectors.profile import ProfileGroup, Unit
from collectors.safe_text import json_text
from collectors.summary import FunctionRow
from tui.cli.common import EXIT_OK, WIDE_HELP, UsageError, add_filter_options, filters_from, load_filtered, write_table


def main(args: list[str]) -> int:
    return run(parser().parse_args(args))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bpfscope top",
        description="The hottest functions across all profiles (threads) of a file.",
    )
    p.add_argument("input", help="the profile to read")
    p.add_argument("-n", type=int, default=20, metavar="N", help="how many functions (default 20; 0 for all)")
    p.add_argument("--by", choices=("self", "total"), default="self", help="sort by self or total (default self)")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table",
                   help="a table (default), a JSON array, or a GitHub markdown table")
    p.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")
    p.add_argument("--wide", action="store_true", help=WIDE_HELP)
    add_filter_options(p)
    return p


def run(ns: argparse.Namespace) -> int:
    from collectors.summary import group_unit, top_functions

    if ns.n < 0:
        raise UsageError("-n must be 0 or more")
    group = load_filtered(ns.input, filters_from(ns))
    rows = top_functions(group, ns.by, ns.n or None)
    if ns.format == "json":
        sys.stdout.write(json_text([r.as_json() for r in rows]))
        sys.stdout.write("\n")
        return EXIT_OK
    if ns.format == "markdown":
        sys.stdout.write(top_markdown(rows, group_unit(group)))
        return EXIT_OK
    print_top_table(group, rows, group_unit(group), ns.by, ns.wide)
    return EXIT_OK


def markdown_cell(text: str) -> str:
    """`text` safe inside a GitHub table cell: control characters shown, markup characters escaped."""
    from collectors.safe_text import printable

    text = printable(text).replace("\\", "\\\\")
    for c in "|`*_[]<>":
        text = text.replace(c, "\\" + c)
    return text


def top_markdown(rows: list[FunctionRow], unit: Unit) -> str:
    from collectors.units import format_value

    lines = ["| function | self | self % | total | total % |", "| --- | ---: | ---: | ---: | ---: |"]
    lines.extend(f"| {markdown_cell(r.name)} | {format_value(r.self, unit)} | {r.self_pct:.2f} "
                 f"| {format_value(r.total, unit)} | {r.total_pct:.2f} |" for r in rows)
    return "\n".join(lines) + "\n"


def print_top_table(group: ProfileGroup, rows: list[FunctionRow], unit: Unit, by: str, wide: bool) -> None:
    from collectors.units import format_value
    from tui.tables import TableRow

    write_table(f"{group.name}: hottest functions by {by}", ("self", "self%", "total", "total%", "function", "file"),
                 [TableRow((format_value(r.self, unit), f"{r.self_pct:.2f}", format_value(r.total, unit),
                            f"{r.total_pct:.2f}"), r.name, r.location()) for r in rows], wide)

