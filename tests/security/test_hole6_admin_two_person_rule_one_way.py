"""Hole 6: the admin two-person rule worked one way. Granting admin needed two admins; one admin
alone could revoke every other admin.

Now revoking admin needs the same approval as granting it, the last admin cannot be removed, and
"yourself" means the person (every linked identity), not one identity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from tests.helpers.transcript import Transcript
from tests.security.conftest import Clock


def admin(app: App, key: str) -> bool:
    found = app.store.identity(key)
    return found is not None and "admin" in found.roles


def admins(app: App, *names: str) -> None:
    for name in names:
        app.store.grant_role(f"console:{name}", "admin")


async def test_hole6_revoking_admin_needs_two_other_admins(app: App, chat: Transcript) -> None:
    admins(app, "admin2", "admin3", "admin4")
    assert "Approval needed" in await chat.say("admin2", "role revoke admin3 admin")
    request = chat.last.id
    assert admin(app, "console:admin3")
    await chat.react("admin4", "✅", request)
    assert admin(app, "console:admin3")  # one approval is not enough
    assert "no longer has the role admin" in await chat.react("admin1", "👍", request)
    assert not admin(app, "console:admin3")


async def test_hole6_other_roles_are_still_revoked_at_once(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:dev1", "developer")
    assert "no longer has the role developer" in await chat.say("admin1", "role revoke dev1 developer")


async def test_hole6_yourself_means_every_identity_linked_to_you(app: App, chat: Transcript) -> None:
    admins(app, "admin2", "admin3")
    app.store.link_identities("console:admin2", "console:admin2-phone")
    reply = await chat.say("admin2", "role revoke admin2-phone admin")
    assert "cannot remove your own admin role" in reply and "Approval needed" not in reply
    assert admin(app, "console:admin2-phone")


async def test_hole6_an_identity_linked_after_the_request_cannot_approve_it(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:dev1", "developer")
    app.store.grant_role("console:devops1", "devops")
    await chat.say("dev1", "deploy web to production version v2")
    request = chat.last.id
    app.store.link_identities("console:devops1", "console:dev1")  # dev1 joins devops1's person
    assert "cannot approve your own request" in await chat.react("devops1", "✅", request)
    assert app.store.jobs() == []


async def test_hole6_an_admin_from_dihya_admins_is_not_revoked_in_chat(app: App, chat: Transcript) -> None:
    admins(app, "admin2", "admin3", "admin4")
    reply = await chat.say("admin2", "role revoke admin1 admin")
    assert "DIHYA_ADMINS" in reply and "Approval needed" not in reply
    assert admin(app, "console:admin1")


CONFIG = """
[rbac]
"roles.grant_admin" = ["devops", "admin"]

[approvals."roles.grant_admin"]
quorum = 1
approvers = ["devops", "admin"]
"""


@pytest.fixture
def loose_settings(tmp_path: Path) -> Settings:
    """No bootstrap admin, and a matrix that lets devops change admins with one approval."""
    config = tmp_path / "dihya.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return load_settings(data_dir=tmp_path, admins=(), rate_limit_per_minute=0, identity_cache_seconds=0,
                         config_file=config)


@pytest.fixture
async def loose(loose_settings: Settings, engine: Engine, clock: Clock) -> AsyncIterator[App]:
    built = build_app(loose_settings, engine=engine, clock=clock)
    await built.start()
    yield built
    await built.stop()


async def test_hole6_the_last_admin_cannot_be_removed(loose: App) -> None:
    chat = Transcript(loose)
    loose.store.grant_role("console:boss", "admin")
    for who in ("d1", "d2"):
        loose.store.grant_role(f"console:{who}", "devops")
    reply = await chat.say("d1", "role revoke boss admin")
    assert "last admin" in reply and "Approval needed" not in reply
    assert admin(loose, "console:boss")


async def test_hole6_the_last_admin_stays_when_two_approved_requests_would_remove_both(loose: App) -> None:
    chat = Transcript(loose)
    loose.store.grant_role("console:boss1", "admin")
    loose.store.grant_role("console:boss2", "admin")
    for who in ("d1", "d2"):
        loose.store.grant_role(f"console:{who}", "devops")
    await chat.say("d1", "role revoke boss1 admin")
    first = chat.last.id
    await chat.say("d2", "role revoke boss2 admin")
    second = chat.last.id
    assert "no longer has the role admin" in await chat.react("d2", "✅", first)
    assert "last admin" in await chat.react("d1", "✅", second)
    assert admin(loose, "console:boss2")
