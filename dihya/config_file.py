"""The TOML settings file (``DIHYA_CONFIG_FILE``): RBAC matrix, approval policies, service catalog.

    [rbac]
    "deploy.prod" = ["devops", "admin"]      # permission → roles holding it

    [approvals."deploy.prod"]
    quorum = 1
    approvers = ["devops", "admin"]
    expiry_minutes = 30

    [services.web.production]                # how `deploy web to production` runs
    runner = "kubernetes"                    # ansible | docker | kubernetes
    namespace = "prod"
    deployment = "web"
    container = "web"
    image = "registry.example.org/web"

    [playbooks]
    "restart-nginx" = "restart_nginx.yml"    # `playbook run restart-nginx` → content/playbooks/…
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from bot.catalog import DEMO, RUNNERS, Deployment, ServiceCatalog
from bot.rbac import ROLES, AccessPolicy, ApprovalPolicy
from dihya.settings import SettingsError


def load_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise SettingsError(f"DIHYA_CONFIG_FILE: cannot read {path}: {err}") from None


def access_policy(config: dict[str, Any]) -> AccessPolicy:
    grants = {perm: _roles(f"rbac.{perm}", roles) for perm, roles in config.get("rbac", {}).items()}
    approvals = {perm: _approval(perm, spec) for perm, spec in config.get("approvals", {}).items()}
    return AccessPolicy.from_config(grants, approvals)


def _roles(where: str, roles: object) -> frozenset[str]:
    if not isinstance(roles, list) or not all(r in ROLES for r in roles):
        raise SettingsError(f"DIHYA_CONFIG_FILE: [{where}] must be a list of roles from {', '.join(ROLES)}")
    return frozenset(roles)


def _approval(permission: str, spec: object) -> ApprovalPolicy:
    if not isinstance(spec, dict):
        raise SettingsError(f"DIHYA_CONFIG_FILE: [approvals.{permission}] must be a table")
    quorum = spec.get("quorum", 1)
    minutes = spec.get("expiry_minutes", 30)
    if not isinstance(quorum, int) or quorum < 1 or not isinstance(minutes, int) or minutes < 1:
        raise SettingsError(f"DIHYA_CONFIG_FILE: [approvals.{permission}] quorum and expiry_minutes must be ≥ 1")
    approvers = _roles(f"approvals.{permission}.approvers", spec.get("approvers", ["devops", "admin"]))
    return ApprovalPolicy(quorum, approvers, minutes * 60)


def service_catalog(config: dict[str, Any]) -> ServiceCatalog:
    """The configured catalog; without ``[services]`` the demo catalog of the embedded default."""
    services = config.get("services")
    if services is None:
        return DEMO
    if not isinstance(services, dict):
        raise SettingsError("DIHYA_CONFIG_FILE: [services] must be a table of services")
    parsed = {name: _environments(name, envs) for name, envs in services.items()}
    playbooks = config.get("playbooks", {})
    if not isinstance(playbooks, dict) or not all(isinstance(v, str) for v in playbooks.values()):
        raise SettingsError("DIHYA_CONFIG_FILE: [playbooks] must map names to playbook files")
    return ServiceCatalog(parsed, playbooks)


def _environments(service: str, envs: object) -> dict[str, Deployment]:
    if not isinstance(envs, dict):
        raise SettingsError(f"DIHYA_CONFIG_FILE: [services.{service}] must hold one table per environment")
    return {env: _deployment(service, env, spec) for env, spec in envs.items()}


def _deployment(service: str, env: str, spec: object) -> Deployment:
    where = f"[services.{service}.{env}]"
    if not isinstance(spec, dict) or spec.get("runner") not in RUNNERS:
        raise SettingsError(f"DIHYA_CONFIG_FILE: {where} needs runner = one of {', '.join(sorted(RUNNERS))}")
    timeout = spec.get("timeout_seconds", 900)
    if not isinstance(timeout, int) or timeout < 1:
        raise SettingsError(f"DIHYA_CONFIG_FILE: {where} timeout_seconds must be a positive integer")
    params = {k: str(v) for k, v in spec.items() if k not in ("runner", "timeout_seconds")}
    return Deployment(service, env, str(spec["runner"]), params, timeout)
