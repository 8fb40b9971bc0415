"""`bpfscope [FILE]`, `bpfscope -p PID`, `bpfscope -- CMD ARGS...`: open the TUI on a file, on a
live capture, or on the process picker."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING

from tui.cli.common import EXIT_OK, UsageError, load, run_as, split_command

if TYPE_CHECKING:
    from collectors.live.command import RunAs


def main(parser: argparse.ArgumentParser, args: list[str]) -> int:
    """`parser`: bpfscope's own (the package's), whose arguments these are."""
    args, command = split_command(args)
    ns = parser.parse_args(args)
    if ns.file is not None:
        if ns.pid is not None or command:
            parser.error("give a FILE, -p PID or -- CMD ARGS..., not several")
        group = load(ns.file)
        from tui.app import run_app

        run_app(group)
        return EXIT_OK
    return open_live(parser, ns, command)


def check_target(pid: int | None, command: list[str]) -> None:
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


def report_log(log_path: str) -> None:
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


def open_live(parser: argparse.ArgumentParser, ns: argparse.Namespace, command: list[str]) -> int:
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
        target = Target.for_command(command, run_as(ns.as_root)) if command else \
            Target.for_pid(ns.pid) if ns.pid is not None else None
    except ValueError as e:
        raise UsageError(str(e)) from None
    check_target(ns.pid, command)
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
        report_log(log_path)
    return EXIT_OK if code in (0, 128 + 15, 128 + 1, 128 + 2) else code

def command_log(user: RunAs | None) -> tuple[str, int]:
    """A new log file for a launched command's output in a fresh private directory, owned by
    (so readable by) the user the command runs as: (its path, a write fd)."""
    import os
    import tempfile

    directory = tempfile.mkdtemp(prefix="bpfscope-")
    path = os.path.join(directory, "command.log")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    if user is not None:
        os.fchown(fd, user.uid, user.gid)
        os.chown(directory, user.uid, user.gid)
    return path, fd

