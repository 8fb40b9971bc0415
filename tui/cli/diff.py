"""`bpfscope diff BASE NEW`: what changed between two profiles, function by function: the TUI on
NEW coloured by the change (on a terminal), else a table or `--json`."""

from __future__ import annotations

import argparse
import sys

from collectors.safe_text import json_text
from tui.cli.common import EXIT_OK, WIDE_HELP, UsageError, add_filter_options, filters_from, load_filtered, write_table


def main(args: list[str]) -> int:
    return run(parser().parse_args(args))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bpfscope diff",
        description="Compare two profiles function by function: self and total in percent of each file's "
        "total (all threads), with the change, largest change of total first.",
    )
    p.add_argument("base", help="the profile before")
    p.add_argument("new", help="the profile after")
    p.add_argument("-n", type=int, default=20, metavar="N", help="how many functions (default 20; 0 for all)")
    p.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    p.add_argument("--table", action="store_true",
                   help="print the table even on a terminal (there, without --json or --table, the TUI opens "
                   "on NEW coloured by the change from BASE)")
    p.add_argument("--wide", action="store_true", help=WIDE_HELP)
    add_filter_options(p)
    return p


def run(ns: argparse.Namespace) -> int:
    from collectors.diff import diff_shares, function_shares, match_functions

    if ns.n < 0:
        raise UsageError("-n must be 0 or more")
    filters = filters_from(ns)
    base = load_filtered(ns.base, filters)
    new = load_filtered(ns.new, filters)
    if not (ns.json or ns.table) and sys.stdout.isatty():
        from tui.app import run_app

        run_app(new, baseline=base)
        return EXIT_OK
    b_shares, n_shares = function_shares(base), function_shares(new)
    match = match_functions(b_shares.total_pct, n_shares.total_pct)
    from collectors.safe_text import printable

    print(f"bpfscope: {match.describe(printable(ns.base), printable(ns.new))}", file=sys.stderr)
    if match.few:
        print(f"bpfscope: warning: only {match.matched} of {min(match.base_count, match.new_count)} functions "
              "match: are these profiles of the same program?", file=sys.stderr)
    rows = diff_shares(b_shares, n_shares, ns.n or None, match)
    if ns.json:
        sys.stdout.write(json_text([r.as_json() for r in rows]))
        sys.stdout.write("\n")
        return EXIT_OK
    from tui.tables import TableRow

    write_table(f"{ns.base} -> {ns.new}: change in % of each total",
                 ("base", "new", "change", "base", "new", "change", "function", "file"),
                 [TableRow((f"{r.total_pct_base:.2f}", f"{r.total_pct_new:.2f}", f"{r.total_pct_delta:+.2f}",
                            f"{r.self_pct_base:.2f}", f"{r.self_pct_new:.2f}", f"{r.self_pct_delta:+.2f}"),
                           r.name, r.file or "") for r in rows],
                 ns.wide, super_headers=(("total %", 3), ("self %", 3)))
    return EXIT_OK

