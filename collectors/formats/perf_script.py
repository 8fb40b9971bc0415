"""`perf script` output: the text `perf record -g` data turns into.

A sample is a header line, `comm  pid/tid [cpu] time: period event:`, then its call stack,
one `\\taddress symbol+0xoffset (dso)` line per frame, leaf first, then a blank line. As in
speedscope, each thread is a profile named `comm tid: T` (`comm pid: P tid: T` when the
header has both; a zero id is left out, so the idle `swapper` is one profile), a frame is
its symbol with the `+0x` offset stripped and the dso as its file, and an unknown symbol is
named `??? (dso)` so that a dso's unknown frames merge into one.

Where we differ from speedscope, on purpose:

- A sample weighs 1 (the unit is NONE) and its timestamp goes into the sample's time:
  speedscope weighs a sample by the time to its neighbours, which charges a thread's sleep
  to whatever ran last; sample counts are what perf itself reports. (speedscope also drops
  a sample whose time share comes out 0, e.g. three CPUs' `swapper` at one instant; we keep it.)
- Every event is kept: a file with several events (`-e cycles,instructions`) gets one
  profile per thread and event, named with the event in brackets. speedscope keeps only
  the first event's samples.
- A thread's samples are sorted by time (stably): perf interleaves CPUs.
- Output without timestamps, without call chains (the ip on the header line) or with
  `srcline` lines loads; ` (deleted)` and `+0x` dso offsets are dropped from file names.
- A line inside a sample that is neither a stack frame nor a source line, and a timestamp
  that is not a number, are errors rather than silently skipped lines.
- Samples with no stack at all are skipped (and counted in the "no samples" error).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from collectors.formats.errors import ProfileError
from collectors.formats.limits import check_time
from collectors.profile import Frame, FrameKind, ProfileGroup, StackTable, Unit

NAME = "perf script"

SNIFF_CHARS = 65536
"""How much of the text `sniff` looks at."""

PROGRESS_EVERY = 4096
"""Samples between progress calls."""

_HEX = "0123456789abcdefABCDEF"

# `comm pid[/tid] [cpu] time: rest`. The command name may contain spaces (`V8 WorkerThread`):
# the first `number[/number]` word after it that is followed by a timestamp is the thread. A
# timestamp is anything from a digit to a colon, so that a damaged one is reported rather than
# taken for part of the command. The line is split into words once and each word is looked at
# a bounded number of times: a regular expression with a lazy command name was quadratic in
# a run of spaces (16 KB of them took 7.6 s, on every text file format detection saw).
_WORD = re.compile(r"[^ \t]+")
_PID = re.compile(r"(\d+)(?:/(\d+))?")
_CPU = re.compile(r"\[\d+\]")
_TIME = re.compile(r"\d[^\s:]*:")


class _HeaderMatch(NamedTuple):
    comm: str
    pid: str
    tid: str | None
    time: str | None
    rest: str | None


def _match_header(line: str, timed: bool) -> _HeaderMatch | None:
    """`comm pid[/tid] [cpu] time: rest` (`timed`) or `comm pid[/tid] [cpu] rest`, split as
    the first pid word after a non-empty command name that completes the pattern; None when
    no word does. Linear in the line's length."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(line)]
    if not words or line[words[0][0]].isspace():
        return None
    for i in range(1, len(words)):
        start, end = words[i]
        pid = _PID.fullmatch(line, start, end)
        if pid is None:
            continue
        j = i + 1
        if j < len(words) and _CPU.fullmatch(line, *words[j]):
            j += 1
        time = None
        if timed:
            if j >= len(words) or _TIME.fullmatch(line, *words[j]) is None:
                continue
            time = line[words[j][0]:words[j][1] - 1]
            j += 1
        rest = line[words[j][0]:] if j < len(words) else None
        comm = line[words[0][0]:words[i - 1][1]]
        return _HeaderMatch(comm, pid[1], pid[2], time, rest)
    return None


_CLOCK_EVENTS = ("cpu-clock", "task-clock")
"""Software events whose period is in nanoseconds (so it is the time one sample stands for)."""

# (comm, pid, tid, time, event, period, text after the event)
_Header = tuple[str, int | None, int, float | None, str, int | None, str]


def _is_hex(text: str) -> bool:
    return bool(text) and not text.strip(_HEX)


