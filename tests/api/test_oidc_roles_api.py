"""Issue 13: ``[api.oidc] roles_claim`` maps a provider's groups to roles over HTTP, against a real OpenID
provider (oidc-provider on Node, tests/servers/oidc.py). The roles hold while the token says so: they
are applied per request (reads, commands, votes) and never written to the store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import load_settings
from tests.api.helpers import BASE, client
from tests.servers.oidc import Client, OidcProvider, ProviderKey

pytestmark = pytest.mark.slow
CONFIG = '[api.oidc]\nroles_claim = "groups"\n[api.oidc.roles]\n"ops-team" = "ops"\n'


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    server = OidcProvider(tmp_path_factory.mktemp("oidc"), [Client("ci-bot"), Client("plain")],
                          groups={"ci-bot": ["ops-team", "unmapped"]})
    server.start([ProviderKey()])
    yield server
    server.stop()


@pytest.fixture
async def app(provider: OidcProvider, engine: Engine, tmp_path: Path) -> AsyncIterator[App]:
    config = tmp_path / "dihya.toml"
    config.write_text(CONFIG, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                             identity_cache_seconds=0, config_file=config, api_oidc_issuer=provider.issuer,
                             api_oidc_audience=provider.audience)
    built = build_app(settings, engine=engine)
    await built.start()
    yield built
    await built.stop()


async def test_a_mapped_group_grants_its_role_for_the_request_only(app: App, provider: OidcProvider) -> None:
    ops = {"Authorization": f"Bearer {provider.client_token('ci-bot')}"}
    plain = {"Authorization": f"Bearer {provider.client_token('plain')}"}
    async with client(app) as http:
        opened = await http.post(f"{BASE}/incidents/", headers=ops, json={"titre": "disk full"})  # a command
        listed = await http.get(f"{BASE}/incidents/", headers=ops)  # a read
        refused = await http.post(f"{BASE}/incidents/", headers=plain, json={"titre": "disk full"})
        unread = await http.get(f"{BASE}/incidents/?lang=fr", headers=plain)
    assert opened.status_code == 201, opened.text
    assert opened.json()["opened_by"] == "oidc:ci-bot"
    assert [i["title"] for i in listed.json()["items"]] == ["disk full"]
    assert refused.status_code == 403 and unread.status_code == 403
    assert "guest" in unread.json()["detail"]
    record = app.store.identity("oidc:ci-bot")
    assert record is None or not record.roles  # held while the token says so, never granted
