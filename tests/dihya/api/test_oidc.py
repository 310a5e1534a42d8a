"""Issue 13, acceptance 2 and 4, against a real OpenID provider (oidc-provider on Node, tests/servers/oidc.py):
its client-credentials tokens are accepted as ``oidc:<client id>``; after it rotates its keys, new
tokens are accepted and tokens signed with the removed key are refused; every attack is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bot.memory import MemoryStore
from dihya.api.auth import Authenticator
from dihya.api.oidc import ProviderKeys, ProviderVerifier, RoleClaim
from dihya.api.tokens import TokenIssuer, TokenVerifier, derived_keys
from dihya.api.verdict import Authenticated, Reason, Rejected, Verdict
from dihya.vault import generate_key
from tests.helpers.ports import free_port
from tests.servers.oidc import Client, OidcProvider, ProviderKey

pytestmark = pytest.mark.slow
ROLES = RoleClaim("groups", {"ops-team": "ops", "auditors": "auditor"})
SIGNING, = derived_keys([generate_key()])


class Ticker:
    """The JWKS cache's clock, moved by the test (the cache's ages are what is being tested)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fetches:
    """Every request the cache sends to the provider (an httpx event hook)."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> None:
        self.urls.append(str(request.url))

    @property
    def jwks(self) -> int:
        return sum(url.endswith("/jwks") for url in self.urls)


@pytest.fixture(scope="module")
def key() -> ProviderKey:
    return ProviderKey()


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory, key: ProviderKey) -> Iterator[OidcProvider]:
    server = OidcProvider(tmp_path_factory.mktemp("oidc"), [Client("ci-bot"), Client("plain")],
                          groups={"ci-bot": ["ops-team", "unmapped"]})
    server.start([key])
    yield server
    server.stop()


def verifier(provider: OidcProvider, fetches: Fetches | None = None, ticker: Ticker | None = None,
             **ages: float) -> tuple[ProviderVerifier, httpx.Client]:
    http = httpx.Client(timeout=5, event_hooks={"request": [fetches or Fetches()]})
    keys = ProviderKeys(provider.issuer, http, clock=ticker or Ticker(), **ages)
    return ProviderVerifier(keys, provider.audience, ROLES), http


@pytest.fixture
def auth(provider: OidcProvider) -> Iterator[Authenticator]:
    found, http = verifier(provider)
    yield Authenticator(TokenVerifier([SIGNING], MemoryStore()), found)
    http.close()


def claims(provider: OidcProvider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": provider.issuer, "aud": provider.audience, "sub": "ci-bot", "iat": now, "exp": now + 300}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def rejected(verdict: Verdict) -> Reason | None:
    return verdict.reason if isinstance(verdict, Rejected) else None


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], body: dict[str, Any], secret: bytes | None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret is not None else b""
    return f"{signing_input}.{b64(signature)}"


def test_a_client_credentials_token_names_the_client(provider: OidcProvider, auth: Authenticator) -> None:
    verdict = auth.authenticate(f"Bearer {provider.client_token('ci-bot')}")
    assert verdict == Authenticated("oidc:ci-bot", "oidc", None, frozenset({"ops"}))  # "unmapped" maps to nothing
    assert auth.authenticate(f"Bearer {provider.client_token('plain')}") == Authenticated("oidc:plain", "oidc")


def test_dihya_tokens_are_accepted_beside_the_providers() -> None:
    store = MemoryStore()
    token = TokenIssuer(SIGNING, store, time.time).issue("oidc:ci-bot", "ci").token
    verdict = Authenticator(TokenVerifier([SIGNING], store), None).authenticate(f"Bearer {token}")
    assert isinstance(verdict, Authenticated) and (verdict.identity, verdict.source) == ("oidc:ci-bot", "dihya")


def test_forged_and_stale_provider_tokens_are_refused(provider: OidcProvider, key: ProviderKey,
                                                      auth: Authenticator) -> None:
    now = int(time.time())
    cases = {
        Reason.AUDIENCE: key.sign(claims(provider, aud="https://other.test/api")),
        Reason.EXPIRED: key.sign(claims(provider, exp=now - 45)),
        Reason.NOT_YET_VALID: key.sign(claims(provider, nbf=now + 60)),
        Reason.UNKNOWN_KEY: ProviderKey().sign(claims(provider)),  # a key the provider never published
        Reason.ISSUER: key.sign(claims(provider, iss=f"http://127.0.0.1:{free_port()}")),
        Reason.MALFORMED: key.sign(claims(provider, sub=None)),
    }
    assert {found: rejected(auth.verify(token)) for found, token in cases.items()} == {r: r for r in cases}
    assert rejected(auth.verify(key.sign(claims(provider, exp=now - 20, nbf=now + 20)))) is None  # within skew


def test_algorithm_attacks_are_refused(provider: OidcProvider, key: ProviderKey, auth: Authenticator) -> None:
    public_pem = key.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    body = claims(provider)
    confusion = hand_signed({"alg": "HS256", "typ": "JWT", "kid": key.kid}, body, public_pem)
    none = hand_signed({"alg": "none", "kid": key.kid}, body, None)
    wrong_family = hand_signed({"alg": "ES256", "kid": key.kid}, body, b"x")  # an RSA key's kid, claimed as EC
    assert [rejected(auth.verify(t)) for t in (confusion, none, wrong_family)] == [Reason.ALGORITHM] * 3
    assert auth.verify(confusion) == auth.authenticate(f"Bearer {confusion}")


def test_a_removed_key_is_refused_once_the_cache_ages(tmp_path: Path) -> None:
    old, new = ProviderKey(), ProviderKey()
    server = OidcProvider(tmp_path, [Client("ci-bot")])
    ticker, fetches = Ticker(), Fetches()
    found, http = verifier(server, fetches, ticker, max_age_s=300, refetch_after_s=30)
    server.start([old])
    try:
        signed_old = server.client_token("ci-bot")
        assert jwt.get_unverified_header(signed_old)["kid"] == old.kid
        assert found.verify(signed_old, jwt.get_unverified_header(signed_old)) == Authenticated("oidc:ci-bot", "oidc")

        server.restart([new, old])  # rotation begins: the new key signs, the old one is still published
        signed_new = server.client_token("ci-bot")
        assert jwt.get_unverified_header(signed_new)["kid"] == new.kid
        assert rejected(verify(found, signed_new)) is Reason.UNKNOWN_KEY  # fetched < 30 s ago: no refetch yet
        ticker.now += 31
        assert rejected(verify(found, signed_new)) is None  # unknown kid → one refetch
        assert rejected(verify(found, signed_old)) is None

        server.restart([new])  # rotation ends: the old key is withdrawn
        ticker.now += 301
        assert rejected(verify(found, signed_old)) is Reason.UNKNOWN_KEY
        assert rejected(verify(found, signed_new)) is None
        assert rejected(verify(found, server.client_token("ci-bot"))) is None
    finally:
        server.stop()
        http.close()
    assert fetches.jwks == 3  # first use, the unknown kid, the aged cache: nothing more


def test_made_up_kids_do_not_hammer_the_provider(provider: OidcProvider) -> None:
    fetches = Fetches()
    found, http = verifier(provider, fetches)
    with http:
        for _ in range(20):
            assert rejected(verify(found, ProviderKey().sign(claims(provider)))) is Reason.UNKNOWN_KEY
    assert fetches.jwks == 1
    assert fetches.urls[0] == f"{provider.issuer}/.well-known/openid-configuration"


def test_an_unreachable_provider_refuses_with_503_and_cached_keys_outlive_an_outage(tmp_path: Path) -> None:
    key = ProviderKey()
    server = OidcProvider(tmp_path, [Client("ci-bot")])
    token = key.sign(claims(server))
    ticker = Ticker()
    found, http = verifier(server, ticker=ticker, max_age_s=60)
    with http:
        verdict = verify(found, token)  # not started yet: nothing answers, nothing is cached
        assert verdict == Rejected(Reason.KEYS_UNAVAILABLE) and verdict.status == 503
        server.start([key])
        ticker.now += 31  # past the refetch limit
        assert rejected(verify(found, token)) is None
        server.stop()
        ticker.now += 61  # the cache has aged, the refetch fails: the known keys are kept meanwhile
        assert rejected(verify(found, token)) is None


def test_a_discovery_document_for_another_issuer_is_not_trusted(provider: OidcProvider, key: ProviderKey) -> None:
    token = key.sign(claims(provider, iss=f"{provider.issuer}/"))
    with httpx.Client(timeout=5) as http:
        keys = ProviderKeys(f"{provider.issuer}/", http)  # its document says the issuer has no slash
        assert rejected(ProviderVerifier(keys, provider.audience).verify(token, jwt.get_unverified_header(token))) \
            is Reason.KEYS_UNAVAILABLE


def verify(found: ProviderVerifier, token: str) -> Verdict:
    return found.verify(token, jwt.get_unverified_header(token))
