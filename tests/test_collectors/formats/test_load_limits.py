"""load_profile on files that are not plain files, or say nothing true about their size."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from collectors.formats import detect
from collectors.formats.detect import LoadError, load_profile


def test_a_device_is_refused_without_reading() -> None:
    """/dev/zero (endless) is refused as a device, at once, rather than read into memory."""
    with pytest.raises(LoadError, match="is a device, not a profile"):
        load_profile("/dev/zero")


def _fifo_with(tmp_path: Path, data: bytes) -> Path:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def feed() -> None:
        # The reader may stop at its limit: a broken pipe is then expected.
        with contextlib.suppress(BrokenPipeError), open(fifo, "wb") as f:
            f.write(data)

    threading.Thread(target=feed, daemon=True).start()
    return fifo


def test_a_pipe_is_read_like_a_file(tmp_path: Path) -> None:
    """A FIFO (as `<(perf script)` gives) reports size 0 but is read to its end."""
    group = load_profile(_fifo_with(tmp_path, b"main;work 3\nmain 1\n"))
    assert group.profiles[0].total_weight() == 4.0


def test_a_pipe_longer_than_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The byte limit holds however little the file's size claims: reading stops one byte past it."""
    monkeypatch.setattr(detect, "MAX_FILE_BYTES", 64)
    with pytest.raises(LoadError, match="larger than bpfscope reads"):
        load_profile(_fifo_with(tmp_path, b"main;work 1\n" * 100))
