"""The `bpfscope` command: open the TUI, or run a headless subcommand.

    bpfscope [FILE]                      open FILE (or the process picker) in the TUI
    bpfscope convert INPUT -o OUTPUT     convert between profile formats
    bpfscope top INPUT                   the hottest functions, as a table, JSON or markdown
    bpfscope diff BASE NEW               what changed between two profiles: the TUI on NEW coloured by
                                         the change (on a terminal), else a table or --json per function
    bpfscope record (-p PID | -a | -- CMD ...) -o OUTPUT   sample live, headless

Bad input is an expected outcome: one line on stderr naming the file and what is wrong,
exit status 2, and never a partial output file. Textual is only imported to open the TUI,
so the headless commands start quickly and run on servers without a screen.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from collectors import __version__
from collectors.formats import registry
from collectors.formats.detect import LoadError, load_profile
from collectors.formats.errors import ProfileError
from collectors.live.choose import collector_names
from collectors.profile import ProfileGroup, Unit
from collectors.safe_text import json_text
from collectors.summary import FunctionRow

if TYPE_CHECKING:
    from tui.tables import TableRow
from collectors.transforms import Filters

if TYPE_CHECKING:
    from collectors.live.command import RunAs

EXIT_OK = 0
EXIT_USAGE = 2
SUBCOMMANDS = ("convert", "top", "diff", "record")
OFF_CPU_HELP = ("also record where the process waits (blocked, sleeping, on locks or I/O), from the scheduler's "
                "switches: every profile in seconds, an on-CPU and an off-CPU one per thread (bcc only)")

WIDE_HELP = ("the table's names and files whole, however wide (default: fit the terminal, or COLUMNS, or 80 "
             "columns when piped)")


class UsageError(Exception):
    """A problem the user can fix: printed as one line, exit status 2."""


AS_ROOT_HELP = ("under sudo, run `-- CMD` as root; by default it runs as the user who ran sudo (SUDO_UID, "
                "SUDO_GID, their groups, HOME, USER, LOGNAME), as it would without sudo")


def _run_as(as_root: bool) -> RunAs | None:
    """Whom `-- CMD` runs as: the sudo user unless --as-root (None: bpfscope's own user)."""
    from collectors.live.command import RunAs

    return None if as_root else RunAs.sudo_user()


def command_log(run_as: RunAs | None) -> tuple[str, int]:
    """A new log file for a launched command's output in a fresh private directory, owned by
    (so readable by) the user the command runs as: (its path, a write fd)."""
    import os
    import tempfile

    directory = tempfile.mkdtemp(prefix="bpfscope-")
    path = os.path.join(directory, "command.log")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    if run_as is not None:
        os.fchown(fd, run_as.uid, run_as.gid)
        os.chown(directory, run_as.uid, run_as.gid)
    return path, fd


def _parser_main() -> argparse.ArgumentParser:
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


def _parser_convert() -> argparse.ArgumentParser:
    labels = registry.one_of([w.label for w in registry.WRITERS])
    p = argparse.ArgumentParser(
        prog="bpfscope convert",
        description=f"Read any profile bpfscope reads and write it as {labels}. "
        "The format follows OUTPUT's suffix (.speedscope.json/.json, .folded/.txt, .pb.gz) unless --to says.",
    )
    p.add_argument("input", help="the profile to read")
    p.add_argument("-o", "--output", required=True, help="where to write ('-' for stdout)")
    p.add_argument("--to", type=_format_or_seconds, metavar="FORMAT|S",
                   help=f"output format ({registry.one_of(registry.writer_names())}), or a number: only samples "
                        "before S seconds after the first one, as --until (a format name is never a number)")
    _add_filter_options(p, to_is_time=False)
    return p


def _format_or_seconds(text: str) -> str | float:
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


def _add_filter_options(p: argparse.ArgumentParser, to_is_time: bool = True) -> None:
    """--focus/--hide/--collapse/--from/--until: applied to every profile (thread) of a file."""
    g = p.add_argument_group("filters (PAT: a case-insensitive part of a function's name or file, "
                             "or re:REGEX)")
    g.add_argument("--focus", metavar="PAT", help="only stacks through a matching function, re-rooted there")
    g.add_argument("--hide", metavar="PAT", action="append", default=[],
                   help="drop matching frames; their time goes to the caller (repeatable)")
    g.add_argument("--collapse", metavar="PAT", action="append", default=[],
                   help="merge consecutive matching frames into one frame named PAT (repeatable)")
    g.add_argument("--mine", metavar="PAT", action="append", default=[],
                   help="keep only matching frames (your code, by name or file); the others' time goes to "
                        "the nearest kept caller (repeatable)")
    g.add_argument("--from", dest="start_s", type=float, metavar="S",
                   help="only samples from S seconds after the first one (needs sample times)")
    until = ("--until", "--to") if to_is_time else ("--until",)
    g.add_argument(*until, dest="end_s", type=float, metavar="S",
                   help="only samples before S seconds after the first one (needs sample times)")


def _filters(ns: argparse.Namespace) -> Filters:
    """The filters asked for, checked before any file is read (a bad pattern fails fast)."""
    from collectors.transforms import frame_matcher

    for pattern in (*([ns.focus] if ns.focus is not None else []), *ns.hide, *ns.collapse, *ns.mine):
        frame_matcher(pattern)
    if ns.start_s is not None and ns.end_s is not None and not ns.start_s < ns.end_s:
        raise UsageError(f"--from {ns.start_s:g} must be before --until {ns.end_s:g}")
    return Filters(focus=ns.focus, hide=tuple(ns.hide), collapse=tuple(ns.collapse),
                   start_s=ns.start_s, end_s=ns.end_s, mine=tuple(ns.mine))


def _load_filtered(path: str, filters: Filters) -> ProfileGroup:
    from collectors.transforms import apply_filters

    group = _load(path)
    if not filters:
        return group
    try:
        return apply_filters(group, filters)
    except ProfileError as e:
        raise UsageError(f"{path}: {e}") from None


def _parser_top() -> argparse.ArgumentParser:
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
    _add_filter_options(p)
    return p


def _parser_diff() -> argparse.ArgumentParser:
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
    _add_filter_options(p)
    return p


def _parser_record() -> argparse.ArgumentParser:
    from collectors.live.base import DEFAULT_FREQUENCY, MAX_FREQUENCY

    p = argparse.ArgumentParser(
        prog="bpfscope record",
        usage="bpfscope record (-p PID | -a | -- CMD ARGS...) [-F HZ] [-d SECONDS] "
        f"[--collector {'|'.join(collector_names())}] "
        "[--off-cpu] [--as-root] -o OUTPUT",
        description="Sample a process, every process, or a command launched for the purpose, and write "
        "one profile per thread (speedscope or folded, by OUTPUT's suffix). Sampling ends at the duration, "
        "when the process exits, or on Ctrl-C/SIGTERM; what was collected is written in every case.",
    )
    who = p.add_mutually_exclusive_group()
    who.add_argument("-p", "--pid", type=int, help="the process to sample")
    who.add_argument("-a", "--all", action="store_true", help="sample every process")
    p.add_argument("-F", "--frequency", type=int, default=DEFAULT_FREQUENCY, metavar="HZ",
                   help=f"samples per second per CPU (default {DEFAULT_FREQUENCY}, at most {MAX_FREQUENCY})")
    p.add_argument("-d", "--duration", type=float, metavar="SECONDS", help="stop after this long")
    p.add_argument("--collector", choices=collector_names(),
                   help="bcc (eBPF, needs root) or perf; default: bcc when it can run, else perf")
    p.add_argument("--off-cpu", action="store_true", help=OFF_CPU_HELP)
    p.add_argument("--as-root", action="store_true", help=AS_ROOT_HELP)
    p.add_argument("-o", "--output", required=True,
                   help=f"where to write ({', '.join(w.suffixes[0] for w in registry.WRITERS)})")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            command, rest = args[0], args[1:]
            if command == "convert":
                return _convert(_parser_convert().parse_args(rest))
            if command == "record":
                return _record(rest)
            if command == "diff":
                return _diff(_parser_diff().parse_args(rest))
            return _top(_parser_top().parse_args(rest))
        return _open_tui(args)
    except (UsageError, LoadError, ProfileError) as e:
        print(f"bpfscope: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `bpfscope top x | head`: the reader left; that's not an error worth a traceback.
        sys.stderr.close()
        return EXIT_OK


@contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A Rich progress bar on stderr while reading, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _load(path: str) -> ProfileGroup:
    from rich.markup import escape

    with _progress_bar(f"reading {escape(path)}") as progress:
        return load_profile(path, progress)


def _convert(ns: argparse.Namespace) -> int:
    from collectors.formats.output import format_for_path, save_profile

    if isinstance(ns.to, float):  # `--to S`: the end of the time slice
        if ns.end_s is not None:
            raise UsageError("give the end of the time slice once: --to S or --until S")
        ns.end_s, ns.to = ns.to, None
    fmt = format_for_path(ns.output, ns.to)  # before reading: a bad name fails fast
    filters = _filters(ns)
    group = _load_filtered(ns.input, filters)
    if filters and not any(p.sample_count for p in group.profiles):
        raise UsageError(f"{ns.input}: no samples are left after the filters; nothing to write")
    try:
        save_profile(group, ns.output, fmt)
    except OSError as e:
        raise UsageError(f"{ns.output}: cannot write it ({e.strerror or e})") from None
    return EXIT_OK


def _top(ns: argparse.Namespace) -> int:
    from collectors.summary import group_unit, top_functions

    if ns.n < 0:
        raise UsageError("-n must be 0 or more")
    group = _load_filtered(ns.input, _filters(ns))
    rows = top_functions(group, ns.by, ns.n or None)
    if ns.format == "json":
        sys.stdout.write(json_text([r.as_json() for r in rows]))
        sys.stdout.write("\n")
        return EXIT_OK
    if ns.format == "markdown":
        sys.stdout.write(_top_markdown(rows, group_unit(group)))
        return EXIT_OK
    _print_top_table(group, rows, group_unit(group), ns.by, ns.wide)
    return EXIT_OK


def _markdown_cell(text: str) -> str:
    """`text` safe inside a GitHub table cell: control characters shown, markup characters escaped."""
    from collectors.safe_text import printable

    text = printable(text).replace("\\", "\\\\")
    for c in "|`*_[]<>":
        text = text.replace(c, "\\" + c)
    return text


def _top_markdown(rows: list[FunctionRow], unit: Unit) -> str:
    from collectors.units import format_value

    lines = ["| function | self | self % | total | total % |", "| --- | ---: | ---: | ---: | ---: |"]
    lines.extend(f"| {_markdown_cell(r.name)} | {format_value(r.self, unit)} | {r.self_pct:.2f} "
                 f"| {format_value(r.total, unit)} | {r.total_pct:.2f} |" for r in rows)
    return "\n".join(lines) + "\n"


def _diff(ns: argparse.Namespace) -> int:
    from collectors.diff import diff_shares, function_shares, match_functions

    if ns.n < 0:
        raise UsageError("-n must be 0 or more")
    filters = _filters(ns)
    base = _load_filtered(ns.base, filters)
    new = _load_filtered(ns.new, filters)
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

    _write_table(f"{ns.base} -> {ns.new}: change in % of each total",
                 ("base", "new", "change", "base", "new", "change", "function", "file"),
                 [TableRow((f"{r.total_pct_base:.2f}", f"{r.total_pct_new:.2f}", f"{r.total_pct_delta:+.2f}",
                            f"{r.self_pct_base:.2f}", f"{r.self_pct_new:.2f}", f"{r.self_pct_delta:+.2f}"),
                           r.name, r.file or "") for r in rows],
                 ns.wide, super_headers=(("total %", 3), ("self %", 3)))
    return EXIT_OK


def _split_command(args: list[str]) -> tuple[list[str], list[str]]:
    """bpfscope's own arguments, and the command after `--` (empty when there is none)."""
    if "--" not in args:
        return args, []
    cut = args.index("--")
    return args[:cut], args[cut + 1 :]


def _record(args: list[str]) -> int:
    import os

    from collectors.formats.output import format_for_path, save_profile
    from collectors.live.base import CollectorError, CommandIO, Target
    from collectors.live.record import record

    args, command = _split_command(args)
    parser = _parser_record()
    ns = parser.parse_args(args)
    if sum((ns.pid is not None, ns.all, bool(command))) != 1:
        parser.error("give exactly one of -p PID, -a or -- CMD ARGS...")
    if ns.duration is not None and not ns.duration > 0:
        raise UsageError("-d must be a number of seconds above 0")
    format_for_path(ns.output)  # before sampling: a bad name fails fast
    directory = os.path.dirname(os.path.abspath(ns.output))
    if ns.output != "-" and not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"{ns.output}: cannot write in {directory}")
    try:
        target = Target.for_command(command, _run_as(ns.as_root)) if command else \
            Target.all_processes() if ns.all else Target.for_pid(ns.pid)
        # With the profile on stdout, a launched command's output goes to stderr instead.
        done = record(target, ns.frequency, ns.duration, ns.collector, sys.stderr, sys.stderr.isatty(),
                      CommandIO(stdout=2) if ns.output == "-" else None, off_cpu=ns.off_cpu)
    except (CollectorError, ValueError) as e:
        raise UsageError(str(e)) from None
    group, stats = done.group, done.collector.stats
    try:
        save_profile(group, ns.output)
    except OSError as e:
        raise UsageError(f"{ns.output}: cannot write it ({e.strerror or e})") from None
    threads = len({p.tid if p.tid is not None else id(p) for p in group.profiles if p.sample_count})
    print(f"bpfscope: wrote {stats.samples} samples of {threads} thread{'' if threads == 1 else 's'} to {ns.output} "
          f"({stats.lost} lost, {stats.stack_errors} stack errors, {stats.unknown_share:.1%} [unknown] frames"
          + (f", {stats.whole_text()}: reach the thread's entry point)" if stats.user_stacks else ")"),
          file=sys.stderr)
    hint = stats.hint()
    if hint:
        print(f"bpfscope: hint: {hint}", file=sys.stderr)
    if done.collector.failure is not None:
        print(f"bpfscope: sampling failed: {done.collector.failure!r}", file=sys.stderr)
        return 1
    return EXIT_OK


def _table_width(wide: bool) -> int | None:
    """The width a table must fit: none with `--wide`, else the terminal's (COLUMNS when set;
    80 when piped), as `ps` and `perf report` do."""
    import shutil

    return None if wide else max(40, shutil.get_terminal_size((80, 24)).columns)


def _write_table(title: str, headers: Sequence[str], rows: Sequence[TableRow], wide: bool,
                 super_headers: Sequence[tuple[str, int]] = ()) -> None:
    from tui.tables import render_table

    ascii_only = not sys.stdout.isatty()
    text = render_table(title, headers, rows, _table_width(wide), ascii_only, super_headers)
    sys.stdout.write(text.replace("µ", "u") if ascii_only else text)


def _print_top_table(group: ProfileGroup, rows: list[FunctionRow], unit: Unit, by: str, wide: bool) -> None:
    from collectors.units import format_value
    from tui.tables import TableRow

    _write_table(f"{group.name}: hottest functions by {by}", ("self", "self%", "total", "total%", "function", "file"),
                 [TableRow((format_value(r.self, unit), f"{r.self_pct:.2f}", format_value(r.total, unit),
                            f"{r.total_pct:.2f}"), r.name, r.location()) for r in rows], wide)


def _open_tui(args: list[str]) -> int:
    args, command = _split_command(args)
    parser = _parser_main()
    ns = parser.parse_args(args)
    if ns.file is not None:
        if ns.pid is not None or command:
            parser.error("give a FILE, -p PID or -- CMD ARGS..., not several")
        group = _load(ns.file)
        from tui.app import run_app

        run_app(group)
        return EXIT_OK
    return _open_live(parser, ns, command)


def _check_target(pid: int | None, command: list[str]) -> None:
    """A process that does not exist or a command not found is the user's mistake: one line and
    exit status 2 before the screen is taken, as `bpfscope record` does."""
    import shutil

    from collectors.live.base import CollectorError, check_pid

    if pid is not None:
        try:
            check_pid(pid)
        except CollectorError as e:
            raise UsageError(str(e)) from None
    if command and shutil.which(command[0]) is None:
        raise UsageError(f"command not found: {command[0]}")


def _report_log(log_path: str) -> None:
    """Where the launched command's output went; an empty log (nothing written, or the
    command never ran) is removed rather than named."""
    import os

    try:
        empty = os.path.getsize(log_path) == 0
    except OSError:
        return
    if empty:
        with contextlib.suppress(OSError):
            os.unlink(log_path)
            os.rmdir(os.path.dirname(log_path))
        return
    print(f"bpfscope: the command's output is in {log_path}", file=sys.stderr)


def _open_live(parser: argparse.ArgumentParser, ns: argparse.Namespace, command: list[str]) -> int:
    """The live TUI: `-p PID`, `-- CMD` (its output to a log file, off the screen) or the picker."""
    import functools
    import os

    from collectors.live.base import MAX_FREQUENCY, CommandIO, Target
    from collectors.live.choose import start_collector
    from tui.live import LiveOptions

    if ns.pid is not None and command:
        parser.error("give -p PID or -- CMD ARGS..., not both")
    if not 1 <= ns.frequency <= MAX_FREQUENCY:
        raise UsageError(f"-F must be 1 to {MAX_FREQUENCY} Hz, not {ns.frequency}")
    try:
        target = Target.for_command(command, _run_as(ns.as_root)) if command else \
            Target.for_pid(ns.pid) if ns.pid is not None else None
    except ValueError as e:
        raise UsageError(str(e)) from None
    _check_target(ns.pid, command)
    log_path: str | None = None
    fds: list[int] = []
    io: CommandIO | None = None
    if command:
        # The command's output would garble the screen and its input would steal keys.
        log_path, log_fd = command_log(target.run_as if target is not None else None)
        fds = [os.open(os.devnull, os.O_RDONLY), log_fd]
        io = CommandIO(stdin=fds[0], stdout=fds[1], stderr=fds[1])
    starter = functools.partial(start_collector, frequency=ns.frequency, which=ns.collector, io=io,
                                off_cpu=ns.off_cpu)
    from tui.app import run_live

    try:
        code = run_live(LiveOptions(starter, target, log_path, off_cpu=ns.off_cpu))
    finally:
        for fd in fds:
            os.close(fd)
    if log_path is not None:
        _report_log(log_path)
    return EXIT_OK if code in (0, 128 + 15, 128 + 1, 128 + 2) else code


if __name__ == "__main__":
    sys.exit(main())
