"""`target_files` refuses what a hostile, unprivileged target plants, and reads what it may.

Each test starts a real target as `nobody` (setpriv) and asks for a file the way the
symbolizer does (the path as the target names it): a symlink to a root-only file, an
absolute symlink meant to escape the target's mount namespace or chroot, a FIFO, a
device, a socket, a 64 GiB sparse file, a file of another user, a directory the target
cannot search, and a file swapped during the open. Root: runs in CI.
"""

from __future__ import annotations

import errno
import os
import shlex
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from collectors.live import target_files
from collectors.live.target_files import (
    Credentials,
    TargetFileError,
    open_mapped_file,
    open_target_file,
    read_target_file,
)
from tests.test_collectors.live.hostile import (
    NOBODY,
    SECRET,
    as_nobody,
    only_child,
    require_tools,
    root_secret,
    shared_dir,
    sleeper,
    unprivileged,
)

pytestmark = pytest.mark.live


@pytest.fixture
def box() -> Iterator[Path]:
    require_tools()
    with shared_dir() as d:
        yield d


@pytest.fixture
def target(box: Path) -> Iterator[int]:
    with unprivileged(sleeper()) as proc:
        yield proc.pid


def _read(pid: int, path: Path | str, max_bytes: int = 1 << 20) -> bytes:
    """read_target_file on a thread, so a read that blocks fails the test instead of hanging it."""
    result: list[bytes | BaseException] = []

    def run() -> None:
        try:
            result.append(read_target_file(pid, str(path), max_bytes))
        except BaseException as e:  # handed back to the test
            result.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(30)
    assert result, f"reading {path} for the target blocked"
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def test_the_target_is_unprivileged(target: int) -> None:
    """The premise: the target runs as nobody, and Credentials sees that."""
    creds = Credentials.of(target)
    assert creds.uid == NOBODY and creds.groups == frozenset({creds.gid})


def test_its_own_file_and_a_public_root_file_are_read(box: Path, target: int) -> None:
    mine = box / "perf.map"
    mine.write_text("401000 10 hot\n")
    as_nobody(mine)
    public = box / "public.txt"
    public.write_text("public\n")
    assert _read(target, mine) == b"401000 10 hot\n"
    assert _read(target, public) == b"public\n"


def test_a_symlink_to_a_root_only_file_is_refused(box: Path, target: int) -> None:
    secret = root_secret(box)
    link = box / "perf-1.map"
    link.symlink_to(secret)
    as_nobody(link)
    with pytest.raises(TargetFileError, match="not readable by the target's user"):
        _read(target, link)
    hard = box / "hard.map"  # a hard link (protected_hardlinks off) is the same inode: same refusal
    os.link(secret, hard)
    with pytest.raises(TargetFileError):
        _read(target, hard)


def test_a_file_of_another_user_is_refused(box: Path, target: int) -> None:
    other = box / "other.map"
    other.write_text(f"401000 10 {SECRET}\n")
    os.chmod(other, 0o644)
    os.chown(other, 4242, 4242)
    with pytest.raises(TargetFileError, match="neither root nor the target's user"):
        _read(target, other)


def test_a_directory_the_target_cannot_search_stays_closed(box: Path, target: int) -> None:
    closed = box / "closed"
    closed.mkdir(mode=0o700)
    os.chown(closed, 0, 0)
    inside = closed / "public.map"
    inside.write_text(f"401000 10 {SECRET}\n")
    os.chmod(inside, 0o644)
    with pytest.raises(TargetFileError) as caught:
        _read(target, inside)
    assert caught.value.errno == errno.EACCES


@pytest.mark.parametrize("kind", ["fifo", "device", "socket", "directory"])
def test_anything_but_a_regular_file_is_refused_without_blocking(box: Path, target: int, kind: str) -> None:
    path = box / f"perf-{kind}.map"
    listener = None
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
        as_nobody(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")  # never ends
    elif kind == "socket":
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(path))
        as_nobody(path)
    else:
        path.mkdir()
    try:
        with pytest.raises(TargetFileError, match="not a regular file"):
            _read(target, path)
    finally:
        if listener is not None:
            listener.close()


def test_a_sparse_giant_file_is_refused_by_its_size(box: Path, target: int) -> None:
    huge = box / "huge.map"
    with open(huge, "wb") as f:
        f.truncate(64 << 30)
    as_nobody(huge)
    with pytest.raises(TargetFileError, match="larger than"):
        _read(target, huge, max_bytes=64 << 20)


def test_a_file_that_grows_past_its_cap_while_read_is_cut_off(box: Path, target: int) -> None:
    """The size is checked before the read; the read itself stops at the cap too."""
    path = box / "grows.map"
    path.write_bytes(b"x" * 100)
    as_nobody(path)
    fd = open_target_file(target, str(path), max_bytes=200)
    try:
        with open(path, "ab") as f:
            f.write(b"y" * 1000)
        with pytest.raises(TargetFileError, match="larger than 200 bytes"):
            target_files.read_fd(fd, 200, str(path))
    finally:
        os.close(fd)


def test_a_pseudo_file_is_refused(box: Path, target: int) -> None:
    """/proc/1/maps is 0444 and root's: reading it as root would hand the target init's
    layout. The target could only name it through its own root, and it is refused."""
    link = box / "perf-proc.map"
    link.symlink_to("/proc/1/maps")
    with pytest.raises(TargetFileError):
        _read(target, link)
    with pytest.raises(TargetFileError):
        _read(target, "/proc/1/environ")
    with pytest.raises(TargetFileError, match="procfs"):  # /proc/self is bpfscope itself, as root
        _read(target, "/proc/self/maps")
    with pytest.raises(TargetFileError, match="sysfs"):
        _read(target, "/sys/kernel/notes")


