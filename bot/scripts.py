"""The script catalog: small scripts (Python, Bash, Node.js) and Ansible playbooks an operator may run
by name, each declared with its typed parameters, where it may run, its limits and who may run it.

Configuration (``[scripts.NAME]`` tables in the TOML settings file), not code; the embedded default
ships ``DEMO_SCRIPTS``, one small script per language and one playbook. Files live under
``content/scripts/{python,bash,node}/`` and ``content/playbooks/`` and are listed in the integrity
manifest. Parameters use the command argument types, so a bad value gets the same translated error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.argtypes import ArgType, Choice, Integer, Matching, Name
from bot.errors import UserError
from bot.i18n import N_

LANGUAGES: Mapping[str, str] = {"python": "scripts/python", "bash": "scripts/bash", "node": "scripts/node",
                                "ansible": "playbooks"}  # language → folder under the content directory
LOCAL = "local"
DEFAULT_PERMISSION = "scripts.run"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one run may use. CPU time, address space, file size and process count are per process
    (rlimits); ``output_bytes`` bounds what it prints in total: beyond it the run is killed."""

    cpu_seconds: int = 30
    memory_mb: int = 512
    file_mb: int = 16
    processes: int = 32
    output_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ScriptParam:
    name: str
    kind: ArgType
    required: bool = True
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Script:
    name: str
    language: str  # python | bash | node | ansible
    file: str  # relative to the language's folder
    description: str  # operator-written text, shown as written
    params: tuple[ScriptParam, ...] = ()
    targets: tuple[str, ...] = (LOCAL,)  # "local", inventory server names, environments, or "all"
    timeout_s: int = 60
    permission: str = DEFAULT_PERMISSION  # its approval policy follows from it, as for commands
    secrets: tuple[str, ...] = ()  # stored secrets handed over as environment variables of the same name
    env: Mapping[str, str] = field(default_factory=dict)  # declared plain variables
    show_output: bool = True  # may its output be shown in the channel (else only in a direct message)
    limits: Limits = field(default_factory=Limits)

    @property
    def path(self) -> str:
        """The manifest key of its file."""
        return f"{LANGUAGES[self.language]}/{self.file}"

    @property
    def default_target(self) -> str:
        return self.targets[0]

    def param(self, name: str) -> ScriptParam | None:
        return next((p for p in self.params if p.name == name), None)

    def usage(self) -> str:
        """``NAME=<…>`` for each parameter, optional ones in brackets (for the listing)."""
        return " ".join(f"{p.name}=…" if p.required else f"[{p.name}=…]" for p in self.params)


@dataclass(frozen=True, slots=True)
class ScriptCatalog:
    scripts: Mapping[str, Script] = field(default_factory=dict)

    def script(self, name: str, allowed: frozenset[str] | None = None) -> Script:
        """The script called ``name``; unknown (or not allowed) names get the list of those allowed."""
        found = self.scripts.get(name)
        if found is None or (allowed is not None and name not in allowed):
            known = sorted(self.scripts if allowed is None else allowed)
            raise UserError(N_("Unknown script {name}; scripts you may run: {known}."),
                            name=name, known=", ".join(known) or "-")
        return found

    def permissions(self) -> Mapping[str, str]:
        return {name: script.permission for name, script in self.scripts.items()}


def checked_params(script: Script, given: Mapping[str, str]) -> dict[str, object]:
    """``given`` (raw text values) checked against the script's declaration: unknown names get the list of
    declared ones, a bad value the argument type's translated error naming it, a missing one its name."""
    declared = ", ".join(p.name for p in script.params) or "-"
    for name in given:
        if script.param(name) is None:
            raise UserError(N_("{script} has no parameter {param}; its parameters: {known}."),
                            script=script.name, param=name, known=declared)
    values: dict[str, object] = {}
    for param in script.params:
        raw = given.get(param.name, param.default)
        if raw is None:
            if param.required:
                raise UserError(N_("{script} needs the parameter {param} ({usage})."),
                                script=script.name, param=param.name, usage=script.usage())
            continue
        values[param.name] = param.kind.convert(raw, param.name)
    return values


def check_target(script: Script, target: str | None) -> str:
    """The target to run on: as asked when the script declares it, else its first declared target."""
    if target is None:
        return script.default_target
    if target not in script.targets:
        raise UserError(N_("{script} may run on: {targets} (not {target})."),
                        script=script.name, targets=", ".join(script.targets), target=target)
    return target


_FOLDERS = ("/", "/tmp", "/var")  # noqa: S108 - folders the demo reports on
_CACHE = "/tmp/dihya-demo-cache"  # noqa: S108 - the demo's cache, emptied by flush-cache


def _demo() -> dict[str, Script]:
    tight = Limits(cpu_seconds=10, memory_mb=256, file_mb=4, processes=16)
    scripts = (
        Script("disk-report", "python", "disk_report.py", "Disk usage of a folder, largest entries first",
               (ScriptParam("path", Choice(dict.fromkeys(_FOLDERS, ()), expected=N_("a listed folder")),
                            required=False, default=_FOLDERS[1]),),
               timeout_s=30, limits=tight),
        Script("flush-cache", "bash", "flush_cache.sh", "Empty a cache folder of the demo cache",
               (ScriptParam("cache", Matching(r"[a-z][a-z0-9-]{0,30}", expected=N_("a cache name"))),),
               timeout_s=30, permission="ops.run", env={"CACHE_ROOT": _CACHE}, limits=tight),
        Script("http-probe", "node", "http_probe.js", "Time an HTTP GET of a local port",
               (ScriptParam("port", Integer(1, 65535)),), timeout_s=20,
               limits=Limits(cpu_seconds=10, memory_mb=2048, file_mb=4, processes=32)),
        Script("deploy_app.yml", "ansible", "deploy_app.yml", "Deploy the demo app (a local playbook)",
               (ScriptParam("version", Name(), required=False, default="latest"),),
               targets=(LOCAL, "all"), timeout_s=300, permission="ops.run"),
    )
    return {s.name: s for s in scripts}


DEMO_SCRIPTS = ScriptCatalog(_demo())
