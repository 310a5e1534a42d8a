"""``[scripts.NAME]`` tables of the TOML settings file → the script catalog (issue 14).

    [scripts.disk-report]
    language = "python"                  # python | bash | node | ansible
    file = "disk_report.py"              # under content/scripts/python/ (ansible: content/playbooks/)
    description = "Disk usage of a folder"
    targets = ["local"]                  # local, "all", an environment or a server (through Ansible over SSH)
    timeout_seconds = 30
    permission = "scripts.run"           # its approval policy is [approvals."scripts.run"]
    secrets = ["api_token"]              # stored secrets, passed as environment variables of that name
    env = { UNITS = "MB" }               # declared plain variables
    show_output = true                   # false: output only in a direct message (``job log N``)
    limits = { cpu_seconds = 10, memory_mb = 256, file_mb = 16, processes = 32, output_kb = 4096 }
    [scripts.disk-report.params.path]
    type = "choice"                      # choice (values) | integer (min, max) | name | regex (pattern)
    values = ["/", "/tmp"]
    required = false
    default = "/tmp"

Without a ``[scripts]`` table the demo catalog is used. ``[sandbox] user`` names the unprivileged
user scripts run as when the bot runs as root (default ``nobody``).
"""

from __future__ import annotations

import re
from typing import Any

from bot.argtypes import ArgType, Choice, Integer, Matching, Name
from bot.i18n import N_
from bot.rbac import AccessPolicy
from bot.scripts import DEMO_SCRIPTS, LANGUAGES, Limits, Script, ScriptCatalog, ScriptParam
from dihya.settings import SettingsError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_LIMITS = {"cpu_seconds": (1, 86400), "memory_mb": (16, 65536), "file_mb": (1, 65536), "processes": (1, 4096),
           "output_kb": (1, 1024 * 1024)}
DEFAULT_SANDBOX_USER = "nobody"


def script_catalog(config: dict[str, Any], policy: AccessPolicy) -> ScriptCatalog:
    section = config.get("scripts")
    if section is None:
        return DEMO_SCRIPTS
    if not isinstance(section, dict):
        raise SettingsError("DIHYA_CONFIG_FILE: [scripts] must be a table of scripts")
    return ScriptCatalog({name: _script(name, spec, policy) for name, spec in section.items()})


def sandbox_user(config: dict[str, Any]) -> str:
    user = config.get("sandbox", {}).get("user", DEFAULT_SANDBOX_USER) if isinstance(config.get("sandbox"), dict) \
        else DEFAULT_SANDBOX_USER
    if not isinstance(user, str) or not user:
        raise SettingsError("DIHYA_CONFIG_FILE: [sandbox] user must be a user name")
    return user


def _script(name: str, spec: object, policy: AccessPolicy) -> Script:
    where = f"DIHYA_CONFIG_FILE: [scripts.{name}]"
    if not _NAME.fullmatch(name) or not isinstance(spec, dict):
        raise SettingsError(f"{where} must be a table named with letters, digits, '.', '-' or '_'")
    language, file = spec.get("language"), spec.get("file")
    if language not in LANGUAGES:
        raise SettingsError(f"{where} language must be one of {', '.join(LANGUAGES)}")
    if not isinstance(file, str) or not _FILE.fullmatch(file):
        raise SettingsError(f"{where} file must be a file name in content/{LANGUAGES[str(language)]}/")
    permission = spec.get("permission", "scripts.run")
    if permission not in policy.grants:
        raise SettingsError(f"{where} permission {permission!r} is not in the RBAC matrix (add it under [rbac])")
    targets = _strings(where, "targets", spec.get("targets", ["local"]), _NAME) or ["local"]
    params = spec.get("params", {})
    if not isinstance(params, dict):
        raise SettingsError(f"{where} params must be a table of parameters")
    env = spec.get("env", {})
    if not isinstance(env, dict) or not all(_ENV.fullmatch(k) and isinstance(v, str) for k, v in env.items()):
        raise SettingsError(f"{where} env must map variable names to strings")
    return Script(name, str(language), file, str(spec.get("description", "")),
                  tuple(_param(where, p, s) for p, s in params.items()), tuple(targets),
                  _positive(where, "timeout_seconds", spec.get("timeout_seconds", 60)), str(permission),
                  tuple(_strings(where, "secrets", spec.get("secrets", []), _ENV)), dict(env),
                  bool(spec.get("show_output", True)), _limits(where, spec.get("limits", {})))


def _param(where: str, name: str, spec: object) -> ScriptParam:
    where = f"{where} params.{name}"
    if not _PARAM.fullmatch(name) or not isinstance(spec, dict):
        raise SettingsError(f"{where} must be a table named with letters, digits or '_'")
    default = spec.get("default")
    if default is not None and not isinstance(default, str | int):
        raise SettingsError(f"{where} default must be a string or a number")
    kind = _kind(where, spec)
    if default is not None:
        try:
            kind.convert(str(default), name)
        except Exception:
            raise SettingsError(f"{where} default {default!r} is not a valid value of its type") from None
    return ScriptParam(name, kind, bool(spec.get("required", default is None)),
                       None if default is None else str(default))


def _kind(where: str, spec: dict[str, Any]) -> ArgType:
    kind = spec.get("type")
    if kind == "choice":
        values = _strings(where, "values", spec.get("values"), None)
        if not values:
            raise SettingsError(f"{where} values must list at least one value")
        return Choice(dict.fromkeys(values, ()), expected=N_("one of the listed values"))
    if kind == "integer":
        low, high = spec.get("min", 0), spec.get("max", 2**31 - 1)
        if not isinstance(low, int) or not isinstance(high, int) or low > high or low < 0:
            raise SettingsError(f"{where} min and max must be whole numbers, 0 ≤ min ≤ max")
        return Integer(low, high)
    if kind == "name":
        return Name()
    if kind == "regex":
        try:
            return Matching(str(spec.get("pattern", "")))
        except ValueError as err:
            raise SettingsError(f"{where} pattern: {err}") from None
    raise SettingsError(f"{where} type must be choice, integer, name or regex")


def _limits(where: str, spec: object) -> Limits:
    if not isinstance(spec, dict) or set(spec) - set(_LIMITS):
        raise SettingsError(f"{where} limits may set {', '.join(_LIMITS)}")
    for key, value in spec.items():
        low, high = _LIMITS[key]
        if not isinstance(value, int) or not low <= value <= high:
            raise SettingsError(f"{where} limits.{key} must be a whole number from {low} to {high}")
    base = Limits()
    return Limits(spec.get("cpu_seconds", base.cpu_seconds), spec.get("memory_mb", base.memory_mb),
                  spec.get("file_mb", base.file_mb), spec.get("processes", base.processes),
                  spec.get("output_kb", base.output_bytes // 1024) * 1024)


def _positive(where: str, key: str, value: object) -> int:
    if not isinstance(value, int) or not 1 <= value <= 86400:
        raise SettingsError(f"{where} {key} must be a whole number of seconds from 1 to 86400")
    return value


def _strings(where: str, key: str, value: object, pattern: re.Pattern[str] | None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and (pattern is None or pattern.fullmatch(v))
                                              for v in value):
        raise SettingsError(f"{where} {key} must be a list of names")
    return list(value)
