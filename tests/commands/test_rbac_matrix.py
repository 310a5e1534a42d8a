"""Generated from the RBAC matrix: every command's examples, run as every role, are allowed,
sent for approval, or refused exactly as the matrix (bot.rbac defaults) says."""

import pytest

from bot.rbac import DEFAULT_APPROVALS, DEFAULT_GRANTS, ROLES
from bot.registry import Registry
from commands import ALL
from dihya.app import App
from tests.helpers.transcript import Transcript

REGISTRY = Registry(ALL)
CASES = [(command.name, example) for command in ALL for example in command.examples]
REFUSED = "You are not allowed"
APPROVAL = "Approval needed"


def expected(permission: str, role: str) -> str:
    if role not in DEFAULT_GRANTS[permission]:
        return "deny"
    return "approve" if permission in DEFAULT_APPROVALS else "allow"


def permission_of(example: str) -> str:
    from bot.parser import Parsed, parse

    parsed = parse(REGISTRY, example)
    assert isinstance(parsed, Parsed), example
    return parsed.command.permission_for(parsed.args)


def test_every_command_has_an_example() -> None:
    assert {name for name, _ in CASES} == {c.name for c in ALL}


def test_the_matrix_covers_every_permission_commands_use() -> None:
    assert {permission_of(example) for _, example in CASES} <= set(DEFAULT_GRANTS)


@pytest.mark.parametrize("role", ROLES)
async def test_every_command_as_every_role(app: App, chat: Transcript, role: str) -> None:
    user = f"as-{role}"
    if role != "guest":
        app.store.grant_role(f"console:{user}", role)
    outcomes = {}
    for name, example in CASES:
        reply = await chat.say(user, example)
        got = "deny" if REFUSED in reply else "approve" if APPROVAL in reply else "allow"
        outcomes[(name, example)] = (got, expected(permission_of(example), role))
    wrong = {case: pair for case, pair in outcomes.items() if pair[0] != pair[1]}
    assert not wrong, wrong
