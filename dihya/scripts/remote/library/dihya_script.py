#!/usr/bin/python
"""Ansible module: run one catalogued script on this host in the same sandbox Dihya uses locally
(``dihya/scripts/sandbox.py``, shipped as the module utility ``dihya_sandbox``): an argument list, the
declared environment only, resource limits, its own process group, a timeout that ends the group,
bounded output. The script's own failure is data (``status``, ``ended``; a key named ``rc`` would make
Ansible fail the task), so the working directory is always removed and the bot words the outcome.
A hang-up or SIGTERM (the bot cancelled the run, or its connection dropped) ends the script's group
like a cancel."""

from __future__ import annotations

import os
import shutil
import signal
from types import SimpleNamespace

from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]
from ansible.module_utils.dihya_sandbox import (  # type: ignore[import-untyped]
    SandboxSpec,
    SandboxUser,
    run_sandboxed,
)

LIMIT_KEYS = ("cpu_seconds", "memory_mb", "file_mb", "processes", "output_bytes")
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


def main() -> None:
    module = AnsibleModule(argument_spec={
        "script": {"type": "path", "required": True},
        "interpreter": {"type": "list", "elements": "str", "required": True},
        "args": {"type": "list", "elements": "str", "default": []},
        "env": {"type": "dict", "default": {}, "no_log": True},  # secrets: masked in anything returned
        "limits": {"type": "dict", "required": True},
        "timeout": {"type": "float", "required": True},
        "user": {"type": "str", "default": "nobody"},
        "grace": {"type": "float", "default": 2.0},
    })
    p = module.params
    program = shutil.which(p["interpreter"][0], path=BASE_PATH)
    if program is None:
        module.exit_json(changed=False, missing=p["interpreter"][0], status=None, ended="missing", output="",
                         tail=[], output_bytes=0)
    workdir = os.path.dirname(p["script"])
    user = _sandbox_user(p["user"], workdir)
    stop = {"asked": False}

    def cancel(_signum: int, _frame: object) -> None:
        stop["asked"] = True

    signal.signal(signal.SIGHUP, cancel)
    signal.signal(signal.SIGTERM, cancel)
    env = {"PATH": BASE_PATH, "LANG": "C.UTF-8", **{k: str(v) for k, v in p["env"].items()},
           "HOME": workdir, "TMPDIR": workdir}
    limits = SimpleNamespace(**{key: int(p["limits"][key]) for key in LIMIT_KEYS})
    argv = [os.path.realpath(program), *p["interpreter"][1:], p["script"], *p["args"]]
    spec = SandboxSpec(argv, env, workdir, limits, p["timeout"], user, p["grace"])
    outcome = run_sandboxed(spec, lambda: stop["asked"], lambda _lines: None)
    module.exit_json(changed=True, status=outcome.returncode, ended=outcome.ended, output=outcome.log,
                     tail=outcome.tail, output_bytes=outcome.output_bytes, leftovers=outcome.leftovers)


def _sandbox_user(name: str, workdir: str) -> SandboxUser | None:
    """As root, run as ``name`` (root ignores the process-count limit) owning its working directory."""
    if os.getuid() != 0:
        return None
    user = SandboxUser.named(name)
    os.chown(workdir, user.uid, user.gid)
    return user


if __name__ == "__main__":
    main()
