"""`bpfscope record (-p PID | -a | -- CMD ARGS...) -o OUTPUT`: sample live, headless, and write
one profile per thread in the format OUTPUT's suffix names."""

from __future__ import annotations

import argparse
import sys

from collectors.formats import registry
from collectors.live.choose import collector_names
from tui.cli.common import AS_ROOT_HELP, EXIT_OK, OFF_CPU_HELP, UsageError, run_as, split_command


def parser() -> argparse.ArgumentParser:
    from collectors.live.base import DEFAULT_FREQUENCY, MAX_FREQUENCY

    p = argparse.ArgumentParser(
        prog="bpfscope record",
        usage="bpfscope record (-p PID | -a | -- CMD ARGS...) [-F HZ] [-d SECONDS] "
        f"[--collector {'|'.join(collector_names())}] "
        "[--off-cpu] [--as-root] -o OUTPUT",
        description="Sample a process, every process, or a command launched for the purpose, and write "
        f"one profile per thread ({registry.one_of(registry.writer_names())}, by OUTPUT's suffix). Sampling "
        "ends at the duration, when the process exits, or on Ctrl-C/SIGTERM; what was collected is written in "
        "every case.",
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


def main(args: list[str]) -> int:
    import os

    from collectors.formats.output import format_for_path, save_profile
    from collectors.live.base import CollectorError, CommandIO, Target, cut_short_hint
    from collectors.live.record import record

    args, command = split_command(args)
    record_parser = parser()
    ns = record_parser.parse_args(args)
    if sum((ns.pid is not None, ns.all, bool(command))) != 1:
        record_parser.error("give exactly one of -p PID, -a or -- CMD ARGS...")
    if ns.duration is not None and not ns.duration > 0:
        raise UsageError("-d must be a number of seconds above 0")
    format_for_path(ns.output)  # before sampling: a bad name fails fast
    directory = os.path.dirname(os.path.abspath(ns.output))
    if ns.output != "-" and not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"{ns.output}: cannot write in {directory}")
    try:
        target = Target.for_command(command, run_as(ns.as_root)) if command else \
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
    hint = cut_short_hint(done.cut_share)
    if hint:
        print(f"bpfscope: hint: {hint}", file=sys.stderr)
    if done.collector.failure is not None:
        print(f"bpfscope: sampling failed: {done.collector.failure!r}", file=sys.stderr)
        return 1
    return EXIT_OK

