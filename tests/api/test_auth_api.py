"""Issue 13, acceptance 2: every JWT attack gets 401 with WWW-Authenticate, a guest 403, all audited;
errors are translated RFC 9457 problems, and validation errors name the field."""

import time
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dihya.api.tokens import ALGORITHM
from dihya.api.wiring import signing_keys, token_issuer
from dihya.app import App
from tests.api.helpers import BASE, bearer, client, token

DEPLOY = {"service": "web", "environnement": "staging", "version": "v1"}


def claims_of(app: App) -> tuple[dict[str, object], str, bytes]:
    """A genuine token's claims, its kid and the signing secret, for forging variants of it."""
    genuine = token(app, "console:admin1")
    key = signing_keys(app.settings, app.store)[0]
    return jwt.decode(genuine, options={"verify_signature": False}), key.kid, key.secret


def forged_none(app: App) -> str:
    claims, kid, _ = claims_of(app)
    return jwt.encode(claims, None, algorithm="none", headers={"kid": kid})


def forged_signature(app: App) -> str:
    claims, kid, _ = claims_of(app)
    return jwt.encode(claims, b"not-the-key-" * 4, algorithm=ALGORITHM, headers={"kid": kid})


def forged_rs256(app: App) -> str:  # HS/RS confusion: an RSA signature where Dihya signs with HMAC
    claims, kid, _ = claims_of(app)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid})


def with_claims(**changes: object) -> Callable[[App], str]:
    def forge(app: App) -> str:
        claims, kid, secret = claims_of(app)
        return jwt.encode({**claims, **changes}, secret, algorithm=ALGORITHM, headers={"kid": kid})
    return forge


def unknown_kid(app: App) -> str:
    claims, _, secret = claims_of(app)
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": "0123456789abcdef"})


def expired(app: App) -> str:
    return token_issuer(app.settings, app.store, lambda: time.time() - 7200).issue("console:admin1", "old", 3600).token


def revoked(app: App) -> str:
    issued = token_issuer(app.settings, app.store).issue("console:admin1", "gone")
    app.store.revoke_api_token(issued.record.id, int(time.time() * 1e6))
    return issued.token


ATTACKS: dict[str, Callable[[App], str]] = {
    "garbage": lambda app: "not.a.jwt", "alg_none": forged_none, "bad_signature": forged_signature,
    "hs_rs_confusion": forged_rs256, "wrong_issuer": with_claims(iss="someone-else"),
    "wrong_audience": with_claims(aud="another-api"), "expired": expired,
    "not_yet_valid": with_claims(nbf=int(time.time()) + 3600), "unknown_kid": unknown_kid, "revoked": revoked,
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_each_jwt_attack_is_refused_with_401_and_audited(app: App, attack: str) -> None:
    async with client(app) as http:
        answer = await http.post(f"{BASE}/deploiements/", json=DEPLOY,
                                 headers={"Authorization": f"Bearer {ATTACKS[attack](app)}"})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="dihya", error="invalid_token"')
    assert answer.headers["content-type"] == "application/problem+json"
    assert app.store.jobs() == []
    app.bot.flush_audit()
    assert ("api:POST /deploiements/", "401") in [(r.draft.action, r.draft.outcome) for r in app.store.audit_records()]


async def test_no_token_gets_401_with_a_challenge(app: App) -> None:
    async with client(app) as http:
        answer = await http.get(f"{BASE}/serveurs/")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="dihya"'


async def test_a_guest_token_gets_403_translated_and_audited(app: App) -> None:
    async with client(app) as http:
        answer = await http.post(f"{BASE}/deploiements/", json=DEPLOY,
                                 headers={**bearer(app, "console:guest1"), "Accept-Language": "fr-FR,fr;q=0.9"})
        reads = await http.get(f"{BASE}/approbations/", headers=bearer(app, "console:guest1"))
    assert answer.status_code == 403
    assert answer.json()["title"] != "Not allowed"  # French, from the catalog
    assert answer.headers["Content-Language"] == "fr"
    assert reads.status_code == 403
    assert app.store.jobs() == []
    app.bot.flush_audit()
    rows = [(r.draft.action, r.draft.outcome) for r in app.store.audit_records()]
    assert ("command:deploy", "denied") in rows
    assert ("api:POST /deploiements/", "403") in rows


async def test_validation_errors_name_the_field_in_the_asked_language(app: App) -> None:
    async with client(app) as http:
        answer = await http.post(f"{BASE}/deploiements/?lang=ar", json={"service": "web", "version": "v1"},
                                 headers=bearer(app, "console:admin1"))
    assert answer.status_code == 422
    problem = answer.json()
    assert [e["field"] for e in problem["errors"]] == ["environnement"]
    assert "environnement" in problem["detail"]
    assert answer.headers["Content-Language"] == "ar"
    assert app.store.jobs() == []


async def test_the_inventory_is_ansible_dynamic_inventory_json(app: App) -> None:
    async with client(app) as http:
        headers = bearer(app, "console:admin1")
        for name, address, env in [("web1", "10.0.0.5", "production"), ("db1", "10.0.0.6", "staging")]:
            from bot.ports import Server
            app.store.add_server(Server(name, address, env))
        inventory = (await http.get(f"{BASE}/inventaire/", headers=headers)).json()
        servers = (await http.get(f"{BASE}/serveurs/", headers=headers)).json()
    assert inventory["production"]["hosts"] == ["web1"] and inventory["staging"]["hosts"] == ["db1"]
    assert inventory["_meta"]["hostvars"]["db1"] == {"ansible_host": "10.0.0.6"}
    assert sorted(inventory["all"]["children"]) == ["production", "staging"]
    assert {s["name"]: s["id"] for s in servers["items"]} == {"web1": 1, "db1": 2}


async def test_openapi_describes_every_operation_with_an_example(app: App) -> None:
    async with client(app) as http:
        spec = (await http.get(f"{BASE}/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert "/deploiements/" in spec["paths"] and "/approbations/{approval_id}/votes" in spec["paths"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("description"), (method, path)
    assert "backend-django" in str(spec["components"]["schemas"]["DeploymentRequest"])


async def test_audits_verify_checks_the_chain_for_an_auditor_only(app: App) -> None:
    async with client(app) as http:
        check = await http.get(f"{BASE}/audits/verify", headers=bearer(app, "console:admin1"))
        guest = await http.get(f"{BASE}/audits/verify", headers=bearer(app, "console:guest1"))
    assert check.status_code == 200, check.text
    assert check.json()["intact"] is True and "intact" in check.json()["message"]
    assert guest.status_code == 403
    app.bot.flush_audit()
    rows = [(r.draft.action, r.draft.outcome) for r in app.store.audit_records()]
    assert ("command:audit.verify", "ok") in rows and ("api:GET /audits/verify", "200") in rows
