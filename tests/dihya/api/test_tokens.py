"""Issue 13, acceptance 2 (Dihya's own tokens): every attack on a token is refused with its reason,
which the API adapter turns into a 401 and an RFC 6750 ``WWW-Authenticate`` header."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.memory import MemoryStore
from dihya.api.auth import Authenticator
from dihya.api.tokens import AUDIENCE, ISSUER, SigningKey, TokenIssuer, TokenVerifier, derived_keys, stored_key
from dihya.api.verdict import Authenticated, Reason, Rejected
from dihya.vault import fernet_key, generate_key

KEY, OLD_KEY = generate_key(), generate_key()
SIGNING, OLD_SIGNING = derived_keys([KEY, OLD_KEY])


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def auth(store: MemoryStore) -> Authenticator:
    return Authenticator(TokenVerifier([SIGNING, OLD_SIGNING], store))


def issue(store: MemoryStore, identity: str = "console:ann", key: SigningKey = SIGNING, ttl: int | None = None) -> str:
    return TokenIssuer(key, store, time.time).issue(identity, "ci", ttl).token


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(store: MemoryStore, header: dict[str, Any] | None = None, key: bytes | None = SIGNING.secret,
           **claims: Any) -> str:
    """A token with a record in the store, its claims and header changed (None: left out), signed
    HS256 with ``key``."""
    genuine = jwt.decode(issue(store), options={"verify_signature": False})
    head = _present({"alg": "HS256", "typ": "JWT", "kid": SIGNING.kid, **(header or {})})
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(_present({**genuine, **claims})).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest() if key is not None else b""
    return f"{signing_input}.{b64(signature)}"


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def reason(auth: Authenticator, token: str) -> Reason | None:
    verdict = auth.authenticate(f"Bearer {token}")
    return verdict.reason if isinstance(verdict, Rejected) else None


def test_a_token_names_its_identity_and_its_record(store: MemoryStore, auth: Authenticator) -> None:
    issued = TokenIssuer(SIGNING, store, time.time, default_ttl_s=3600).issue("slack:U1", "ci")
    verdict = auth.authenticate(f"bearer {issued.token}")
    assert verdict == Authenticated("slack:U1", "dihya", issued.record.id)
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    assert (claims["iss"], claims["aud"], claims["sub"]) == (ISSUER, AUDIENCE, "slack:U1")
    assert claims["jti"] == issued.record.id
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    assert "roles" not in claims  # roles are looked up on every request
    assert store.api_token(issued.record.id) == issued.record
    assert issued.token not in repr(issued) and SIGNING.secret.hex() not in repr(SIGNING)


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer   "])
def test_no_bearer_token_is_a_challenge_without_an_error_code(auth: Authenticator, header: str | None) -> None:
    verdict = auth.authenticate(header)
    assert verdict == Rejected(Reason.MISSING)
    assert verdict.status == 401 and verdict.www_authenticate == 'Bearer realm="dihya"'


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln", "x" * 9000,
                                     "ünïcode.token.here", "e30.W10.e30"])
def test_garbage_is_malformed(auth: Authenticator, garbage: str) -> None:
    assert reason(auth, garbage) is Reason.MALFORMED


def test_alg_none_is_refused(store: MemoryStore, auth: Authenticator) -> None:
    assert reason(auth, forged(store, {"alg": "none"}, key=None)) is Reason.ALGORITHM


def test_an_hmac_signed_with_an_rsa_public_key_is_refused(store: MemoryStore, auth: Authenticator) -> None:
    public = rsa.generate_private_key(65537, 2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert reason(auth, forged(store, key=public)) is Reason.SIGNATURE


def test_an_rsa_signed_token_naming_dihya_is_refused(store: MemoryStore, auth: Authenticator) -> None:
    claims = jwt.decode(issue(store), options={"verify_signature": False})
    token = jwt.encode(claims, rsa.generate_private_key(65537, 2048), algorithm="RS256", headers={"kid": SIGNING.kid})
    assert reason(auth, token) is Reason.ALGORITHM


def test_a_changed_claim_breaks_the_signature(store: MemoryStore, auth: Authenticator) -> None:
    header, payload, signature = issue(store).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered = b64(json.dumps({**claims, "sub": "console:admin1"}).encode())
    assert reason(auth, f"{header}.{tampered}.{signature}") is Reason.SIGNATURE


def test_wrong_issuer_and_audience_are_refused(store: MemoryStore, auth: Authenticator) -> None:
    assert reason(auth, forged(store, iss="https://evil.example")) is Reason.ISSUER
    assert reason(auth, forged(store, iss=None)) is Reason.ISSUER
    assert reason(auth, forged(store, aud="another-api")) is Reason.AUDIENCE


def test_expiry_and_not_before_allow_thirty_seconds_of_skew(store: MemoryStore, auth: Authenticator) -> None:
    now = int(time.time())
    assert reason(auth, forged(store, exp=now - 45)) is Reason.EXPIRED
    assert reason(auth, forged(store, exp=now - 20)) is None  # within the skew
    assert reason(auth, forged(store, nbf=now + 60)) is Reason.NOT_YET_VALID
    assert reason(auth, forged(store, nbf=now + 20)) is None
    assert reason(auth, forged(store, iat=now + 60)) is Reason.NOT_YET_VALID  # issued in the future


def test_a_required_claim_missing_is_malformed(store: MemoryStore, auth: Authenticator) -> None:
    assert reason(auth, forged(store, exp=None)) is Reason.MALFORMED
    assert reason(auth, forged(store, jti=None)) is Reason.MALFORMED


def test_an_unknown_kid_is_refused_and_old_keys_still_verify(store: MemoryStore, auth: Authenticator) -> None:
    assert reason(auth, forged(store, {"kid": "0123456789abcdef"})) is Reason.UNKNOWN_KEY
    assert reason(auth, forged(store, {"kid": None})) is Reason.UNKNOWN_KEY
    assert reason(auth, issue(store, key=OLD_SIGNING)) is None  # DIHYA_SECRET_KEYS_OLD: still readable
    retired = Authenticator(TokenVerifier([SIGNING], store))  # the old key removed from the settings
    assert reason(retired, issue(store, key=OLD_SIGNING)) is Reason.UNKNOWN_KEY


def test_a_revoked_or_unrecorded_token_is_refused(store: MemoryStore, auth: Authenticator) -> None:
    issued = TokenIssuer(SIGNING, store, time.time).issue("console:ann", "ci")
    assert store.revoke_api_token(issued.record.id, 1)
    assert reason(auth, issued.token) is Reason.REVOKED
    assert reason(auth, forged(store, jti="feedfacefeedface")) is Reason.REVOKED  # no such record
    assert reason(auth, forged(store, sub="console:admin1")) is Reason.REVOKED  # the record names someone else


def test_every_reason_makes_an_rfc6750_header() -> None:
    allowed = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")  # error_description's characters (RFC 6750 §3)
    for found in Reason:
        header = Rejected(found).www_authenticate
        assert header.startswith('Bearer realm="dihya"')
        if found is not Reason.MISSING:
            assert f'error="invalid_token", error_description="{found.value}"' in header
            assert allowed.fullmatch(found.value)
    assert Rejected(Reason.EXPIRED).status == 401 and Rejected(Reason.KEYS_UNAVAILABLE).status == 503


def test_the_signing_key_is_derived_for_tokens_only_and_kept_stable(store: MemoryStore) -> None:
    again, = derived_keys([KEY])
    assert again == SIGNING and SIGNING.secret not in base64.urlsafe_b64decode(fernet_key(KEY))
    assert SIGNING.kid != OLD_SIGNING.kid
    generated = stored_key(store)
    assert stored_key(store) == generated and store.kv_get("api.token_key") is not None
    assert stored_key(MemoryStore()) != generated


def test_issuing_checks_the_identity_and_lifetime(store: MemoryStore) -> None:
    issuer = TokenIssuer(SIGNING, store, time.time)
    for identity, ttl in (("admin1", None), ("console:", None), ("console:ann", 91 * 86400)):
        with pytest.raises(ValueError, match="identity key"):
            issuer.issue(identity, "ci", ttl)
    assert store.api_tokens() == []
    record = issuer.issue("matrix:@ann:example.org", "ci").record
    assert record.expires_us - record.created_us == 12 * 3600 * 1_000_000


class Clock:
    """The verifier's clock, moved by the test (PyJWT reads the real one on the first check)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_token_seen_before_is_still_refused_once_revoked_or_expired(store: MemoryStore) -> None:
    clock = Clock()
    auth = Authenticator(TokenVerifier([SIGNING], store, clock))
    issued = TokenIssuer(SIGNING, store, time.time).issue("console:ann", "ci", 60)
    assert auth.authenticate(f"Bearer {issued.token}") == Authenticated("console:ann", "dihya", issued.record.id)
    assert reason(auth, issued.token) is None  # remembered: the signature is not checked again
    clock.now += 60 + 20
    assert reason(auth, issued.token) is None  # within the 30 s of skew, as PyJWT allows
    clock.now += 15
    assert reason(auth, issued.token) is Reason.EXPIRED
    other = TokenIssuer(SIGNING, store, time.time).issue("console:bob", "ci")
    assert reason(auth, other.token) is None
    assert store.revoke_api_token(other.record.id, 1)
    assert reason(auth, other.token) is Reason.REVOKED  # the record is read on every request


def test_a_token_is_remembered_only_byte_for_byte(store: MemoryStore) -> None:
    auth = Authenticator(TokenVerifier([SIGNING], store))
    token = issue(store)
    assert reason(auth, token) is None
    head, body, signature = token.split(".")
    tampered = f"{head}.{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    assert reason(auth, tampered) is Reason.SIGNATURE
