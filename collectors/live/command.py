"""Launching the command to profile, held at the starting line until sampling is attached.

The child is `/bin/sh`, waiting for a word on a pipe (duplicated onto fd 3), that then
execs the command in the same process: its PID is known before it runs a single
instruction of the command, so the collector can filter on it from the very first
sample. If bpfscope gives up (attach failed, or it died), the pipe closes without the word
and the child exits with status 125 without running the command. `posix_spawn` is used
rather than `fork`, which is unsafe in a process with threads.

Under sudo the command runs as the user who ran sudo (`RunAs.sudo_user`: SUDO_UID, SUDO_GID,
that user's groups, HOME, USER and LOGNAME), as py-spy and rbspy do, not as root: the child
is `setpriv` (util-linux), which sets the real, effective and saved ids and the groups and
then execs the same shell, so the pid is still the command's.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from collectors.live.base import CollectorError, CommandIO, TargetError

_GO = b"go\n"
_TRAMPOLINE = 'IFS= read -r go <&3; exec 3<&-; [ "$go" = go ] || exit 125; exec "$@"'
NOT_STARTED = 125


@dataclass(frozen=True, slots=True)
class RunAs:
    """The user a launched command runs as, instead of root."""

    uid: int
    gid: int
    groups: tuple[int, ...]
    name: str
    home: str

    @classmethod
    def sudo_user(cls, environ: Mapping[str, str] | None = None) -> RunAs | None:
        """The user who ran sudo, when bpfscope runs as root under sudo (None otherwise, or
        when that user is root)."""
        env = os.environ if environ is None else environ
        uid_text, gid_text = env.get("SUDO_UID", ""), env.get("SUDO_GID", "")
        if os.geteuid() != 0 or not uid_text.isdigit() or int(uid_text) == 0:
            return None
        uid = int(uid_text)
        try:
            entry: pwd.struct_passwd | None = pwd.getpwuid(uid)
        except KeyError:
            entry = None
        gid = int(gid_text) if gid_text.isdigit() else entry.pw_gid if entry else uid
        name = entry.pw_name if entry else env.get("SUDO_USER") or str(uid)
        groups = tuple(os.getgrouplist(name, gid)) if entry else (gid,)
        return cls(uid, gid, groups, name, entry.pw_dir if entry else "/")

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        return {**base, "HOME": self.home, "USER": self.name, "LOGNAME": self.name}

    def argv(self) -> list[str]:
        """The `setpriv` prefix that drops to this user (real, effective and saved ids)."""
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise TargetError(f"setpriv (util-linux) is needed to run the command as {self.name}; "
                              "install util-linux, or give --as-root")
        groups = f"--groups={','.join(map(str, self.groups))}" if self.groups else "--clear-groups"
        return [setpriv, f"--reuid={self.uid}", f"--regid={self.gid}", groups, "--"]


class HeldCommand:
    """A command started but held before `exec` until `release()`."""

    def __init__(self, argv: Sequence[str], io: CommandIO | None = None, run_as: RunAs | None = None) -> None:
        """`io`: file descriptors for the command's standard streams (default: inherit ours);
        `run_as`: the user to run it as (default: ours)."""
        if not argv:
            raise TargetError("no command to run was given")
        if shutil.which(argv[0]) is None:
            raise TargetError(f"command not found: {argv[0]}")
        prefix = run_as.argv() if run_as is not None else []
        env = run_as.environment(os.environ) if run_as is not None else dict(os.environ)
        read_end, self._write_end = os.pipe()
        actions: list[tuple[int, int, int] | tuple[int, int]] = []
        io = io or CommandIO()
        for fd, target in ((io.stdin, 0), (io.stdout, 1), (io.stderr, 2)):
            if fd is not None:
                actions.append((os.POSIX_SPAWN_DUP2, fd, target))
        # The pipe goes to fd 3 last: a stream given as fd 3 (the TUI opens the command's log
        # first, so it often is) must reach 0-2 before fd 3 is overwritten.
        actions.append((os.POSIX_SPAWN_DUP2, read_end, 3))
        try:
            shell = ["/bin/sh", "-c", _TRAMPOLINE, "sh", *argv]
            self.pid = os.posix_spawn(prefix[0] if prefix else shell[0], [*prefix, *shell], env,
                                      file_actions=actions)
        except OSError as e:
            os.close(self._write_end)
            raise CollectorError(f"cannot start {argv[0]}: {e.strerror or e}") from None
        finally:
            os.close(read_end)
        self.argv = tuple(argv)
        self.run_as = run_as
        self.returncode: int | None = None

    def release(self) -> None:
        """Let the command run."""
        if self._write_end >= 0:
            try:
                os.write(self._write_end, _GO)
            finally:
                self._close_pipe()

    def abandon(self) -> None:
        """Make the held child exit without running the command."""
        self._close_pipe()
        self.wait(2.0)

    def _close_pipe(self) -> None:
        if self._write_end >= 0:
            os.close(self._write_end)
            self._write_end = -1

    def poll(self) -> int | None:
        """The exit status once the command has ended (negative: killed by that signal)."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.returncode

    def terminate(self, grace: float = 1.0) -> None:
        """End the command if it still runs: SIGTERM, then SIGKILL after `grace` seconds."""
        self._close_pipe()
        if self.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        if self.wait(grace) is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.wait(grace)

    def describe_exit(self) -> str:
        code = self.returncode
        if code is None:
            return "the command is still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the command was killed by {name}"
        return f"the command exited with status {code}"
