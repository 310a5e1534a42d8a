"""``ScriptRunner``: run one catalogued Python, Bash or Node.js script on this machine, as a job.

The file is copied out of the content directory into a fresh working directory while its bytes are
hashed against the integrity manifest (a changed file is refused), then run in the sandbox as
``INTERPRETER FILE --NAME=VALUE …`` with the declared variables and secrets as its only environment.
Its output is kept bounded and comes back as the job's log (redacted by the job executor, like
everything a job records); the last lines are its progress and, on the end, the thread's excerpt.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from bot.i18n import N_, Msg
from bot.scripts import Script
from bot.text import clip, neutralise
from dihya.integrity import Manifest
from dihya.runners.base import CancelToken, Progress, ProgressSink, RunnerError, RunResult
from dihya.scripts.sandbox import SandboxOutcome, SandboxSpec, SandboxUser, run_sandboxed

EXCERPT_LINES = 12
PROGRESS_CHARS = 200
_BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
_MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "out of memory", "heap out of memory",
                 "Allocation failed")
_SIGNALS = {9: "SIGKILL", 24: "SIGXCPU", 25: "SIGXFSZ", 6: "SIGABRT", 11: "SIGSEGV", 15: "SIGTERM"}


def interpreters() -> dict[str, tuple[str, ...]]:
    """The argv prefix per language, with real paths (the sandbox user may not read a venv or a shim)."""
    found: dict[str, tuple[str, ...]] = {"python": (os.path.realpath(sys.executable), "-I")}
    bash = shutil.which("bash")
    if bash:
        found["bash"] = (os.path.realpath(bash), "--noprofile", "--norc")
    node = shutil.which("node")
    if node:
        found["node"] = (os.path.realpath(node),)
    return found


class ScriptRunner:
    def __init__(self, content_root: Path, manifest_loader: Callable[[], Manifest],
                 secrets: Callable[[str], str | None] | None = None, user: SandboxUser | None = None,
                 kill_grace_s: float = 2.0, work_root: Path | None = None) -> None:
        self._content = content_root
        self._manifest = manifest_loader
        self._secret = secrets
        self._user = user
        self._grace = kill_grace_s
        self._work_root = work_root
        self._interpreters = interpreters()

    def run(self, script: Script, params: Mapping[str, object], progress: ProgressSink,
            cancel: CancelToken, job_id: int) -> RunResult:
        prefix = self._interpreters.get(script.language)
        if prefix is None:
            raise RunnerError(Msg(N_("The {language} interpreter is not installed on this worker."),
                                  {"language": script.language}))
        env = self._environment(script)
        workdir = Path(tempfile.mkdtemp(prefix="dihya-script-", dir=self._work_root))
        try:
            copy = workdir / Path(script.file).name
            self._manifest().copy_verified(self._content, script.path, copy)
            self._hand_over(workdir, copy)
            argv = (*prefix, str(copy), *(f"--{name}={value}" for name, value in params.items()))
            spec = SandboxSpec(argv, {**env, "HOME": str(workdir), "TMPDIR": str(workdir)}, workdir,
                               script.limits, script.timeout_s, self._user, self._grace)
            return result_of(script, job_id, run_sandboxed(spec, cancel.cancelled, _reporter(script, progress)))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _environment(self, script: Script) -> dict[str, str]:
        """Only what the script declares: its plain variables and its secrets, over a minimal base."""
        env = {"PATH": _BASE_PATH, "LANG": "C.UTF-8", **script.env}
        for name in script.secrets:
            value = self._secret(name) if self._secret is not None else None
            if value is None:
                raise RunnerError(Msg(N_("The secret {name} that {service} needs is not set (“secret set” in a "
                                         "direct message)."), {"name": name, "service": script.name}))
            env[name] = value
        return env

    def _hand_over(self, workdir: Path, copy: Path) -> None:
        """The sandbox user owns its working directory and may only read the script."""
        copy.chmod(0o444)
        if self._user is not None and os.getuid() == 0:
            os.chown(workdir, self._user.uid, self._user.gid)
        workdir.chmod(0o700)


def _reporter(script: Script, progress: ProgressSink) -> Callable[[list[str]], None]:
    def report(lines: list[str]) -> None:
        if not script.show_output:
            progress(Progress(1, 1, "…"))
            return
        text = "\n".join(clip(neutralise(line), PROGRESS_CHARS) for line in lines[-3:] if line.strip())
        progress(Progress(1, 1, text[-PROGRESS_CHARS:] or "…"))

    return report


def result_of(script: Script, job_id: int, outcome: SandboxOutcome) -> RunResult:
    """The job's result from the sandbox's outcome (here or on a server)."""
    details: dict[str, object] = {"log": outcome.log, "exit": outcome.returncode, "ended": outcome.ended,
                                  "output_bytes": outcome.output_bytes, "show_output": script.show_output}
    excerpt = "\n".join(outcome.tail[-EXCERPT_LINES:]) if script.show_output else ""
    ok = outcome.ended == "exited" and outcome.returncode == 0
    done = Msg(N_("Script {name} finished; “job log {id}” gives its whole output ({bytes} bytes)."),
               {"name": script.name, "id": job_id, "bytes": outcome.output_bytes})
    summary = done if ok else _failure(script, outcome)
    return RunResult(ok=ok, summary=summary, log_excerpt=excerpt, details=details,
                     timed_out=outcome.ended == "timeout", cancelled=outcome.ended == "cancelled")


def _failure(script: Script, outcome: SandboxOutcome) -> Msg:
    """Why it failed, in one sentence (stored with the job: every parameter is plain text)."""
    limits, code, name = script.limits, outcome.returncode, script.name
    if outcome.ended == "timeout":
        return Msg(N_("Script {name} ran longer than {seconds} s and was stopped."),
                   {"name": name, "seconds": script.timeout_s})
    if outcome.ended == "cancelled":
        return Msg(N_("Script {name} was cancelled."), {"name": name})
    if outcome.ended == "output_limit":
        return Msg(N_("Script {name} printed more than {limit} bytes and was stopped."),
                   {"name": name, "limit": limits.output_bytes})
    if outcome.ended == "stragglers":
        return Msg(N_("Script {name} left processes running in the background; they were stopped."), {"name": name})
    if code == -24:
        return Msg(N_("Script {name} used more than {seconds} s of CPU time and was stopped."),
                   {"name": name, "seconds": limits.cpu_seconds})
    if code == -25:
        return Msg(N_("Script {name} wrote a file larger than {mb} MB and was stopped."),
                   {"name": name, "mb": limits.file_mb})
    if any(sign in line for line in outcome.tail[-5:] for sign in _MEMORY_SIGNS):
        return Msg(N_("Script {name} ran out of memory (limit {mb} MB)."), {"name": name, "mb": limits.memory_mb})
    if code is not None and code < 0:
        return Msg(N_("Script {name} was killed by signal {signal}."),
                   {"name": name, "signal": _SIGNALS.get(-code, str(-code))})
    return Msg(N_("Script {name} exited with status {code}."), {"name": name, "code": code})
