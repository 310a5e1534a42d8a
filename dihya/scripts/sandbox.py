"""One script process in a sandbox: an argument list (never a shell), a clean environment, a fresh
working directory, resource limits, its own session and process group, stdin closed and, when the
bot runs as root, an unprivileged user (root ignores RLIMIT_NPROC, so a fork bomb run as root would
not be capped).

The limits are set by a tiny launcher (``python -I -S -c``) that calls ``setrlimit`` and then
``exec``s the interpreter, so nothing runs in the forked child of this multi-threaded process
(``preexec_fn`` is unsafe with threads). Output is read as it comes, bounded: the last lines for
progress, the head and tail of the whole output for the log, and a total beyond which the run is
killed. The timeout, a cancel or too much output end the whole process group: SIGTERM, then SIGKILL
after a grace period, until no process of the group is left.

It imports nothing but the standard library at run time: the remote-target Ansible module ships it
to the server as a module utility and runs scripts there with the same code.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import select
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for typing: this module runs on remote hosts too (dihya/scripts/remote), stdlib alone
    from bot.scripts import Limits

LAUNCHER = (
    "import os,resource as r,sys\n"
    "cpu,mem,fsize,nproc=(int(v) for v in sys.argv[1:5])\n"
    "r.setrlimit(r.RLIMIT_CPU,(cpu,cpu+1))\n"
    "r.setrlimit(r.RLIMIT_AS,(mem,mem))\n"
    "r.setrlimit(r.RLIMIT_FSIZE,(fsize,fsize))\n"
    "r.setrlimit(r.RLIMIT_NPROC,(nproc,nproc))\n"
    "r.setrlimit(r.RLIMIT_CORE,(0,0))\n"
    "r.setrlimit(r.RLIMIT_NOFILE,(256,256))\n"
    "os.nice(10)\n"
    "os.execv(sys.argv[6],sys.argv[6:])\n"
)
_CHUNK = 65536
_POLL_S = 0.1
_PROGRESS_EVERY_S = 0.5
_MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SandboxUser:
    uid: int
    gid: int

    @classmethod
    def named(cls, name: str) -> SandboxUser:
        entry = pwd.getpwnam(name)  # KeyError when there is no such user
        return cls(entry.pw_uid, entry.pw_gid)


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: Path
    limits: Limits
    timeout_s: float
    user: SandboxUser | None = None  # None: run as this process's user
    kill_grace_s: float = 2.0
    tail_lines: int = 20
    log_bytes: int = 128 * 1024  # the log keeps this much: the first half and the last half of the output
    line_chars: int = 1000


@dataclass(slots=True)
class SandboxOutcome:
    returncode: int | None  # the exit status; negative: the signal that ended it
    ended: str  # exited | stragglers (it exited, leaving processes behind) | timeout | cancelled | output_limit
    tail: list[str]
    log: str
    output_bytes: int
    leftovers: int = 0  # processes of the group still found after the final SIGKILL (should be 0)


@dataclass(slots=True)
class _Output:
    """The output so far, bounded: the head and the tail for the log, the last lines for progress."""

    log_bytes: int
    tail_lines: int
    line_chars: int
    total: int = 0
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    lines: deque[str] = field(default_factory=deque)
    partial: bytearray = field(default_factory=bytearray)
    new_lines: bool = False

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self._split(chunk)
        half = self.log_bytes // 2
        room = half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > half:
            del self.tail[: len(self.tail) - half]

    def _split(self, chunk: bytes) -> None:
        *complete, rest = (bytes(self.partial) + chunk).split(b"\n")
        for raw in complete[-self.tail_lines:]:  # only the last lines can be kept
            self._line(raw)
        self.partial = bytearray(rest[: self.line_chars * 4])  # a line without an end stays bounded

    def _line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        self.lines.append(text[: self.line_chars])
        if len(self.lines) > self.tail_lines:
            self.lines.popleft()
        self.new_lines = True

    def finish(self) -> None:
        if self.partial:
            self._line(bytes(self.partial))
            self.partial.clear()

    def text(self) -> str:
        dropped = self.total - len(self.head) - len(self.tail)
        head = self.head.decode("utf-8", errors="replace")
        if dropped <= 0:
            return head + self.tail.decode("utf-8", errors="replace")
        marker = f"\n[… {dropped} bytes of output not kept …]\n"
        return head + marker + self.tail.decode("utf-8", errors="replace")


def run_sandboxed(spec: SandboxSpec, cancelled: Callable[[], bool],
                  progress: Callable[[list[str]], None]) -> SandboxOutcome:
    """Run to the end (or the limit); never leaves a process of its group behind."""
    user, group = _identity(spec.user)
    process = subprocess.Popen(  # noqa: S603 - an argument list we built; no shell
        _launcher_argv(spec), env=dict(spec.env), cwd=spec.cwd, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
        user=user, group=group, extra_groups=None if user is None else [])
    assert process.stdout is not None
    output = _Output(spec.log_bytes, spec.tail_lines, spec.line_chars)
    ended = _pump(process, spec, output, cancelled, progress)
    leftovers = _end_group(process, spec.kill_grace_s if ended in ("timeout", "cancelled") else 0.0)
    _drain(process, output)
    output.finish()
    return SandboxOutcome(process.returncode, ended, list(output.lines), output.text(), output.total, leftovers)


def _launcher_argv(spec: SandboxSpec) -> list[str]:
    limits = spec.limits
    nproc = limits.processes + _processes_of(spec.user.uid if spec.user else os.getuid())
    numbers = (limits.cpu_seconds, limits.memory_mb * _MB, limits.file_mb * _MB, nproc)
    python = os.path.realpath(sys.executable)  # the real interpreter: a venv may not be readable by the sandbox user
    return [python, "-I", "-S", "-c", LAUNCHER, *(str(n) for n in numbers), "--", *spec.argv]


def _identity(user: SandboxUser | None) -> tuple[int | None, int | None]:
    """Only root may (and must) switch to the sandbox user."""
    if user is None or os.getuid() != 0:
        return None, None
    return user.uid, user.gid


def _processes_of(uid: int) -> int:
    """How many processes ``uid`` already has: RLIMIT_NPROC counts them all, so the cap sits above them."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                continue
    return count


