"""``bot.rbac``: DESIGN.md's matrix as defaults, overridable by configuration."""

from __future__ import annotations

import pytest

from bot.rbac import DEFAULT_APPROVALS, DEFAULT_GRANTS, ROLES, AccessPolicy, ApprovalPolicy, Decision

POLICY = AccessPolicy.from_config()


def roles(*names: str) -> frozenset[str]:
    return frozenset(names)


@pytest.mark.parametrize(("permission", "allowed"), [
    ("chat.basic", ROLES),
    ("read", ("auditor", "developer", "ops", "devops", "admin")),
    ("deploy.nonprod", ("developer", "ops", "devops", "admin")),
    ("ops.run", ("ops", "devops", "admin")),
    ("servers.add", ("devops", "admin")),
    ("audit.read", ("auditor", "admin")),
    ("roles.manage", ("admin",)),
    ("gdpr.erase", ("admin",)),
])
def test_the_default_matrix(permission: str, allowed: tuple[str, ...]) -> None:
    for role in ROLES:
        assert POLICY.holds(roles(role), permission) is (role in allowed), role


def test_everyone_holds_what_guests_hold_even_with_no_role() -> None:
    assert POLICY.holds(frozenset(), "chat.basic")
    assert not POLICY.holds(frozenset(), "read")


def test_an_unknown_permission_is_held_by_nobody() -> None:
    assert POLICY.decide(roles("admin"), "launch.missiles") is Decision.DENY


def test_sensitive_permissions_need_approval_from_the_right_roles() -> None:
    assert POLICY.decide(roles("developer"), "deploy.prod") is Decision.NEEDS_APPROVAL
    assert POLICY.decide(roles("developer"), "deploy.nonprod") is Decision.ALLOW
    assert POLICY.decide(roles("developer"), "ops.run") is Decision.DENY
    assert POLICY.can_approve(roles("devops"), "deploy.prod")
    assert not POLICY.can_approve(roles("ops"), "deploy.prod")
    assert not POLICY.can_approve(roles("admin"), "deploy.nonprod")  # no approval policy: nothing to approve
    assert POLICY.approvals["gdpr.erase"].quorum == 2 and POLICY.approvals["roles.grant_admin"].quorum == 2
    assert POLICY.approvals["deploy.prod"].expiry_seconds == 1800


def test_configuration_overrides_some_entries_and_keeps_the_rest() -> None:
    policy = AccessPolicy.from_config({"read": ["ops"]}, {"servers.add": ApprovalPolicy(1, frozenset({"admin"}), 60)})
    assert not policy.holds(roles("auditor"), "read") and policy.holds(roles("ops"), "read")
    assert policy.decide(roles("devops"), "servers.add") is Decision.NEEDS_APPROVAL
    assert policy.decide(roles("devops"), "deploy.prod") is Decision.NEEDS_APPROVAL
    assert set(policy.grants) == set(DEFAULT_GRANTS) and set(policy.approvals) == {*DEFAULT_APPROVALS, "servers.add"}