def test_a_file_replaced_during_the_open_is_the_one_checked(box: Path, target: int,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The path is resolved once: swapping it for a link to a root-only file between the
    resolution and the read changes nothing (the checked inode is the one read)."""
    secret = root_secret(box)
    path = box / "swapped.map"
    path.write_text("401000 10 innocent\n")
    as_nobody(path)
    real_openat2: Callable[[int, str, int, int], int] = target_files._openat2

    def openat2_then_swap(dirfd: int, name: str, flags: int, resolve: int) -> int:
        fd = real_openat2(dirfd, name, flags, resolve)
        path.unlink()
        path.symlink_to(secret)
        return fd

    monkeypatch.setattr(target_files, "_openat2", openat2_then_swap)
    assert _read(target, path) == b"401000 10 innocent\n"


def test_a_mapped_file_is_the_mapped_inode_whatever_its_path_now_holds(box: Path) -> None:
    """open_mapped_file reads through /proc/PID/map_files: a target that maps a file and then
    puts a link to a root-only file at its path gets its own file read, not the secret."""
    secret = root_secret(box)
    mapped = box / "lib.so"
    mapped.write_bytes(b"\x7fELF" + b"\0" * 4092)
    as_nobody(mapped)
    script = (f"import mmap, os, sys, time\n"
              f"f = open({str(mapped)!r}, 'rb'); m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\n"
              f"os.unlink({str(mapped)!r}); os.symlink({str(secret)!r}, {str(mapped)!r})\n"
              f"print('ready', flush=True); time.sleep(120)\n")
    with unprivileged(["/usr/bin/python3", "-c", script]) as proc:
        with open(f"/proc/{proc.pid}/maps") as f:
            line = next(ln for ln in f if str(mapped) in ln)
        start, end = (int(x, 16) for x in line.split()[0].split("-"))
        fd = open_mapped_file(proc.pid, start, end, str(mapped), 1 << 20)
        try:
            assert os.read(fd, 4) == b"\x7fELF"
        finally:
            os.close(fd)
        with pytest.raises(TargetFileError):  # the path itself now leads to the secret
            _read(proc.pid, mapped)


def _start_contained(script: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--kill-child", "sh", "-c", script],
                            stdout=subprocess.PIPE, text=True)


def test_an_absolute_symlink_cannot_escape_a_mount_namespace(box: Path) -> None:
    """The target's `private` is its own tmpfs; its link names a host file (world-readable,
    so only the root confinement stands in the way). Resolved in the target's root it is
    missing; a naive open of /proc/PID/root/... would have read the host file."""
    private = box / "private"
    private.mkdir()
    host = private / "host-only.map"  # hidden under the target's tmpfs, seen by us
    host.write_text(f"401000 10 {SECRET}\n")
    os.chmod(host, 0o644)
    q = shlex.quote
    script = (f"mount -t tmpfs -o mode=1777 none {q(str(private))} && "
              f"ln -s {q(str(host))} {q(str(private / 'perf-1.map'))} && "
              f"exec setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c 'echo ready; exec sleep 120'")
    proc = _start_contained(script)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        pid = only_child(proc.pid)
        naive = Path(f"/proc/{pid}/root{private}/perf-1.map")
        assert SECRET in naive.read_text()  # the attack works without the guard
        with pytest.raises(TargetFileError) as caught:
            _read(pid, private / "perf-1.map")
        assert caught.value.errno == errno.ENOENT
    finally:
        proc.kill()
        proc.wait()


def test_an_absolute_symlink_cannot_escape_a_chroot(box: Path) -> None:
    """A chrooted target's `/etc/hostname`-style absolute link resolves inside its chroot."""
    root = box / "root"
    (root / "usr").mkdir(parents=True)
    for name in ("bin", "lib", "lib64", "sbin"):
        (root / name).symlink_to(f"usr/{name}")
    (root / "tmp").mkdir(mode=0o1777)
    os.chmod(root / "tmp", 0o1777)
    host = box / "host.map"
    host.write_text(f"401000 10 {SECRET}\n")
    os.chmod(host, 0o644)
    inside = root / str(host).lstrip("/")  # the same path within the chroot: a decoy
    inside.parent.mkdir(parents=True)
    inside.write_text("401000 10 decoy\n")
    os.chmod(inside, 0o644)
    (root / "tmp" / "perf-1.map").symlink_to(str(host))
    q = shlex.quote
    script = (f"mount --bind /usr {q(str(root / 'usr'))} && "
              f"exec chroot {q(str(root))} /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups "
              f"/usr/bin/sh -c 'echo ready; exec /usr/bin/sleep 120'")
    proc = _start_contained(script)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        pid = only_child(proc.pid)
        assert os.readlink(f"/proc/{pid}/root") == str(root)
        assert _read(pid, "/tmp/perf-1.map") == b"401000 10 decoy\n"
    finally:
        proc.kill()
        proc.wait()


def test_the_thread_is_root_again_after_a_read(box: Path, target: int) -> None:
    """setfsuid is per thread: after reading as the target, this thread reads root's files again."""
    secret = root_secret(box)
    with pytest.raises(TargetFileError):
        _read(target, secret)
    with pytest.raises(TargetFileError):
        read_target_file(target, str(secret))
    assert SECRET in secret.read_text()