def _pump(process: subprocess.Popen[bytes], spec: SandboxSpec, output: _Output,
          cancelled: Callable[[], bool], progress: Callable[[list[str]], None]) -> str:
    assert process.stdout is not None
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    deadline = time.monotonic() + spec.timeout_s
    reported, open_pipe = 0.0, True
    while True:
        if open_pipe and select.select([fd], [], [], _POLL_S)[0]:
            chunk = os.read(fd, _CHUNK)
            open_pipe = bool(chunk)
            output.feed(chunk)
            if output.total > spec.limits.output_bytes:
                return "output_limit"
        elif not open_pipe:
            time.sleep(_POLL_S)  # it closed its output and works on
        if process.poll() is not None:
            # Anything it started in the background is ended with it; saying so makes the run fail.
            return "stragglers" if _group_members(process.pid) else "exited"
        now = time.monotonic()
        if output.new_lines and now - reported >= _PROGRESS_EVERY_S:
            output.new_lines, reported = False, now
            progress(list(output.lines))
        if now >= deadline:
            return "timeout"
        if cancelled():
            return "cancelled"


def _end_group(process: subprocess.Popen[bytes], grace_s: float) -> int:
    """SIGTERM (when there is a grace period), then SIGKILL, until the group is empty; waits for the leader."""
    pgid = process.pid
    if grace_s > 0:
        _signal_group(pgid, signal.SIGTERM)
        end = time.monotonic() + grace_s
        while time.monotonic() < end and _group_members(pgid):
            time.sleep(0.05)
    for _ in range(100):  # a fork bomb may fork between two signals: repeat until nothing is left
        _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.05)
        if not _group_members(pgid):
            break
    process.wait()
    return len(_group_members(pgid))


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of the process group, read from /proc."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            found.append(int(entry.name))
    return found


def _drain(process: subprocess.Popen[bytes], output: _Output) -> None:
    """What the group wrote before it ended, without waiting on a pipe a stray child might hold."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    for _ in range(64):
        ready, _, _ = select.select([fd], [], [], 0)
        if not ready:
            break
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:
            break
        if not chunk:
            break
        output.feed(chunk)
    process.stdout.close()
