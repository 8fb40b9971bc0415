"""Writing profiles: the format follows the file name, and every write is atomic.

A write goes to a temporary file in the destination's directory and is renamed into
place, so a failed or interrupted write leaves no partial file and never follows a
symlink someone planted at the destination (rename replaces the link itself). When run
under sudo the file is handed to the invoking user, with mode 0644.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from collectors.formats import EXPORTER, registry
from collectors.formats.errors import ProfileError
from collectors.profile import ProfileGroup

__all__ = ["EXPORTER", "format_for_path", "render", "save_profile", "write_atomic"]


def format_for_path(path: str, explicit: str | None = None) -> str:
    """The output format for a file name, by the registered writers' suffixes (`.speedscope.json`/`.json`
    speedscope, `.folded`/`.txt` folded, `.pb.gz`/`.pprof` pprof; `-` the first writer); `explicit`
    (from `--to`) wins."""
    names = registry.writer_names()
    if explicit:
        if explicit not in names:
            raise ProfileError(f"unknown output format {explicit!r} (choose from {', '.join(names)})")
        return explicit
    writer = registry.writer_for_suffix(path)
    if writer is not None:
        return writer.name
    if path == "-":
        return registry.default_writer().name
    suggested = registry.one_of([w.suffixes[0] for w in registry.WRITERS])
    raise ProfileError(f"cannot tell the output format from {path!r}: name it {suggested}, or pass --to")


def render(group: ProfileGroup, fmt: str, out: BinaryIO) -> None:
    """Write `group` in format `fmt` to a binary stream."""
    writer = registry.find_writer(fmt)
    if writer is None:
        raise ProfileError(f"unknown output format {fmt!r}")
    writer.write(group, out)


def save_profile(group: ProfileGroup, path: str, fmt: str | None = None) -> str:
    """Write `group` to `path` (`-` is stdout) atomically; returns the format used."""
    chosen = format_for_path(path, fmt)
    if path == "-":
        render(group, chosen, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return chosen
    write_atomic(Path(path), lambda f: render(group, chosen, f))
    return chosen


def write_atomic(path: Path, fill: Callable[[BinaryIO], None]) -> None:
    """Create `path` with the bytes `fill` writes, all or nothing.

    The temporary file is created with O_EXCL under a random name (a link planted there
    makes creation fail and another name is tried, it is never followed), and its mode and
    owner are set through the open descriptor, so no path is followed after creation.
    """
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fchmod(f.fileno(), 0o644)
            _give_to_sudo_user(f.fileno())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_directory(directory)


def _give_to_sudo_user(fd: int) -> None:
    """Hand the file to the user who ran sudo (SUDO_UID/SUDO_GID), when running as root."""
    if os.geteuid() != 0:
        return
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if uid and uid.isdigit():
        with contextlib.suppress(OSError):
            os.fchown(fd, int(uid), int(gid) if gid and gid.isdigit() else -1)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
