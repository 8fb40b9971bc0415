"""Choosing a reader from a file's content (its name is only a hint) and loading it.

Every reader raises `ProfileError` for input it cannot take; `load_profile` turns that, and
any I/O error, into a `LoadError` that names the file, so callers (the CLI, the TUI) have
one sentence to show.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Callable
from pathlib import Path

from collectors.formats import registry
from collectors.formats.errors import ProfileError
from collectors.formats.text import decode_text, gunzip_if_needed, looks_binary
from collectors.profile import Profile, ProfileGroup

MAX_FILE_BYTES = 4 << 30
"""Files larger than this (after decompression) are refused rather than read into memory."""

Progress = Callable[[int, int], None]
"""progress(done, total) in bytes (or characters once decoded)."""


class LoadError(Exception):
    """A profile could not be loaded: the message names the file and what is wrong."""


def load_profile(path: str | os.PathLike[str], progress: Progress | None = None) -> ProfileGroup:
    """Read any supported profile file, or raise LoadError naming it."""
    p = Path(path)
    try:
        st = p.stat()
        size = st.st_size
        if stat.S_ISDIR(st.st_mode):
            raise LoadError(f"{p}: is a directory, not a profile")
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            # /dev/zero never ends and a disk is not a profile: refuse rather than read.
            raise LoadError(f"{p}: is a device, not a profile")
        if size > MAX_FILE_BYTES:
            raise LoadError(f"{p}: {size} bytes is larger than bpfscope reads ({MAX_FILE_BYTES} bytes)")
        data = _read_bytes(p, size, progress)
    except FileNotFoundError:
        raise LoadError(f"{p}: no such file") from None
    except PermissionError:
        raise LoadError(f"{p}: permission denied (try sudo, or check the file's mode)") from None
    except IsADirectoryError:
        raise LoadError(f"{p}: is a directory, not a profile") from None
    except OSError as e:
        raise LoadError(f"{p}: cannot read it ({e.strerror or e})") from None
    try:
        return parse_profile(data, p.name, progress)
    except ProfileError as e:
        raise LoadError(f"{p}: {e}") from None
    except RecursionError:
        raise LoadError(f"{p}: nested too deeply to parse") from None
    except MemoryError:
        raise LoadError(f"{p}: too large to load in memory") from None


def _read_bytes(p: Path, size: int, progress: Progress | None) -> bytes:
    """The file's bytes, never more than MAX_FILE_BYTES whatever its size claims (a pipe,
    `<(perf script)`, says 0; a file may grow while read)."""
    chunks = []
    done = 0
    with p.open("rb") as f:
        while chunk := f.read(min(4 << 20, MAX_FILE_BYTES + 1 - done)):
            chunks.append(chunk)
            done += len(chunk)
            if done > MAX_FILE_BYTES:
                raise LoadError(f"{p}: larger than bpfscope reads ({MAX_FILE_BYTES} bytes)")
            if progress is not None and size >= (8 << 20):
                progress(done, size)
    return b"".join(chunks)


def parse_profile(data: bytes, name: str = "profile", progress: Progress | None = None) -> ProfileGroup:
    """Detect the format of `data` and read it, trying the registered readers; ProfileError says
    which formats were tried."""
    data = gunzip_if_needed(data, MAX_FILE_BYTES)
    if not data.strip():
        raise ProfileError("the file is empty")
    # A pprof whose string table fills its first 4 KiB looks like text; its first byte is a
    # field tag (sample_type, written first, is 0x0a), which no text profile starts with but "\n".
    binary = looks_binary(data)
    if binary or data[:1] == b"\n":
        for binary_reader in registry.binary_readers():
            if binary_reader.sniff(data):
                return _finish(binary_reader.load(data, name), name)
    if binary:
        raise ProfileError(f"binary data that is not a profile (tried {', '.join(registry.reader_names())})")
    text = decode_text(data)
    del data
    stripped = text.lstrip()
    text_readers = registry.text_readers()
    if stripped[:1] in ("{", "["):
        try:
            obj = _load_json(text)
        except ProfileError:
            # Folded stacks often start with `[unknown];...` (and a frame can start with `{`):
            # text that is not JSON but reads as stacks is stacks.
            if not any(r.sniff(text) for r in text_readers):
                raise
        else:
            return _finish(_read_json(obj, name), name)
    text_progress = None
    if progress is not None:
        total = len(text)

        def text_progress(done: int) -> None:
            progress(done, total)

    for text_reader in text_readers:
        if text_reader.sniff(text):
            return _finish(text_reader.load(text, name, text_progress), name)
    raise ProfileError(f"not a profile in any format bpfscope reads (tried {', '.join(registry.reader_names())})")


def _load_json(text: str) -> object:
    from collectors.formats import trace_event

    try:
        obj: object = json.loads(text)
    except json.JSONDecodeError as e:
        repaired = trace_event.parse_partial(text)
        if repaired is None:
            raise ProfileError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
        obj = repaired
    except RecursionError:
        raise ProfileError("JSON nested too deeply") from None
    except ValueError as e:  # not a JSONDecodeError: a number with more digits than Python converts
        raise ProfileError(f"invalid JSON: {str(e).split(';')[0]}") from None
    return obj


def _read_json(obj: object, name: str) -> ProfileGroup:
    readers = registry.json_readers()
    for reader in readers:
        if reader.sniff(obj):
            return reader.load(obj, name)
    raise ProfileError(f"JSON that is not a profile bpfscope reads (tried {', '.join(r.name for r in readers)})")


def _finish(group: ProfileGroup, name: str) -> ProfileGroup:
    if not group.name:
        group.name = name
    if not group.profiles or not any(p.sample_count for p in group.profiles):
        raise ProfileError("the profile has no samples")
    group.drop_empty()
    for profile in group.profiles:
        _check_totals(profile)
    return group


def _check_totals(profile: Profile) -> None:
    """Every weight is finite, but a profile whose weights add up past what a float holds
    would turn every total and percentage the views show into infinity."""
    try:
        total = math.fsum(profile.weights)
    except OverflowError:
        total = math.inf
    if not math.isfinite(total):
        raise ProfileError(f"the weights of {profile.name!r} add up to more than a number can hold")
    for value in (profile.start_value, profile.end_value, profile.sample_period):
        if value is not None and not math.isfinite(value):
            raise ProfileError(f"{profile.name!r} has a start, end or sample period that is not finite")
