"""`bpfscope convert INPUT -o OUTPUT`: read any profile, write it in a registered format (by
OUTPUT's suffix, or `--to`), after the filters."""

from __future__ import annotations

import argparse
import math

from collectors.formats import registry
from tui.cli.common import EXIT_OK, UsageError, add_filter_options, filters_from, load_filtered


def main(args: list[str]) -> int:
    return run(parser().parse_args(args))


def parser() -> argparse.ArgumentParser:
    labels = registry.one_of([w.label for w in registry.WRITERS])
    p = argparse.ArgumentParser(
        prog="bpfscope convert",
        description=f"Read any profile bpfscope reads and write it as {labels}. "
        "The format follows OUTPUT's suffix (.speedscope.json/.json, .folded/.txt, .pb.gz) unless --to says.",
    )
    p.add_argument("input", help="the profile to read")
    p.add_argument("-o", "--output", required=True, help="where to write ('-' for stdout)")
    p.add_argument("--to", type=format_or_seconds, metavar="FORMAT|S",
                   help=f"output format ({registry.one_of(registry.writer_names())}), or a number: only samples "
                        "before S seconds after the first one, as --until (a format name is never a number)")
    add_filter_options(p, to_is_time=False)
    return p


def format_or_seconds(text: str) -> str | float:
    """convert's `--to`: an output format, or seconds (the time filter top and diff call `--to`)."""
    names = registry.writer_names()
    if text in names:
        return text
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an output format ({', '.join(names)}) nor a number of seconds")
    return seconds


def run(ns: argparse.Namespace) -> int:
    from collectors.formats.output import format_for_path, save_profile

    if isinstance(ns.to, float):  # `--to S`: the end of the time slice
        if ns.end_s is not None:
            raise UsageError("give the end of the time slice once: --to S or --until S")
        ns.end_s, ns.to = ns.to, None
    fmt = format_for_path(ns.output, ns.to)  # before reading: a bad name fails fast
    filters = filters_from(ns)
    group = load_filtered(ns.input, filters)
    if filters and not any(p.sample_count for p in group.profiles):
        raise UsageError(f"{ns.input}: no samples are left after the filters; nothing to write")
    try:
        save_profile(group, ns.output, fmt)
    except OSError as e:
        raise UsageError(f"{ns.output}: cannot write it ({e.strerror or e})") from None
    return EXIT_OK

