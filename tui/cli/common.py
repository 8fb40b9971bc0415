"""What the subcommands share: exit codes, the user's-mistake error, help texts, the filter
options, reading a profile with a progress bar, and writing a table."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from collectors.formats.detect import load_profile
from collectors.formats.errors import ProfileError
from collectors.profile import ProfileGroup
from collectors.transforms import Filters

if TYPE_CHECKING:
    from collectors.live.command import RunAs
    from tui.tables import TableRow

EXIT_OK = 0
EXIT_USAGE = 2
OFF_CPU_HELP = ("also record where the process waits (blocked, sleeping, on locks or I/O), from the scheduler's "
                "switches: every profile in seconds, an on-CPU and an off-CPU one per thread (bcc only)")

WIDE_HELP = ("the table's names and files whole, however wide (default: fit the terminal, or COLUMNS, or 80 "
             "columns when piped)")

AS_ROOT_HELP = ("under sudo, run `-- CMD` as root; by default it runs as the user who ran sudo (SUDO_UID, "
                "SUDO_GID, their groups, HOME, USER, LOGNAME), as it would without sudo")


class UsageError(Exception):
    """A problem the user can fix: printed as one line, exit status 2."""


def run_as(as_root: bool) -> RunAs | None:
    """Whom `-- CMD` runs as: the sudo user unless --as-root (None: bpfscope's own user)."""
    from collectors.live.command import RunAs

    return None if as_root else RunAs.sudo_user()


def split_command(args: list[str]) -> tuple[list[str], list[str]]:
    """bpfscope's own arguments, and the command after `--` (empty when there is none)."""
    if "--" not in args:
        return args, []
    cut = args.index("--")
    return args[:cut], args[cut + 1 :]


def add_filter_options(p: argparse.ArgumentParser, to_is_time: bool = True) -> None:
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


def filters_from(ns: argparse.Namespace) -> Filters:
    """The filters asked for, checked before any file is read (a bad pattern fails fast)."""
    from collectors.transforms import frame_matcher

    for pattern in (*([ns.focus] if ns.focus is not None else []), *ns.hide, *ns.collapse, *ns.mine):
        frame_matcher(pattern)
    if ns.start_s is not None and ns.end_s is not None and not ns.start_s < ns.end_s:
        raise UsageError(f"--from {ns.start_s:g} must be before --until {ns.end_s:g}")
    return Filters(focus=ns.focus, hide=tuple(ns.hide), collapse=tuple(ns.collapse),
                   start_s=ns.start_s, end_s=ns.end_s, mine=tuple(ns.mine))


def load_filtered(path: str, filters: Filters) -> ProfileGroup:
    from collectors.transforms import apply_filters

    group = load(path)
    if not filters:
        return group
    try:
        return apply_filters(group, filters)
    except ProfileError as e:
        raise UsageError(f"{path}: {e}") from None


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
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


def load(path: str) -> ProfileGroup:
    from rich.markup import escape

    with progress_bar(f"reading {escape(path)}") as progress:
        return load_profile(path, progress)


def table_width(wide: bool) -> int | None:
    """The width a table must fit: none with `--wide`, else the terminal's (COLUMNS when set;
    80 when piped), as `ps` and `perf report` do."""
    import shutil

    return None if wide else max(40, shutil.get_terminal_size((80, 24)).columns)


def write_table(title: str, headers: Sequence[str], rows: Sequence[TableRow], wide: bool,
                super_headers: Sequence[tuple[str, int]] = ()) -> None:
    from tui.tables import render_table

    ascii_only = not sys.stdout.isatty()
    text = render_table(title, headers, rows, table_width(wide), ascii_only, super_headers)
    sys.stdout.write(text.replace("µ", "u") if ascii_only else text)

