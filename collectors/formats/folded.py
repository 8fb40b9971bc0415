"""Folded stacks (Brendan Gregg's collapsed format): `root;caller;leaf COUNT` per line.

Also what `profile-bpfcc -f`, `stackcollapse-*.pl` and py-spy `--format raw` write. As in
speedscope, lines are samples in file order and lines that are not `stack count` (comments,
headers) are skipped; unlike speedscope, a count that is negative, not finite or absurdly
large is an error rather than a silently dropped line, because it means the file is damaged.
Frame names ending in `_[k]` are kernel frames and `_[j]` JIT frames (FlameGraph's
annotations). A name that carries its location in a profiler's convention (py-spy's
`func (file.py:12)`, austin's `file.py:func:12`, a `(module)` suffix: see `locations`) is
read into name, file and line; other names are kept as written. Writing puts a frame's file
and line back in py-spy's form, so they survive the round trip.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterable
from typing import BinaryIO

from collectors.formats.errors import ProfileError
from collectors.formats.locations import split_location
from collectors.profile import Frame, FrameKind, Profile, ProfileGroup, Unit

MAX_COUNT = 1e15
"""Counts above this are damage, not samples (a year of 1 kHz sampling on 10k CPUs is 3e14)."""


_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?")
"""A count as `write` may give it (`5e-324` for a tiny fractional weight)."""


def _kind_of(name: str) -> FrameKind:
    if name.endswith("_[k]"):
        return FrameKind.KERNEL
    if name.endswith("_[j]"):
        return FrameKind.JIT
    return FrameKind.USER


def _frame(raw: str) -> Frame:
    """A frame named `raw`, its location read out of the name when a profiler's convention put
    it there (py-spy's `func (file.py:12)`, austin's `file.py:func:12`, a `(module)` suffix)."""
    where = split_location(raw)
    if where is None:
        return Frame(raw, None, None, None, _kind_of(raw))
    name, file, line = where
    kind = FrameKind.KERNEL if file.startswith("[kernel") else _kind_of(name)
    return Frame(name, file, line, None, kind)


def _parse_count(text: str) -> float | None:
    """The count at the end of a line, None when the line is not a sample."""
    if text.isascii() and text.isdigit():
        value = float(int(text)) if len(text) < 17 else math.inf
    else:
        try:
            value = float(text)
        except ValueError:
            return None
        if text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise ProfileError(f"count {text!r} is not a number of samples")
    if value < 0:
        raise ProfileError(f"negative count {text}")
    if value > MAX_COUNT:
        raise ProfileError(f"count {text} is implausibly large")
    return value


def sniff(text: str) -> bool:
    """True when most of the first non-comment lines are `stack count` (or, when every line
    starts like a comment, some are: `read` takes `#frame;f 3` as a sample, as `write` can
    give it for a frame named `#frame`)."""
    seen = good = commented = 0
    for line in _first_lines(text, 200):
        line = line.strip()
        if not line:
            continue
        head, sep, tail = line.rpartition(" ")
        is_sample = bool(sep and head.strip() and tail.isascii()
                         and (tail.replace(".", "", 1).isdigit() or _DECIMAL.fullmatch(tail)))
        if line.startswith("#") or line.startswith("//"):
            commented += is_sample
            continue
        seen += 1
        good += is_sample
        if seen >= 50:
            break
    if not seen:
        return commented > 0
    return good > 0 and good * 2 >= seen


def _first_lines(text: str, n: int) -> list[str]:
    """Up to n lines from the start, whole (a 20,000-frame stack is one long line)."""
    out: list[str] = []
    start = 0
    while len(out) < n and start < len(text):
        end = text.find("\n", start)
        if end < 0:
            end = len(text)
        out.append(text[start:end])
        start = end + 1
    return out


def read(text: str, name: str = "profile", progress: Callable[[int], None] | None = None) -> ProfileGroup:
    group = ProfileGroup(name=name)
    profile = group.new_profile(name, Unit.NONE)
    _fill(profile, text.split("\n"), progress)
    if not profile.sample_count:
        raise ProfileError("no `stack count` lines found (not a folded-stacks file)")
    return group


def _fill(profile: Profile, lines: Iterable[str], progress: Callable[[int], None] | None) -> None:
    frames = profile.frames
    intern = profile.stacks.intern
    add = profile.add_stack_sample
    # Hot loop (the bench file has 2.3M frame tokens): names are mapped to ids with C-level
    # `map`, and only a line with a name not seen before takes the slow path.
    name_ids: dict[str, int] = {}
    get = name_ids.get
    done = 0
    for lineno, raw in enumerate(lines, 1):
        done += len(raw) + 1
        if progress is not None and lineno % 4096 == 0:
            progress(done)
        stack_text, sep, count_text = raw.rstrip().rpartition(" ")
        if not sep or not stack_text:
            continue
        try:
            count = _parse_count(count_text)
        except ProfileError as e:
            raise ProfileError(f"line {lineno}: {e}") from None
        if count is None:
            continue
        names = stack_text.split(";")
        fids = tuple(map(get, names))
        if None in fids:
            for fname in names:
                if fname not in name_ids:
                    name_ids[fname] = frames.intern(_frame(fname))
            fids = tuple(map(get, names))
        add(intern(fids), count)  # type: ignore[arg-type]
    if progress is not None:
        progress(done)


def save(group: ProfileGroup, out: BinaryIO) -> None:
    """The registry's writer: every profile's lines, one after the other (frame names that are
    not valid UTF-8 keep their bytes)."""
    text = io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape", newline="\n")
    for profile in group.profiles:
        text.writelines(write(profile))
    text.flush()
    text.detach()


def write(profile: Profile) -> Iterable[str]:
    """Lines of folded text (with newlines): the samples in time order, consecutive identical
    stacks merged into one line, as speedscope reads folded files back (line order is time
    order). A fractional weight is written with its fraction so nothing is lost.
    """
    names = [_folded_name(f.name if f.line is None or not f.file else f"{f.name} ({f.file}:{f.line})")
             for f in profile.frames]
    stacks = profile.stacks
    line_of: dict[int, str] = {}
    run_sid, run_w = -1, 0.0
    for sid, w in zip(profile.sample_stacks, profile.weights, strict=True):
        if sid == run_sid:
            run_w += w
            continue
        if run_sid >= 0 and stacks[run_sid]:
            yield f"{line_of[run_sid]} {_format_count(run_w)}\n"
        run_sid, run_w = sid, w
        if sid not in line_of:
            line_of[sid] = ";".join([names[f] for f in stacks[sid]])
    if run_sid >= 0 and stacks[run_sid]:
        yield f"{line_of[run_sid]} {_format_count(run_w)}\n"


_NAME_FIXES = {ord(";"): ":", ord("\n"): " ", ord("\r"): " ", 0x7F: "\ufffd",
               **{c: "\ufffd" for c in range(32) if c not in (9, 10, 13)},
               **{c: "\ufffd" for c in range(0x80, 0xA0)},
               **{c: "\ufffd" for c in (0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F),
                                         *range(0x2066, 0x206A))}}


def _folded_name(name: str) -> str:
    # `;` separates frames and a newline ends the sample: neither may survive in a name. Other
    # control characters (a NUL from a damaged file) would make the output read as binary, and
    # C1 controls (U+009B is CSI) and bidi overrides would act on a terminal that `cat`s it.
    return name.translate(_NAME_FIXES) if not name.isprintable() or ";" in name else name


def _format_count(w: float) -> str:
    if w == int(w):
        return str(int(w))
    return repr(w)
