"""Role-based access: which roles hold which permission, and which permissions need approval.

The matrix is configuration (``[rbac]`` and ``[approvals]`` in the TOML settings file);
``DEFAULT_GRANTS`` and ``DEFAULT_APPROVALS`` are DESIGN.md's defaults.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ROLES: tuple[str, ...] = ("guest", "auditor", "developer", "ops", "devops", "admin")
GUEST = "guest"

_EVERYONE = ROLES
_READERS = ("auditor", "developer", "ops", "devops", "admin")
_BUILDERS = ("developer", "ops", "devops", "admin")
_OPERATORS = ("ops", "devops", "admin")

INVITE_PERMISSION = "bot.invite"

# permission → roles that hold it (DESIGN.md "Identities and roles").
DEFAULT_GRANTS: Mapping[str, tuple[str, ...]] = {
    "chat.basic": _EVERYONE,
    "read": _READERS,
    "deploy.nonprod": _BUILDERS,
    "deploy.prod": _BUILDERS,
    "ops.run": _OPERATORS,
    "incidents.manage": _BUILDERS,
    "alerts.manage": _OPERATORS,
    "servers.add": ("devops", "admin"),
    "servers.remove": ("devops", "admin"),
    "audit.read": ("auditor", "admin"),
    "roles.manage": ("admin",),
    "roles.grant_admin": ("admin",),
    "gdpr.erase": ("admin",),
    "audit.export": ("auditor", "admin"),  # its own permission, so an approval policy can cover exports only
    "gdpr.export": ("admin",),  # someone else's data; everyone may export their own
    "secrets.manage": ("devops", "admin"),
    # REST API (issue 13): a token for oneself (it carries no roles: each request is checked against
    # the person's roles), and revoking anyone's
    "api.token": _READERS,
    "api.tokens.manage": ("admin",),
    "deploy.override_gate": ("admin",),  # deploy although the version's pipeline is red (issue 15)
    "scripts.run": _BUILDERS,  # catalog scripts that declare no permission of their own (issue 14)
    "read.logs": _BUILDERS,  # service logs may hold personal data: not for auditors and guests
    "webhooks.manage": ("admin",),  # outbound webhooks: list them, send a test event (issue 17)
    "reports.run": ("auditor", "ops", "devops", "admin"),  # operations reports: aggregates, no personal data
    # bring the bot into a room or chat by inviting it (Matrix asks the bot; it joins only for these)
    INVITE_PERMISSION: ("admin",),
}


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    quorum: int
    approver_roles: frozenset[str]
    expiry_seconds: int = 1800


_DEVOPS_ONE = ApprovalPolicy(1, frozenset({"devops", "admin"}))
_ADMINS_TWO = ApprovalPolicy(2, frozenset({"admin"}))

DEFAULT_APPROVALS: Mapping[str, ApprovalPolicy] = {
    "deploy.prod": _DEVOPS_ONE,
    "ops.run": _DEVOPS_ONE,
    "servers.remove": _DEVOPS_ONE,
    "roles.grant_admin": _ADMINS_TWO,
    "gdpr.erase": _ADMINS_TWO,
}


class Decision(enum.Enum):
    ALLOW = "allow"
    NEEDS_APPROVAL = "needs_approval"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    grants: Mapping[str, frozenset[str]]
    approvals: Mapping[str, ApprovalPolicy]

    @classmethod
    def from_config(
        cls,
        grants: Mapping[str, Iterable[str]] | None = None,
        approvals: Mapping[str, ApprovalPolicy] | None = None,
    ) -> AccessPolicy:
        merged = {**DEFAULT_GRANTS, **(grants or {})}
        return cls(
            {perm: frozenset(roles) for perm, roles in merged.items()},
            {**DEFAULT_APPROVALS, **(approvals or {})},
        )

    def holds(self, roles: frozenset[str], permission: str) -> bool:
        allowed = self.grants.get(permission)
        return allowed is not None and (GUEST in allowed or not allowed.isdisjoint(roles))

    def decide(self, roles: frozenset[str], permission: str) -> Decision:
        if not self.holds(roles, permission):
            return Decision.DENY
        return Decision.NEEDS_APPROVAL if permission in self.approvals else Decision.ALLOW

    def can_approve(self, roles: frozenset[str], permission: str) -> bool:
        policy = self.approvals.get(permission)
        return policy is not None and not policy.approver_roles.isdisjoint(roles)
