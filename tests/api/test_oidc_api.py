"""Issue 13, acceptance 4, through the API itself: a client-credentials token of the real OpenID
provider (oidc-provider on Node, tests/servers/oidc.py) is accepted by ``/api/it_devops/`` as
``oidc:<client>``; after the provider rotates its key, its new tokens are accepted and a token signed
with the removed key is refused with 401 and ``WWW-Authenticate``. The key cache's clock is moved by
the test instead of waiting out its 30 s refetch limit and 5 min age."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from dihya.api.auth import Authenticator
from dihya.api.oidc import ProviderKeys, ProviderVerifier, RoleClaim
from dihya.api.rest.mount import api_mount
from dihya.api.tokens import TokenVerifier
from dihya.api.wiring import signing_keys
from dihya.app import App, build_app
from dihya.http import build_http
from dihya.settings import load_settings
from tests.api.helpers import BASE
from tests.servers.oidc import Client, OidcProvider, ProviderKey

pytestmark = pytest.mark.slow


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def app(tmp_path: Path, engine: Engine) -> AsyncIterator[App]:
    built = build_app(load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                                    identity_cache_seconds=0), engine=engine)
    await built.start()
    built.store.grant_role("oidc:ci-bot", "ops")
    yield built
    await built.stop()


async def test_provider_tokens_before_and_after_a_key_rotation(app: App, tmp_path: Path) -> None:
    old, new = ProviderKey(), ProviderKey()
    provider = OidcProvider(tmp_path / "oidc", [Client("ci-bot")])
    (tmp_path / "oidc").mkdir()
    ticker = Ticker()
    keys_http = httpx.Client(timeout=5)
    keys = ProviderKeys(provider.issuer, keys_http, clock=ticker, max_age_s=300, refetch_after_s=30)
    authenticator = Authenticator(TokenVerifier(signing_keys(app.settings, app.store), app.store),
                                  ProviderVerifier(keys, provider.audience, RoleClaim("groups", {})))
    transport = httpx.ASGITransport(app=build_http(app, [api_mount(app, authenticator)]))
    provider.start([old])
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://dihya.test") as http:
            async def servers(token: str) -> httpx.Response:
                return await http.get(f"{BASE}/serveurs/", headers={"Authorization": f"Bearer {token}"})

            signed_old = provider.client_token("ci-bot")
            assert (await servers(signed_old)).status_code == 200

            provider.restart([new, old])  # the new key signs; the old one is still published
            signed_new = provider.client_token("ci-bot")
            ticker.now += 31  # past the refetch limit: the unknown kid fetches the keys again
            assert (await servers(signed_new)).status_code == 200
            assert (await servers(signed_old)).status_code == 200

            provider.restart([new])  # the old key is withdrawn
            ticker.now += 301  # the cached key set has aged
            refused = await servers(signed_old)
            assert refused.status_code == 401
            assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
            assert "signing key is unknown" in refused.headers["WWW-Authenticate"]
            assert (await servers(signed_new)).status_code == 200
            assert (await servers(provider.client_token("ci-bot"))).status_code == 200
    finally:
        provider.stop()
        keys_http.close()
    app.bot.flush_audit()
    outcomes = [r.draft.outcome for r in app.store.audit_records() if r.draft.action == "api:GET /serveurs/"]
    assert outcomes == ["200", "200", "200", "401", "200", "200"]
