"""The TOML settings file (``DIHYA_CONFIG_FILE``): RBAC matrix and approval policies.

    [rbac]
    "deploy.prod" = ["devops", "admin"]      # permission → roles holding it

    [approvals."deploy.prod"]
    quorum = 1
    approvers = ["devops", "admin"]
    expiry_minutes = 30
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

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
