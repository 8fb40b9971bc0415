"""The fallback collector: `perf record | perf script`, streamed and parsed as it comes.

    perf record -F HZ (--call-graph dwarf,16384 | -g) -e cpu-clock -k CLOCK_MONOTONIC
                --sample-cpu -m PAGES -D -1 --control fd:CTL,ACK (-p PID | -a) -o -
      | stdbuf -oL perf script -F comm,pid,tid,cpu,time,ip,sym,dso --show-lost-events --no-inline -i -

With a target process, perf copies 16 KB of its user stack per sample and `perf script`
unwinds it with the call-frame information (`--call-graph dwarf`): whole stacks without
frame pointers, as the bcc collector's CFI unwinding gives (`call_graph`); with `-a` it
follows frame pointers.

perf starts with its events disabled and is told to enable them over its control pipe; its
acknowledgement means sampling is on, and only then is a launched command let go. perf
record hands data on when a buffer is half full, so its buffers are sized to the rate for
about half a second of delay (`mmap_pages`); perf script's output to a pipe is
block-buffered unless `stdbuf -oL` makes it line-buffered. Sample times are
CLOCK_MONOTONIC, the clock of `time.monotonic()`.

perf resolves symbols itself (from the files on disk, so a process that exited still
resolves); a frame without a symbol becomes `module+0xaddress` when perf names its file,
else `[unknown]`. Frame lines are split by `collectors/formats/perf_script.py`'s
`parse_frame_line`.

As root, perf opens a target's `/tmp/perf-PID.map` and ELF files itself, by path: it follows
a symlink to a root-only file, waits on a FIFO, and reads an ELF path swapped for a link. So
the perf collector run as root samples only root's own processes and commands; for anyone
else's (and for `-a`) it refuses, naming the bcc collector (which reads through
`target_files`) or running bpfscope as that user, where perf reads with that user's rights.

Samples the kernel could not hand to perf record (its buffer full) come
as `comm PID/TID [CPU] SECONDS: PERF_RECORD_LOST lost N` lines, counted as lost. The parser
is small and specific to the fields above; reading saved `perf script` files is
`collectors/formats/perf_script.py`'s job.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from collectors.formats.perf_script import parse_frame_line
from collectors.live.base import DEFAULT_FREQUENCY, Collector, CollectorError, CommandIO, Target, check_pid
from collectors.live.batches import BatchAssembler
from collectors.live.command import HeldCommand
from collectors.live.target_files import Credentials, TargetFileError
from collectors.profile import Frame, FrameKind

SCRIPT_FIELDS = "comm,pid,tid,cpu,time,ip,sym,dso"
FLUSH_INTERVAL = 0.1
ENABLE_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
DWARF_STOP_TIMEOUT = 30.0

# `comm PID/TID [CPU] SECONDS:` (comm is right-aligned and may contain spaces).
_HEADER = re.compile(rb"^\s*(.*?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+(\d+\.\d+):")
# What `--show-lost-events` adds after such a header (perf 6.1): the records the kernel dropped.
_LOST = re.compile(rb": PERF_RECORD_LOST(?:_SAMPLES)? lost:? ?(\d+)")


def parse_frame(line: bytes) -> tuple[int, str, str | None] | None:
    """`\t  ip symbol (dso)` -> (ip, symbol, dso); None when the line is not a frame."""
    parsed = parse_frame_line(line.decode("utf-8", "replace"))
    if parsed is None or not parsed[0]:
        return None
    address, symbol, dso = parsed
    return int(address, 16), symbol, dso


def frame_for(ip: int, symbol: str, dso: str | None) -> tuple[Frame, bool]:
    """The frame for a parsed line and whether it has a symbol."""
    kernel = ip >= 0xFFFF_8000_0000_0000 or (dso is not None and dso.startswith("[kernel"))
    if symbol and symbol != "[unknown]":
        if kernel:
            kind = FrameKind.KERNEL
        elif dso is not None and dso.rpartition("/")[2].startswith("perf-") and dso.endswith(".map"):
            kind = FrameKind.JIT
        else:
            kind = FrameKind.USER
        return Frame(symbol, dso, None, None, kind), True
    if kernel:
        return Frame("[unknown]", dso or "[kernel.kallsyms]", None, None, FrameKind.KERNEL), False
    if dso is not None and dso.startswith("/"):
        return Frame(f"{dso.rpartition('/')[2]}+0x{ip:x}", dso, None, None, FrameKind.USER), False
    return Frame("[unknown]", None, None, None, FrameKind.UNKNOWN), False


class ScriptParser:
    """Feeds `perf script` lines into a `BatchAssembler`, one sample per blank-line block."""

    def __init__(self, assembler: BatchAssembler, start_seconds: float) -> None:
        self.asm = assembler
        self.start = start_seconds
        self._lines: dict[bytes, tuple[int, bool]] = {}
        """A frame line as written -> (frame id, is kernel): each distinct line is parsed once."""
        self._header: tuple[float, int] | None = None
        self._frames: list[tuple[int, bool]] = []
        self.lost = 0
        """Records the kernel dropped, from `PERF_RECORD_LOST` lines."""

    def feed(self, line: bytes) -> bool:
        """Take one line; True when it completed a sample."""
        if line[:1] == b"\t":  # perf script indents frames with a tab, never a header
            if self._header is None:
                return False
            known = self._lines.get(line)
            if known is None:
                parsed = parse_frame(line)
                if parsed is None:
                    return False
                frame, resolved = frame_for(*parsed)
                known = self._lines[line] = (self.asm.frame(frame, resolved), frame.kind is FrameKind.KERNEL)
            self._frames.append(known)
            return False
        if not line.strip():
            return self.end_sample()
        done = self.end_sample()
        if b"PERF_RECORD_LOST" in line:  # a line of its own, straight before the next header
            lost = _LOST.search(line)
            if lost is not None:
                self.lost += int(lost[1])
            return done
        m = _HEADER.match(line)
        if m is not None and m[3] != b"0":  # thread 0 is the idle task: left out, as with bcc
            comm = m[1].decode("utf-8", "replace").strip()
            pid, tid = int(m[2]), int(m[3])
            self.asm.thread(pid, tid, comm)
            self._header = (float(m[5]) - self.start, tid)
        return done

    def end_sample(self) -> bool:
        header, frames = self._header, self._frames
        self._header, self._frames = None, []
        if header is None:
            return False
        frames.reverse()
        user = sum(1 for _, kernel in frames if not kernel)
        sid = self.asm.stack(tuple(fid for fid, _ in frames), user)
        self.asm.sample(header[0], header[1], sid)
        return True


DWARF_STACK_BYTES = 16384
"""User stack bytes perf copies per sample with `--call-graph dwarf` (twice perf's default: a
single 8 KB buffer on the stack would end the stack there)."""


def call_graph(target_pid: int | None) -> list[str]:
    """perf record's call-graph option: DWARF unwinding for one process and its children,
    whose code (or at least libc's, on stock distributions) lacks frame pointers; frame
    pointers for `-a`, where copying every process's stack would cost too much."""
    return ["-g"] if target_pid is None else ["--call-graph", f"dwarf,{DWARF_STACK_BYTES}"]


def mmap_pages(frequency: int, dwarf: bool = False) -> int:
    """perf record's buffer per CPU in pages (a power of two), one per 125 Hz; with `dwarf`
    (16 KB of stack a sample) one per 0.25 Hz, the same half second of data.

    perf record passes data on when a buffer is half full, so the buffer size is the delay:
    measured here with a process keeping two CPUs busy, 1 page at 99 Hz is about 0.5 s and
    8 pages at 999 Hz about 0.3 s, at 0.3 % and 1.6 % of a core for the whole pipeline;
    `--no-buffering` (a wake-up per sample) is 0.08 s but 14 % at 999 Hz.
    """
    wanted = max(1, frequency * 4 if dwarf else -(-frequency // 125))
    return min(1 << (wanted - 1).bit_length(), 4096)


def perf_path() -> str | None:
    return shutil.which("perf")


def perf_unavailable_reason(target: Target) -> str | None:
    """Why the perf collector cannot run for `target`, with the fix; None when it should."""
    if perf_path() is None:
        return "perf is not installed: install linux-perf (Debian) or linux-tools-$(uname -r) (Ubuntu)"
    if os.geteuid() == 0:
        other = _not_roots(target)
        if other is not None:
            return (f"as root, perf would open {other}'s files itself (its /tmp/perf-PID.map, the ELF files it "
                    "maps), following links and FIFOs that process can plant: use the bcc collector, or run "
                    "bpfscope --collector perf as that user")
    if os.geteuid() != 0:
        paranoid = _read_int("/proc/sys/kernel/perf_event_paranoid")
        if target.is_all and paranoid is not None and paranoid > 0:
            return (f"sampling all processes needs root (perf_event_paranoid is {paranoid}): "
                    "run bpfscope with sudo")
        if paranoid is not None and paranoid > 2:
            return (f"perf_event_paranoid is {paranoid}, which forbids sampling without root: run with sudo, "
                    "or `sysctl kernel.perf_event_paranoid=2`")
    return None


def _not_roots(target: Target) -> str | None:
    """What, of `target`, is not root's own: perf run as root must not read its files."""
    if target.is_all:
        return "every user's processes"
    if target.command:
        return f"the command (run as {target.run_as.name})" if target.run_as is not None else None
    if target.pid is not None:
        try:
            uid = Credentials.of(target.pid).uid
        except TargetFileError:
            return None  # no such process: check_pid says so
        return f"process {target.pid} (uid {uid})" if uid != 0 else None
    return None


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


class PerfCollector(Collector):
    """Samples by streaming `perf record` into `perf script` (root not needed for one's own processes)."""

    name = "perf"

    def __init__(self, target: Target, frequency: int = DEFAULT_FREQUENCY, io: CommandIO | None = None) -> None:
        super().__init__(target, frequency, io)
        self._record: subprocess.Popen[bytes] | None = None
        self._script: subprocess.Popen[bytes] | None = None
        self._logs: list[IO[bytes]] = []
        self._control = -1
        self._reader: threading.Thread | None = None
        self._asm = BatchAssembler()
        self._lost = 0
        self._dwarf = False

    def start(self) -> None:
        reason = perf_unavailable_reason(self.target)
        if reason is not None:
            raise CollectorError(reason)
        if self.target.pid is not None:
            check_pid(self.target.pid)
        try:
            if self.target.command:
                self._command = HeldCommand(self.target.command, self.io, self.target.run_as)
            self._spawn()
            if self._command is not None:
                self._command.release()
        except BaseException:
            self._release()
            raise
        self._reader = threading.Thread(target=self._read, name="bpfscope-perf", daemon=True)
        self._reader.start()

    def _event(self) -> str:
        # Without root, perf_event_paranoid >= 2 allows only user-space sampling.
        return "cpu-clock" if os.geteuid() == 0 else "cpu-clock:u"

    def _spawn(self) -> None:
        perf = perf_path() or "perf"
        where = ["-a"] if self.pid is None else ["-p", str(self.pid)]
        graph = call_graph(self.pid)
        self._dwarf = graph[0] != "-g"
        ctl_r, ctl_w = os.pipe()
        ack_r, ack_w = os.pipe()
        # Kept open for the collector's life (closed in `_release`), so no `with`.
        record_log = tempfile.TemporaryFile()  # noqa: SIM115
        script_log = tempfile.TemporaryFile()  # noqa: SIM115
        self._logs = [record_log, script_log]
        try:
            self._record = subprocess.Popen(
                [perf, "record", "-F", str(self.frequency), *graph, "-e", self._event(), "-k", "CLOCK_MONOTONIC",
                 "--sample-cpu", "-m", str(mmap_pages(self.frequency, graph[0] != "-g")), "-D", "-1",
                 f"--control=fd:{ctl_r},{ack_w}", *where, "-o", "-"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=record_log, pass_fds=(ctl_r, ack_w),
            )
            stdbuf = shutil.which("stdbuf")
            # --no-inline: with DWARF stacks perf script would otherwise run addr2line on each
            # file for inlined frames, which fails for a file only in the target's namespace.
            script = [perf, "script", "-F", SCRIPT_FIELDS, "--show-lost-events", "--no-inline", "-i", "-"]
            assert self._record.stdout is not None
            self._script = subprocess.Popen(
                [stdbuf, "-oL", *script] if stdbuf else script,
                stdin=self._record.stdout, stdout=subprocess.PIPE, stderr=script_log,
            )
            self._record.stdout.close()
        finally:
            os.close(ctl_r)
            os.close(ack_w)
        # The control pipe stays open while perf runs: perf gives up when it hangs up.
        self._control = ctl_w
        try:
            self.start_ns = time.monotonic_ns()
            os.write(ctl_w, b"enable\n")
            if not _read_ack(ack_r, ENABLE_TIMEOUT):
                raise CollectorError(f"perf record did not start: {self._log_line(record_log)}")
        finally:
            os.close(ack_r)

    def _log_line(self, log: IO[bytes]) -> str:
        with contextlib.suppress(OSError):
            log.seek(0)
            lines = [ln.strip() for ln in log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
            useful = [ln for ln in lines if not ln.startswith(("[ perf record", "Events ", "#"))]
            if useful:
                return " ".join(useful[:2])[:300]
        record = self._record
        if record is not None and record.poll() is not None:
            return f"it exited with status {record.returncode}"
        return "no answer from it"

    def _read(self) -> None:
        script = self._script
        assert script is not None and script.stdout is not None
        parser = ScriptParser(self._asm, self.start_ns / 1e9)
        last = time.monotonic()
        try:
            for line in script.stdout:
                if parser.feed(line) and time.monotonic() - last >= FLUSH_INTERVAL:
                    last = time.monotonic()
                    self._publish_lost(parser.lost)
            parser.end_sample()
            self._publish_lost(parser.lost)
            script.wait()
            record = self._record
            if record is not None:
                record.wait()
                if not self._stopped and record.returncode not in (0, None) and not self._asm.samples:
                    self.failure = CollectorError(f"perf record failed: {self._log_line(self._logs[0])}")
            if not self._stopped:
                if self._command is not None:
                    self._command.wait(1.0)
                    self.exit_note = self._command.describe_exit()
                else:
                    self.exit_note = f"process {self.pid} exited" if self.pid else "perf record ended"
        except BaseException as e:
            self.failure = e
        finally:
            self._finished.set()

    def _publish_lost(self, lost: int) -> None:
        """Queue what is new; a change in the lost count alone is news too."""
        self._lost = lost
        self._publish(self._asm.take(lost, force=lost != self.stats.lost))

    def stop(self) -> None:
        if not self._claim_stop():
            return
        record = self._record
        if record is not None and record.poll() is None:
            # SIGINT: perf record writes out what it has and exits; perf script then sees the end.
            with contextlib.suppress(ProcessLookupError):
                record.send_signal(signal.SIGINT)
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            # perf script unwinds DWARF samples as they come: slower, so its tail takes longer.
            reader.join(DWARF_STOP_TIMEOUT if self._dwarf else STOP_TIMEOUT)
        self._release()
        if reader is not None and reader is not threading.current_thread():
            reader.join(STOP_TIMEOUT)
        self._publish(self._asm.take(self._lost, force=True))
        self._finished.set()

    def _release(self) -> None:
        for proc in (self._record, self._script):
            if proc is not None and proc.poll() is None:
                proc.kill()
                # A process in an uninterruptible read (a hung network file) dies only when
                # the read ends: stopping does not wait for that.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(STOP_TIMEOUT)
        if self._command is not None:
            if self._reader is None:
                self._command.abandon()
            self._command.terminate()
        for log in self._logs:
            log.close()
        self._logs = []
        if self._control >= 0:
            os.close(self._control)
            self._control = -1


def _read_ack(fd: int, timeout: float) -> bool:
    """Wait for perf's `ack` on its control pipe."""
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        got = b""
        while b"ack" not in got:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                return False
            chunk = os.read(fd, 64)
            if not chunk:
                return False
            got += chunk
    return True
