"""Reading a profiled process's files as root without trusting the process.

bpfscope runs as root over processes that may belong to anyone. Every file read on behalf
of a target (its perf map, the ELF files it has mapped, their debug links, anything under
`/proc/PID/root`) is a file the target can influence: it can plant a symlink to a
root-only file, a FIFO that blocks the reader forever, or a huge sparse file. So every
such read goes through `open_target_file`, which:

- resolves the path inside the target's root (`openat2` with `RESOLVE_IN_ROOT` on
  `/proc/PID/root`): an absolute symlink cannot lead out of a container into the
  profiler's file system, and no magic link (`/proc/self/...`) is followed;
- resolves it with the target's file-system uid and gid (`setfsuid`, which is per thread),
  so directories the target cannot search stay closed to it;
- opens the file with `O_PATH` first (no side effects: no FIFO waits, no device opens) and
  goes on only for a regular file owned by root or by the target's user, whose mode lets
  the target's user read it, and no larger than the caller's cap;
- reopens that very inode for reading, non-blocking, and reads at most the cap.

A refusal raises `TargetFileError`, which says why in a short sentence; callers treat it
as "no symbols from there" and go on.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass

SYS_OPENAT2 = 437  # x86-64 and arm64 (generic syscall table) alike
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10
O_PATH = getattr(os, "O_PATH", 0o10000000)

DEFAULT_MAX_BYTES = 512 << 20
"""The largest file read for a target unless the caller says otherwise (ELF files)."""


class TargetFileError(OSError):
    """A target's file was refused or could not be read (the message says which and why)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """Who the target is, as far as reading files goes."""

    uid: int
    gid: int
    groups: frozenset[int]

    @classmethod
    def of(cls, pid: int) -> Credentials:
        """The target's real uid, gid and supplementary groups, from /proc/PID/status."""
        uid = gid = -1
        groups: frozenset[int] = frozenset()
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                for line in f.read(1 << 16).splitlines():
                    key, _, value = line.partition(b":")
                    fields = value.split()
                    if key == b"Uid" and fields:
                        uid = int(fields[0])
                    elif key == b"Gid" and fields:
                        gid = int(fields[0])
                    elif key == b"Groups":
                        groups = frozenset(int(g) for g in fields)
        except (OSError, ValueError) as e:
            raise TargetFileError(errno.ESRCH, f"process {pid} cannot be read: {e}") from None
        if uid < 0 or gid < 0:
            raise TargetFileError(errno.ESRCH, f"process {pid} has no credentials in its status")
        return cls(uid, gid, groups | {gid})

    def may_read(self, st: os.stat_result) -> bool:
        """Whether these credentials may read a file with that owner and mode."""
        if self.uid == 0:
            return True
        if st.st_uid == self.uid:
            return bool(st.st_mode & stat.S_IRUSR)
        if st.st_gid in self.groups:
            return bool(st.st_mode & stat.S_IRGRP)
        return bool(st.st_mode & stat.S_IROTH)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.syscall.restype = ctypes.c_long
_fs_lock = threading.Lock()


@contextlib.contextmanager
def _as_target(creds: Credentials) -> Iterator[None]:
    """File-system uid/gid of the target for the calling thread, when running as root.

    setfsuid changes only the calling thread's credentials (glibc does not broadcast it),
    and dropping fsuid from 0 drops the file capabilities (CAP_DAC_OVERRIDE...) with it;
    the lock keeps two readers of ours from interleaving on one thread pool."""
    if os.geteuid() != 0 or creds.uid == 0:
        yield
        return
    with _fs_lock:
        _libc.setfsgid(creds.gid)
        _libc.setfsuid(creds.uid)
        try:
            yield
        finally:
            _libc.setfsuid(0)
            _libc.setfsgid(0)


def _openat2(dirfd: int, path: str, flags: int, resolve: int) -> int:
    how = _OpenHow(flags, 0, resolve)
    fd = _libc.syscall(SYS_OPENAT2, dirfd, os.fsencode(path), ctypes.byref(how), ctypes.sizeof(how))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return int(fd)


