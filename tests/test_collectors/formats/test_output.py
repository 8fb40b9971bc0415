"""Files written as root: `write_atomic` and `save_profile` replace the destination in one rename,
never write through a link someone planted, and give the file to the sudo user with mode 0644."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from collectors.formats.detect import load_profile
from collectors.formats.output import save_profile, write_atomic
from collectors.profile import Frame, FrameKind, ProfileGroup, Unit


def _group() -> ProfileGroup:
    group = ProfileGroup(name="g")
    a = group.frames.intern(Frame("main", None, None, None, FrameKind.USER))
    b = group.frames.intern(Frame("work", None, None, None, FrameKind.USER))
    p = group.new_profile("p", Unit.NONE)
    p.add_sample((a, b), 3.0, None)
    p.add_sample((a,), 1.0, None)
    return group


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n not in keep)


class Boom(Exception):
    pass


def test_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    """When the writer fails half-way, the destination does not appear and no temporary file stays."""
    dest = tmp_path / "out.folded"

    def fill(f: BinaryIO) -> None:
        f.write(b"half a file")
        raise Boom

    with pytest.raises(Boom):
        write_atomic(dest, fill)
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    """A failed write over an existing file leaves that file's content as it was."""
    dest = tmp_path / "out.folded"
    dest.write_bytes(b"old content\n")

    def fill(f: BinaryIO) -> None:
        f.write(b"new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(dest, fill)
    assert dest.read_bytes() == b"old content\n"
    assert _leftovers(tmp_path, {"out.folded"}) == []


def test_write_goes_through_a_temporary_file_then_a_rename(tmp_path: Path) -> None:
    """While the writer runs the destination does not exist yet: the bytes go to a hidden
    temporary file in the same directory."""
    dest = tmp_path / "out.folded"
    seen: list[list[str]] = []

    def fill(f: BinaryIO) -> None:
        f.write(b"a;b 1\n")
        seen.append(os.listdir(tmp_path))

    write_atomic(dest, fill)
    (during,) = seen
    assert len(during) == 1 and during[0].startswith(".out.folded.") and during[0].endswith(".tmp")
    assert os.listdir(tmp_path) == ["out.folded"]
    assert dest.read_bytes() == b"a;b 1\n"


def test_symlink_at_the_destination_is_replaced_not_followed(tmp_path: Path) -> None:
    """A symlink planted at the destination becomes a regular file; the file it pointed to is untouched."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    dest = tmp_path / "out.speedscope.json"
    dest.symlink_to(victim)
    save_profile(_group(), str(dest))
    assert victim.read_bytes() == b"precious\n"
    assert not dest.is_symlink() and dest.is_file()
    assert load_profile(dest).profiles[0].total_weight() == 4.0


def test_dangling_symlink_at_the_destination_creates_nothing_at_its_target(tmp_path: Path) -> None:
    """A dangling symlink at the destination is replaced: no file appears where it pointed."""
    target = tmp_path / "created-by-attacker"
    dest = tmp_path / "out.folded"
    dest.symlink_to(target)
    save_profile(_group(), str(dest))
    assert not target.exists()
    assert not dest.is_symlink() and dest.read_text() == "main;work 3\nmain 1\n"


def test_hard_link_at_the_destination_keeps_its_other_name(tmp_path: Path) -> None:
    """A hard link planted at the destination is unlinked by the rename, not written through."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    dest = tmp_path / "out.folded"
    os.link(victim, dest)
    save_profile(_group(), str(dest))
    assert victim.read_bytes() == b"precious\n"
    assert dest.read_text() == "main;work 3\nmain 1\n"


@pytest.fixture
def planted_temp_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Make the first temporary name tried a symlink to a victim file (as if guessed by an attacker)."""
    names = iter(["planted", "fresh01", "fresh02"])
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: names)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    (tmp_path / ".out.folded.planted.tmp").symlink_to(victim)
    yield victim


def test_symlink_at_the_temporary_name_is_not_followed(tmp_path: Path, planted_temp_name: Path) -> None:
    """A symlink at the temporary file's name is skipped (O_EXCL): its target stays as it was."""
    dest = tmp_path / "out.folded"
    save_profile(_group(), str(dest))
    assert planted_temp_name.read_bytes() == b"precious\n"
    assert dest.read_text() == "main;work 3\nmain 1\n"
    assert (tmp_path / ".out.folded.planted.tmp").is_symlink()


def test_mode_is_0644_whatever_the_umask(tmp_path: Path) -> None:
    """The file is created rw-r--r-- even under a restrictive or permissive umask."""
    for mask in (0o077, 0o000):
        old = os.umask(mask)
        try:
            dest = tmp_path / f"out{mask}.folded"
            save_profile(_group(), str(dest))
        finally:
            os.umask(old)
        assert stat.S_IMODE(dest.stat().st_mode) == 0o644, oct(mask)


@pytest.mark.live
def test_owner_is_the_sudo_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as root under sudo, the file belongs to SUDO_UID:SUDO_GID."""
    if os.geteuid() != 0:
        pytest.fail("this test needs root (CI runs as root): only root can give a file away")
    monkeypatch.setenv("SUDO_UID", "4321")
    monkeypatch.setenv("SUDO_GID", "8765")
    dest = tmp_path / "out.speedscope.json"
    save_profile(_group(), str(dest))
    st = dest.stat()
    assert (st.st_uid, st.st_gid) == (4321, 8765)
    assert stat.S_IMODE(st.st_mode) == 0o644


def test_owner_stays_root_without_sudo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SUDO_UID (or with a non-numeric one) the file keeps the writer as owner."""
    monkeypatch.delenv("SUDO_UID", raising=False)
    dest = tmp_path / "a.folded"
    save_profile(_group(), str(dest))
    assert dest.stat().st_uid == os.geteuid()
    monkeypatch.setenv("SUDO_UID", "1000; rm -rf /")
    dest2 = tmp_path / "b.folded"
    save_profile(_group(), str(dest2))
    assert dest2.stat().st_uid == os.geteuid()


def test_destination_that_is_a_directory_fails_cleanly(tmp_path: Path) -> None:
    """Writing over a directory raises OSError and leaves no temporary file behind."""
    (tmp_path / "out.folded").mkdir()
    with pytest.raises(OSError):
        save_profile(_group(), str(tmp_path / "out.folded"))
    assert os.listdir(tmp_path) == ["out.folded"]