def _parse_header(line: str, timed_only: bool = False) -> _Header | None:
    """The fields of a sample header line, None when the line is not one."""
    m = _match_header(line, timed=True)
    time: float | None = None
    if m is not None:
        time_text = m.time or ""
        try:
            time = float(time_text)
        except ValueError:
            raise ProfileError(f"timestamp {_show(time_text)} is not a number") from None
        check_time(time, f"timestamp {_show(time_text)}")
    elif timed_only:
        return None
    else:
        m = _match_header(line, timed=False)
        if m is None:
            return None
    tid_text = m.tid
    if tid_text is None:
        # perf's default shows the thread id alone.
        pid, tid = None, _whole(m.pid, "thread id")
    else:
        pid, tid = _whole(m.pid, "process id"), _whole(tid_text, "thread id")
    rest = m.rest or ""
    period = None
    event = ""
    parts = rest.split(None, 1)
    if len(parts) == 2 and parts[0].isdigit():
        period = _whole(parts[0], "sample period")
        rest = parts[1]
        parts = rest.split(None, 1)
    if parts and parts[0].endswith(":"):
        event = parts[0][:-1]
        rest = parts[1] if len(parts) == 2 else ""
    return m.comm, pid, tid, time, event, period, rest.strip()


def _whole(text: str, what: str) -> int:
    """A pid, tid or period: 20 digits at most (a 64-bit number), which `int` can read."""
    if len(text) > 20 or not text.isascii():
        raise ProfileError(f"{what} {_show(text)} is not a 64-bit number")
    return int(text)


def parse_frame_line(line: str) -> tuple[str, str, str | None] | None:
    """A stack frame line, `\taddress symbol+0xoffset (dso)`, split into (address, symbol, dso):
    the address as hex text ("" when `-F sym,dso` leaves it out), the symbol as written
    (`[unknown]` included) without its `+0x` offset, the dso without ` (deleted)` (None when
    the line names none). None when the line is not a frame. Shared with the live perf collector.
    """
    text = line.strip()
    address, _, rest = text.partition(" ")
    if _is_hex(address):
        rest = rest.strip()
    elif text.endswith(")"):
        address, rest = "", text  # `-F sym,dso`: no address column
    else:
        return None
    symbol, dso = _split_dso(rest)
    if not address and dso is None:
        return None
    return address, _strip_offset(symbol), dso


def _split_dso(rest: str) -> tuple[str, str | None]:
    """`symbol (dso)` -> (symbol, dso); the dso is the balanced group of parentheses at the
    end, so `operator()(int) (/bin/x)` and `f (/lib/x.so (deleted))` both split right."""
    if rest.endswith(" (inlined)"):
        rest = rest[:-10].rstrip()
    elif rest == "(inlined)":
        return "", None
    if not rest.endswith(")"):
        return rest, None
    start = rest.rfind("(")
    if ")" in rest[start:-1]:
        start = _balanced_start(rest)  # `(/lib/x.so (deleted))`
    if start < 0 or (start > 0 and rest[start - 1] != " "):
        return rest, None  # unbalanced, or `f(int)` with no dso after it
    dso = rest[start + 1 : -1]
    if dso.endswith(" (deleted)"):
        dso = dso[:-10]
    head, sep, offset = dso.rpartition("+0x")
    if sep and head and _is_hex(offset):
        dso = head  # `perf script -F +dsoff`
    return rest[:start].rstrip(), dso


def _balanced_start(text: str) -> int:
    """Where the parenthesised group that ends `text` opens, -1 when unbalanced."""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        c = text[i]
        if c == ")":
            depth += 1
        elif c == "(":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _strip_offset(symbol: str) -> str:
    head, sep, offset = symbol.rpartition("+0x")
    if sep and head and _is_hex(offset):
        return head
    return symbol


def _is_kernel_address(address: str) -> bool:
    return len(address) == 16 and address[:4].lower() == "ffff"


def _kind(symbol: str, dso: str | None, address: str) -> FrameKind:
    if dso is not None:
        if dso.startswith("[") and "kernel." in dso:
            return FrameKind.KERNEL
        base = dso.rpartition("/")[2]
        if (base.startswith("perf-") and base.endswith(".map")) or dso.startswith("[JIT]") \
                or base.startswith("jitted-"):
            return FrameKind.JIT
        if dso == "[unknown]" and not symbol:
            # Kind must not depend on the address: every `??? ([unknown])` is one frame.
            return FrameKind.UNKNOWN
    if _is_kernel_address(address):
        return FrameKind.KERNEL
    if not symbol:
        return FrameKind.UNKNOWN
    return FrameKind.USER