def target_root(pid: int) -> int:
    """An `O_PATH` fd of the target's root directory (its container's `/`)."""
    try:
        return os.open(f"/proc/{pid}/root", O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise TargetFileError(e.errno or errno.ESRCH, f"process {pid}'s root cannot be opened: {e.strerror}") from None


def open_target_file(pid: int, path: str, max_bytes: int = DEFAULT_MAX_BYTES,
                     creds: Credentials | None = None) -> int:
    """A read-only, non-blocking fd of `path` as the target process `pid` sees it.

    `path` is absolute in the target's mount namespace (as /proc/PID/maps names it). Raises
    `TargetFileError` for anything but a regular file of at most `max_bytes` that the
    target's user may read and that root or that user owns."""
    if not path.startswith("/") or "\0" in path:
        raise TargetFileError(errno.EINVAL, f"not an absolute path: {path!r}")
    creds = creds or Credentials.of(pid)
    root = target_root(pid)
    try:
        with _as_target(creds):
            try:
                pfd = _openat2(root, path.lstrip("/") or ".", O_PATH | os.O_CLOEXEC,
                               RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
            except OSError as e:
                raise TargetFileError(e.errno or errno.EIO, f"{path}: {e.strerror}") from None
    finally:
        os.close(root)
    try:
        return _reopen_checked(pfd, path, max_bytes, creds)
    finally:
        os.close(pfd)


def _reopen_checked(pfd: int, path: str, max_bytes: int, creds: Credentials) -> int:
    st = os.fstat(pfd)
    check_file(st, path, max_bytes, creds)
    check_file_system(pfd, path)
    # Reopening through our own fd's magic link opens this very inode (no race with a
    # rename or a new symlink at `path`), now for reading and never blocking (O_NONBLOCK
    # also keeps a lease the target holds on its own file from stalling the open). It is
    # opened as the target, so the kernel's own access checks (ACLs, LSMs) apply as to it.
    try:
        with _as_target(creds):
            fd = os.open(f"/proc/self/fd/{pfd}", os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as e:
        raise TargetFileError(e.errno or errno.EIO, f"{path}: {e.strerror}") from None
    again = os.fstat(fd)
    if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):
        os.close(fd)
        raise TargetFileError(errno.EXDEV, f"{path} changed while it was opened")
    return fd


def check_file(st: os.stat_result, path: str, max_bytes: int, creds: Credentials) -> None:
    """Raise `TargetFileError` unless `st` is a regular file the target may hand us."""
    if not stat.S_ISREG(st.st_mode):
        raise TargetFileError(errno.EINVAL, f"{path} is not a regular file")
    if st.st_uid not in (0, creds.uid):
        raise TargetFileError(errno.EACCES, f"{path} belongs to neither root nor the target's user")
    if not creds.may_read(st):
        raise TargetFileError(errno.EACCES, f"{path} is not readable by the target's user")
    if st.st_size > max_bytes:
        raise TargetFileError(errno.EFBIG, f"{path} is larger than {max_bytes} bytes")


_PSEUDO_FILE_SYSTEMS = {
    0x9FA0: "procfs", 0x62656572: "sysfs", 0x64626720: "debugfs", 0x74726163: "tracefs",
    0x73636673: "securityfs", 0x27E0EB: "cgroup", 0x63677270: "cgroup2", 0xCAFE4A11: "bpffs",
    0x62656570: "configfs", 0x65735546: "FUSE", 0x6E736673: "nsfs", 0x50495045: "pipefs",
}
"""File systems whose files are never a perf map or an ELF file a target runs: procfs and
sysfs check access when a file is opened (as root, /proc/self/... would be bpfscope's own),
and a FUSE file system's server, which an unprivileged user can run in a user namespace,
can make a read block forever."""


class _StatFs(ctypes.Structure):
    _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_byte * 112)]


def check_file_system(fd: int, path: str) -> None:
    """Raise `TargetFileError` if `fd` lies on a pseudo or user-space file system."""
    buf = _StatFs()
    if _libc.fstatfs(fd, ctypes.byref(buf)) != 0:
        err = ctypes.get_errno()
        raise TargetFileError(err, f"{path}: {os.strerror(err)}")
    kind = _PSEUDO_FILE_SYSTEMS.get(buf.f_type & 0xFFFFFFFF)
    if kind is not None:
        raise TargetFileError(errno.EACCES, f"{path} is on {kind}, which bpfscope does not read for a target")


def read_fd(fd: int, max_bytes: int, path: str = "file") -> bytes:
    """At most `max_bytes` from `fd` (an error if there is more: a file that grew past its cap)."""
    chunks: list[bytes] = []
    left = max_bytes + 1
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    if left <= 0:
        raise TargetFileError(errno.EFBIG, f"{path} is larger than {max_bytes} bytes")
    return b"".join(chunks)


def read_target_file(pid: int, path: str, max_bytes: int = DEFAULT_MAX_BYTES,
                     creds: Credentials | None = None) -> bytes:
    """The bytes of `path` as the target sees it, under `open_target_file`'s rules."""
    fd = open_target_file(pid, path, max_bytes, creds)
    try:
        return read_fd(fd, max_bytes, path)
    finally:
        os.close(fd)


def open_mapped_file(pid: int, start: int, end: int, path: str, max_bytes: int = DEFAULT_MAX_BYTES,
                     creds: Credentials | None = None) -> int:
    """A read-only fd of the file the target has mapped at `start`-`end` (as /proc/PID/maps
    lists it): the mapped inode itself through /proc/PID/map_files, whatever now lies at
    `path`; `path` through `open_target_file` where map_files cannot be read (not root)."""
    creds = creds or Credentials.of(pid)
    try:
        pfd = os.open(f"/proc/{pid}/map_files/{start:x}-{end:x}", O_PATH | os.O_CLOEXEC)
    except OSError:
        return open_target_file(pid, path, max_bytes, creds)
    try:
        return _reopen_checked(pfd, path, max_bytes, creds)
    finally:
        os.close(pfd)


def namespace_pid(pid: int) -> int:
    """`pid` as its own pid namespace numbers it (the last NSpid field): the number in
    the name of its perf map, /tmp/perf-NSPID.map inside its root."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f.read(1 << 16).splitlines():
                if line.startswith(b"NSpid:"):
                    fields = line.split()[1:]
                    if fields:
                        return int(fields[-1])
    except (OSError, ValueError):
        pass
    return pid
