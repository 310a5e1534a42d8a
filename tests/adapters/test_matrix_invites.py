"""Who may bring the Matrix bot into a room: the access policy's ``bot.invite`` permission, like
every other permission (admins by default, configurable in ``[rbac]``). The end-to-end invite
(accepted from an admin, declined from anyone else) runs on a real Synapse in test_matrix.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.matrix import MatrixAdapter
from bot.rbac import DEFAULT_GRANTS, INVITE_PERMISSION, AccessPolicy
from dihya.app import App, build_app
from dihya.serve import configured_adapters
from dihya.settings import Settings

ADMIN, OPS, NOBODY = "@root:example.org", "@ops:example.org", "@stranger:example.org"
MATRIX = {"matrix_homeserver": "http://127.0.0.1:9", "matrix_user_id": "@dihya:example.org"}  # never reached


async def _adapter(app: App, settings: Settings, policy: AccessPolicy | None = None) -> MatrixAdapter:
    configured = settings.model_copy(update=MATRIX)
    return MatrixAdapter(app.runtime, configured, app.store, policy=policy)


@pytest.fixture
def people(app: App) -> App:
    app.store.grant_role(f"matrix:{ADMIN}", "admin")
    app.store.grant_role(f"matrix:{OPS}", "devops")
    return app


def test_inviting_the_bot_is_an_admin_permission_by_default() -> None:
    assert DEFAULT_GRANTS[INVITE_PERMISSION] == ("admin",)


async def test_by_default_only_admins_may_invite_the_bot(people: App, settings: Settings) -> None:
    adapter = await _adapter(people, settings)
    try:
        assert adapter.may_invite(ADMIN)
        assert not adapter.may_invite(OPS)
        assert not adapter.may_invite(NOBODY)
    finally:
        await adapter.stop()


async def test_the_configured_policy_decides(people: App, settings: Settings) -> None:
    devops = await _adapter(people, settings, AccessPolicy.from_config({INVITE_PERMISSION: ["devops"]}))
    anyone = await _adapter(people, settings, AccessPolicy.from_config({INVITE_PERMISSION: ["guest"]}))
    try:
        assert devops.may_invite(OPS) and not devops.may_invite(ADMIN)  # the matrix replaced the default
        assert anyone.may_invite(NOBODY)  # guests hold it: an unknown inviter too
    finally:
        await devops.stop()
        await anyone.stop()


async def test_dihya_serve_hands_the_adapter_the_rbac_of_the_config_file(settings: Settings, tmp_path: Path) -> None:
    config = tmp_path / "dihya.toml"
    config.write_text(f'[rbac]\n"{INVITE_PERMISSION}" = ["devops", "admin"]\n')
    configured = settings.model_copy(update={"config_file": config, **MATRIX})
    app = build_app(configured)
    app.store.grant_role(f"matrix:{OPS}", "devops")
    (adapter,) = configured_adapters(app)
    try:
        assert isinstance(adapter, MatrixAdapter) and adapter.may_invite(OPS)
    finally:
        await adapter.stop()
        app.engine.dispose()
