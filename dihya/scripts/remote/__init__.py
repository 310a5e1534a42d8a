"""``RemoteScripts``: a catalogued Python, Bash or Node.js script run on inventory servers through
Ansible, with the same discipline as on the bot's machine: the file verified against the integrity
manifest as it is copied, an argument list (never a shell), the declared variables and secrets as
the only environment, the sandbox's limits and timeout (``dihya/scripts/sandbox.py`` runs on the
server as the module utility of ``library/dihya_script.py``), bounded output. The servers need
Python 3.10 or newer (as Ansible does) and the script's interpreter on ``/usr/bin:/bin``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from bot.i18n import N_, Msg
from bot.scripts import Script
from dihya.runners.base import CancelToken, Progress, ProgressSink, RunnerError, RunResult
from dihya.scripts import sandbox
from dihya.scripts.runner import result_of
from dihya.scripts.sandbox import SandboxOutcome

FOLDER = Path(__file__).resolve().parent
RUN_TASK = "Run the script"
# The interpreter and its flags on the server, found on /usr/local/bin:/usr/bin:/bin there.
INTERPRETERS: Mapping[str, tuple[str, ...]] = {"python": ("python3", "-I"), "bash": ("bash", "--noprofile", "--norc"),
                                               "node": ("node",)}


class BundledPlaybooks(Protocol):
    """``AnsibleRunner.run_bundled``."""

    def run_bundled(self, bundle: Any, inventory: Mapping[str, Any], extra_vars: Mapping[str, str],
                    progress: ProgressSink, cancel: CancelToken, timeout_s: float, run_id: str) -> Any: ...


class RemoteScripts:
    def __init__(self, ansible: BundledPlaybooks, user: str = "nobody", connect_s: int = 30) -> None:
        self._ansible = ansible
        self._user = user  # the sandbox user on servers where Ansible connects as root
        self._connect_s = connect_s  # beyond the script's own timeout: connecting, copying, cleaning up

    def run(self, script: Script, params: Mapping[str, object], env: Mapping[str, str],
            inventory: Mapping[str, Any], progress: ProgressSink, cancel: CancelToken, job_id: int,
            run_id: str) -> RunResult:
        from dihya.runners.ansible_run import Bundle

        name = Path(script.file).name
        bundle = Bundle(FOLDER, "run_script.yml", script.name, content={script.path: f"files/{name}"},
                        code={"module_utils/dihya_sandbox.py": Path(sandbox.__file__)}, collect=RUN_TASK)
        limits = script.limits
        extra = {"script_file": name, "script_user": self._user, "script_timeout": str(script.timeout_s),
                 "script_interpreter": json.dumps(INTERPRETERS[script.language]),
                 "script_args": json.dumps([f"--{key}={value}" for key, value in params.items()]),
                 "script_env": json.dumps({**script.env, **env}),
                 "script_limits": json.dumps({"cpu_seconds": limits.cpu_seconds, "memory_mb": limits.memory_mb,
                                              "file_mb": limits.file_mb, "processes": limits.processes,
                                              "output_bytes": limits.output_bytes})}
        progress(Progress(0, 1, script.name))
        run = self._ansible.run_bundled(bundle, inventory, extra, progress, cancel,
                                        script.timeout_s + self._connect_s, run_id)
        if not run.results:  # it never got to run: unreachable, cancelled, timed out while connecting
            return run.result  # type: ignore[no-any-return]
        return result_of(script, job_id, merged(script, run.results))


def merged(script: Script, results: Mapping[str, Mapping[str, Any]]) -> SandboxOutcome:
    """One outcome for every host: the first failure decides, the log holds every host's output."""
    outcomes = {host: _outcome(script, res) for host, res in sorted(results.items())}
    failed = [o for o in outcomes.values() if o.ended != "exited" or o.returncode != 0]
    first = failed[0] if failed else next(iter(outcomes.values()))
    log = "\n".join(f"── {host} ──\n{o.log}" for host, o in outcomes.items()) if len(outcomes) > 1 else first.log
    total = sum(o.output_bytes for o in outcomes.values())
    return SandboxOutcome(first.returncode, first.ended, first.tail, log, total)


def _outcome(script: Script, res: Mapping[str, Any]) -> SandboxOutcome:
    if res.get("ended") == "missing":
        raise RunnerError(Msg(N_("The {language} interpreter is not installed on this worker."),
                              {"language": script.language}))
    if "ended" not in res:  # the module itself failed: Ansible's words, not the script's, kept for the log only
        raise RunnerError(Msg(N_("Script {name} could not be started on the server."), {"name": script.name}))
    code = res.get("status")
    return SandboxOutcome(code if isinstance(code, int) else None, str(res["ended"]),
                          [str(line) for line in res.get("tail") or []], str(res.get("output") or ""),
                          int(res.get("output_bytes") or 0))
