"""The `bpfscope` command: open the TUI, or run a headless subcommand.

    bpfscope [FILE]                      open FILE (or the process picker) in the TUI
    bpfscope convert INPUT -o OUTPUT     convert between profile formats
    bpfscope top INPUT                   the hottest functions, as a table, JSON or markdown
    bpfscope diff BASE NEW               what changed between two profiles: the TUI on NEW coloured by
                                         the change (on a terminal), else a table or --json per function
    bpfscope record (-p PID | -a | -- CMD ...) -o OUTPUT   sample live, headless

This package holds bpfscope's own parser and `main`; each subcommand is a module with its
parser and a `main(args)` (`open_tui` takes the arguments that are not a subcommand), and
`common` what they share. Bad input is an expected outcome: one line on stderr naming the file
and what is wrong, exit status 2, and never a partial output file. Textual is only imported to
open the TUI, so the headless commands start quickly and run on servers without a screen.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from collectors import __version__
from collectors.formats import registry
from collectors.formats.detect import LoadError
from collectors.formats.errors import ProfileError
from collectors.live.choose import collector_names
from tui.cli import convert, diff, open_tui, record, top
from tui.cli.common import AS_ROOT_HELP, EXIT_OK, EXIT_USAGE, OFF_CPU_HELP, UsageError

__all__ = ["SUBCOMMANDS", "main", "parser"]

SUBCOMMANDS: dict[str, Callable[[list[str]], int]] = {
    "convert": convert.main,
    "top": top.main,
    "diff": diff.main,
    "record": record.main,
}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bpfscope",
        description="A terminal profiler: speedscope's Time Order, Left Heavy and Sandwich views "
        "in the terminal, for profile files and live eBPF sampling.\n\n"
        "  bpfscope                          choose a process to sample (the process picker)\n"
        "  bpfscope -p PID [-F HZ]           sample a process at once\n"
        "  bpfscope [-F HZ] -- CMD ARGS...   launch a command and sample it (under sudo: as the sudo user)\n"
        "  bpfscope FILE                     open a profile file",
        epilog="subcommands:\n"
        f"  convert INPUT -o OUTPUT [--to {'|'.join(registry.writer_names())}]   convert a profile\n"
        "  top INPUT [-n N] [--by self|total] [--format table|json|markdown]   hottest functions\n"
        "  diff BASE NEW [-n N] [--json | --table]                 the change, in % of each total (TUI on a terminal)\n"
        "  (top, convert and diff take --focus, --hide, --collapse, --mine, --from and --until/--to)\n"
        f"  record (-p PID | -a | -- CMD ARGS...) [-F HZ] [-d SECONDS] [--collector {'|'.join(collector_names())}]\n"
        "         [--off-cpu] [--as-root] -o OUTPUT                sample live, write a profile\n"
        "run 'bpfscope SUBCOMMAND --help' for each one's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bpfscope {__version__}")
    parser.add_argument("file", nargs="?", help="a profile to open (folded, perf script, speedscope, "
                        "Chrome/Node, trace events, pprof; gzip is fine)")
    from collectors.live.base import DEFAULT_FREQUENCY, MAX_FREQUENCY

    parser.add_argument("-p", "--pid", type=int, help="sample this process at once")
    parser.add_argument("-F", "--frequency", type=int, default=DEFAULT_FREQUENCY, metavar="HZ",
                        help=f"samples per second per CPU (default {DEFAULT_FREQUENCY}, at most {MAX_FREQUENCY})")
    parser.add_argument("--collector", choices=collector_names(),
                        help="bcc (eBPF, needs root) or perf; default: bcc when it can run, else perf")
    parser.add_argument("--off-cpu", action="store_true", help=OFF_CPU_HELP)
    parser.add_argument("--as-root", action="store_true", help=AS_ROOT_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            return SUBCOMMANDS[args[0]](args[1:])
        return open_tui.main(parser(), args)
    except (UsageError, LoadError, ProfileError) as e:
        print(f"bpfscope: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `bpfscope top x | head`: the reader left; that's not an error worth a traceback.
        sys.stderr.close()
        return EXIT_OK