def _is_srcline(text: str) -> bool:
    """`  file.c:12` (or `??:0`, `f.c:3 (discriminator 2)`), which `-F +srcline` adds after a frame."""
    head, sep, tail = text.partition(" (discriminator ")[0].rpartition(":")
    return bool(sep and head) and (tail.isdigit() or tail == "?") and not _is_hex(head.split(None, 1)[0])


def _show(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


class _Thread:
    """One future profile's samples, gathered before the profiles can be named."""

    __slots__ = ("comm", "event", "periods", "pid", "sids", "stacks", "tid", "times", "untimed")

    def __init__(self, comm: str, pid: int | None, tid: int, event: str) -> None:
        self.comm = comm
        self.pid = pid
        self.tid = tid
        self.event = event
        self.stacks = StackTable()
        self.sids: list[int] = []
        self.times: list[float] = []
        self.untimed = 0
        self.periods: set[int] = set()

    def name(self) -> str:
        # speedscope leaves out ids that are 0 (and so merges every CPU's swapper).
        parts = [self.comm]
        if self.pid:
            parts.append(f"pid: {self.pid}")
        if self.tid:
            parts.append(f"tid: {self.tid}")
        return " ".join(parts)


class _Reader:
    def __init__(self, group: ProfileGroup) -> None:
        self.group = group
        self.line_ids: dict[str, int] = {}
        """A frame line exactly as written -> frame id: a repeated line is parsed once."""
        self.key_ids: dict[tuple[str, str | None], int] = {}
        """(frame name, dso) -> frame id, so that a frame's kind is decided once."""
        self.threads: dict[tuple[str, str, int | None, int], _Thread] = {}
        self.frameless = 0
        self.index = 0
        """The line being read, counted within the current block (for error messages)."""

    # --- frames -------------------------------------------------------------------

    def frame(self, line: str) -> int | None:
        """The frame id of a stack frame line, None when the line is not one."""
        parsed = parse_frame_line(line)
        if parsed is None:
            return None
        address, symbol, dso = parsed
        if symbol == "[unknown]":
            symbol = ""
        if symbol:
            name = symbol
        elif dso is not None:
            name = f"??? ({dso})"
        elif address:
            name = f"0x{address}"
        else:
            return None
        key = (name, dso)
        fid = self.key_ids.get(key)
        if fid is None:
            fid = self.group.frames.intern(Frame(name, dso, None, None, _kind(symbol, dso, address)))
            self.key_ids[key] = fid
        self.line_ids[line] = fid
        return fid

    # --- samples ------------------------------------------------------------------

    def add(self, header: _Header, fids: tuple[int, ...]) -> None:
        """Record one sample; `fids` are root first."""
        comm, pid, tid, time, event, period, inline = header
        if not fids and inline and _is_hex(inline.split(None, 1)[0]):
            # No call chain: `perf script` puts the sampled ip on the header line (other
            # text there, such as a tracepoint's arguments, is not a frame).
            fid = self.line_ids.get(inline)
            if fid is None:
                fid = self.frame(inline)
            if fid is not None:
                fids = (fid,)
        if not fids:
            self.frameless += 1
            return
        key = (event, comm, pid, tid)
        thread = self.threads.get(key)
        if thread is None:
            thread = self.threads[key] = _Thread(comm, pid, tid, event)
        thread.sids.append(thread.stacks.intern(fids))
        if time is None:
            thread.untimed += 1
        else:
            thread.times.append(time)
        if period is not None:
            thread.periods.add(period)

    def block(self, block: str) -> None:
        """The text between two blank lines: normally one sample."""
        lines = block.split("\n")
        first = lines[0]
        self.index = 0
        if first and first[0] not in "\t #":
            header = _parse_header(first)
            if header is not None:
                # Fast path: every frame line seen before, mapped to ids in C (leaf-first
                # lines reversed to root-first ids by the slice).
                fids = tuple(map(self.line_ids.get, lines[:0:-1]))
                if None not in fids:
                    self.add(header, fids)  # type: ignore[arg-type]
                    return
                if self.new_frames(lines):
                    self.add(header, tuple(map(self.line_ids.__getitem__, lines[:0:-1])))
                    return
        self.lines(lines)

    def new_frames(self, lines: list[str]) -> bool:
        """Parse the frame lines of a sample not seen before; False (for the careful
        line-by-line path) when a line is anything but a plain `\taddress ...` frame."""
        known = self.line_ids
        for index in range(1, len(lines)):
            line = lines[index]
            if line in known:
                continue
            if line[:1] != "\t" or not _is_hex((line.split(None, 1) or ("",))[0]) or self.frame(line) is None:
                return False
        return True

    def lines(self, lines: list[str]) -> None:
        """Line by line: comments, new frame lines, srclines, samples without blank lines."""
        header: _Header | None = None
        frames: list[int] = []
        get = self.line_ids.get
        for index, line in enumerate(lines):
            self.index = index
            text = line.strip()
            if not text:
                if header is not None:
                    frames.reverse()
                    self.add(header, tuple(frames))
                header, frames = None, []
                continue
            if text[0] == "#":
                continue
            new: _Header | None = None
            if line[0] in " \t":
                fid = get(line)
                if fid is None and line[0] == "\t" and _is_hex(text.split(None, 1)[0]):
                    fid = self.frame(line)  # perf's own frame lines: tab, hex address
                if fid is None:
                    # An indented header is a sample without a call chain (comm right-aligned).
                    new = _parse_header(line, timed_only=True)
                    if new is None:
                        if header is not None and _is_srcline(text):
                            continue
                        fid = self.frame(line)
                        if fid is None:
                            raise ProfileError(f"cannot read {_show(text)} as a stack frame")
                if fid is not None:
                    if header is None:
                        raise ProfileError(f"stack frame {_show(text)} comes before any sample header")
                    frames.append(fid)
                    continue
            else:
                new = _parse_header(line)
                if new is None:
                    raise ProfileError(f"cannot read {_show(text)} as a sample header")
            if header is not None:
                frames.reverse()
                self.add(header, tuple(frames))
            header, frames = new, []
        if header is not None:
            frames.reverse()
            self.add(header, tuple(frames))

    # --- profiles -----------------------------------------------------------------

    def finish(self) -> None:
        events = {t.event for t in self.threads.values()}
        for thread in self.threads.values():
            name = thread.name()
            if len(events) > 1:
                name = f"{name} [{thread.event or 'no event'}]"
            if thread.untimed and thread.times:
                raise ProfileError(f"some samples of {name!r} have a timestamp and others do not")
            profile = self.group.new_profile(name, Unit.NONE)
            profile.pid, profile.tid = thread.pid, thread.tid
            profile.stacks = thread.stacks
            if thread.event.split(":", 1)[0] in _CLOCK_EVENTS and len(thread.periods) == 1:
                period = next(iter(thread.periods))
                profile.sample_period = period * 1e-9 if period > 0 else None  # 0: a damaged header
            sids, times = thread.sids, thread.times
            add = profile.add_stack_sample
            if not times:
                for sid in sids:
                    add(sid, 1.0)
                continue
            if times != sorted(times):
                order = sorted(range(len(times)), key=times.__getitem__)  # stable: ties keep file order
                sids = [sids[i] for i in order]
                times = [times[i] for i in order]
            for sid, time in zip(sids, times, strict=True):
                add(sid, 1.0, time)


def sniff(text: str) -> bool:
    """True when the text starts like `perf script` output: a sample header followed by a
    stack frame line, or (output without call chains) header lines with timestamps."""
    examined = timed = 0
    after_header = False
    for line in text[:SNIFF_CHARS].split("\n"):
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            after_header = False
            continue
        if after_header and line[0] in " \t":
            address = stripped.split(None, 1)[0]
            if _is_hex(address) or stripped.endswith(")"):
                return True
        is_timed = _match_header(line, timed=True) is not None
        after_header = is_timed or (line[0] not in " \t" and _match_header(line, timed=False) is not None)
        examined += 1
        timed += is_timed
        if examined >= 20:
            break
    return examined >= 2 and timed == examined


def read(text: str, name: str = "profile", progress: Callable[[int], None] | None = None) -> ProfileGroup:
    group = ProfileGroup(name=name)
    reader = _Reader(group)
    pos = 0
    end = len(text)
    count = 0
    while pos < end:
        stop = text.find("\n\n", pos)
        if stop < 0:
            stop = end
        try:
            reader.block(text[pos:stop])
        except ProfileError as e:
            raise ProfileError(f"line {text.count(chr(10), 0, pos) + reader.index + 1}: {e}") from None
        pos = stop + 2
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(min(pos, end))
    reader.finish()
    if progress is not None:
        progress(end)
    if not group.profiles:
        detail = f" ({reader.frameless} samples had no stack frames)" if reader.frameless else ""
        raise ProfileError(f"no samples found in the perf script output{detail}")
    return group
