"""Tokens Dihya issues for its API: HS256 JWTs naming an identity, each with a revocable record.

Claims: ``iss`` "dihya", ``aud`` "dihya-api", ``sub`` the identity key, ``jti`` the token id (its
record in the store), ``iat``/``nbf``/``exp``. The token carries no roles: they are looked up on
every request, so a revoked role takes effect at once.

The signing key is derived from ``DIHYA_SECRET_KEY`` (stretched like the vault's keys, then HKDF
with a label of its own, so it is never the key that encrypts secrets); keys listed in
``DIHYA_SECRET_KEYS_OLD`` still verify, picked by ``kid``. HMAC is enough: only Dihya verifies its
tokens. Without a secret key, a random key is generated once and kept in the store; then anyone who
can read the database can make tokens, so production sets ``DIHYA_SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.clock import micros
from bot.ports import ApiTokenRecord, ApiTokenStore, Clock, IssuedToken, KvStore
from dihya.api.verdict import Authenticated, Reason, Rejected, Verdict, rejection
from dihya.vault import fernet_key

ISSUER = "dihya"
AUDIENCE = "dihya-api"
ALGORITHM = "HS256"
LEEWAY_S = 30
DEFAULT_TTL_S = 12 * 3600
MAX_TTL_S = 90 * 86400
STORED_KEY = "api.token_key"  # key-value name of the generated key (no DIHYA_SECRET_KEY)
_INFO = b"dihya/api-tokens/v1"
_REQUIRED = ["iss", "aud", "sub", "jti", "iat", "nbf", "exp"]
IDENTITY = re.compile(r"[a-z]{2,16}:[^\s:][^\s]{0,254}")  # "platform:user_id"
VERIFIED_MAX = 4096  # tokens whose signature and claims were checked, kept to skip doing it again


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    secret: bytes = field(repr=False)


def signing_key(secret: bytes) -> SigningKey:
    kid = hashlib.sha256(b"dihya/api-token-kid/" + secret).hexdigest()[:16]
    return SigningKey(kid, secret)


def derived_keys(secret_keys: Sequence[str]) -> tuple[SigningKey, ...]:
    """One signing key per configured secret key, newest first (the first signs)."""
    return tuple(signing_key(_hkdf(base64.urlsafe_b64decode(fernet_key(key)))) for key in secret_keys)


def stored_key(kv: KvStore) -> SigningKey:
    """The generated key kept in the store, made on first use."""
    found = kv.kv_get(STORED_KEY)
    if found is None:
        found = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
        kv.kv_set(STORED_KEY, found)
    return signing_key(_hkdf(base64.urlsafe_b64decode(found)))


def _hkdf(material: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(material)


class TokenIssuer:
    """Signs a token and records it (the ``ApiTokens`` port of command handlers and the CLI)."""

    __slots__ = ("_key", "_store", "_clock", "_default_ttl_s")

    def __init__(self, key: SigningKey, store: ApiTokenStore, clock: Clock, default_ttl_s: int = DEFAULT_TTL_S) -> None:
        self._key, self._store, self._clock, self._default_ttl_s = key, store, clock, default_ttl_s

    def issue(self, identity: str, name: str, ttl_s: int | None = None) -> IssuedToken:
        ttl = ttl_s or self._default_ttl_s
        if IDENTITY.fullmatch(identity) is None or not 1 <= ttl <= MAX_TTL_S:
            raise ValueError("an identity key PLATFORM:USER_ID and a lifetime up to 90 days are needed")
        now = int(self._clock())
        record = ApiTokenRecord(secrets.token_hex(8), name, identity, micros(now), micros(now + ttl))
        self._store.add_api_token(record)  # recorded first: a token without its record is refused anyway
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": identity, "jti": record.id,
                  "iat": now, "nbf": now, "exp": now + ttl}
        token = jwt.encode(claims, self._key.secret, algorithm=ALGORITHM, headers={"kid": self._key.kid})
        return IssuedToken(record, token)


class TokenVerifier:
    """Checks a token Dihya issued: algorithm, key, signature, claims (30 s of clock skew), record.

    A token whose signature and claims were checked is remembered (its exact text: the same bytes
    carry the same signature), so a client sending it again costs a time-window check and the
    record lookup — the record is still read on every request, so a revocation takes effect at once."""

    __slots__ = ("_clock", "_keys", "_store", "_verified")

    def __init__(self, keys: Sequence[SigningKey], store: ApiTokenStore, clock: Clock = time.time) -> None:
        self._keys = {key.kid: key for key in keys}
        self._store, self._clock = store, clock
        self._verified: dict[str, tuple[float, float, Mapping[str, object]]] = {}  # not before, expiry, claims

    def verify(self, token: str, header: Mapping[str, object]) -> Verdict:
        if header.get("alg") != ALGORITHM:  # "none", and RS/ES keys used as HMAC secrets
            return Rejected(Reason.ALGORITHM)
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            return Rejected(Reason.UNKNOWN_KEY)
        try:
            claims = jwt.decode(token, key.secret, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                                leeway=LEEWAY_S, options={"require": _REQUIRED})
        except jwt.InvalidTokenError as err:
            return rejection(err)
        if len(self._verified) >= VERIFIED_MAX:
            self._verified.clear()
        self._verified[token] = (float(max(claims["nbf"], claims["iat"])), float(claims["exp"]), claims)
        return self._recorded(claims)

    def verified_before(self, token: str) -> Verdict | None:
        """The verdict on a token this verifier accepted before (its time window checked again, its
        record read again), or None when it must be verified in full."""
        known = self._verified.get(token)
        if known is None:
            return None
        not_before, expiry, claims = known
        now = self._clock()
        if now >= expiry + LEEWAY_S:  # PyJWT's own rules, with the same skew
            self._verified.pop(token, None)  # another thread may have dropped it already
            return Rejected(Reason.EXPIRED)
        if not_before > now + LEEWAY_S:
            return Rejected(Reason.NOT_YET_VALID)
        return self._recorded(claims)

    def _recorded(self, claims: Mapping[str, object]) -> Verdict:
        token_id, identity = claims["jti"], claims["sub"]
        if not isinstance(token_id, str) or not isinstance(identity, str):
            return Rejected(Reason.MALFORMED)
        record = self._store.api_token(token_id)
        if record is None or record.revoked_us is not None or record.identity != identity:
            return Rejected(Reason.REVOKED)
        return Authenticated(identity, "dihya", token_id)
