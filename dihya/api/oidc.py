"""Tokens an OpenID Connect provider issues (``DIHYA_API_OIDC_ISSUER``): keys from its JWKS.

The JWKS is found by discovery (``/.well-known/openid-configuration``, whose ``issuer`` must be the
configured one), fetched with a timeout and cached by ``kid``. A token signed with a key not in the
cache triggers one refetch (the provider rotated its keys), at most once per ``refetch_after_s``, so
tokens with made-up ``kid`` values cannot make Dihya hammer the provider. The whole set is refetched
after ``max_age_s`` as well, which is how a key the provider removed stops being accepted.

Only RS256 and ES256 are accepted, and a key is used only with its own algorithm: an HMAC ("oct") key
or an HS256 token never reaches signature checking (HS/RS key confusion).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
import jwt

from bot.rbac import ROLES
from dihya.api.verdict import Authenticated, Reason, Rejected, Verdict, rejection

log = logging.getLogger("dihya.api.oidc")

ALGORITHMS = ("RS256", "ES256")
LEEWAY_S = 30
_KEY_TYPES = {"RSA": "RS256", "EC": "ES256"}
_REQUIRED = ["iss", "aud", "sub", "exp"]
_MAX_SUBJECT = 255


class KeysUnavailable(Exception):
    """The provider's keys could not be fetched and none are cached."""


class ProviderKeys:
    """The provider's signing keys by ``kid``, fetched lazily; safe to share between threads."""

    __slots__ = ("issuer", "_http", "_clock", "_max_age_s", "_refetch_after_s", "_lock", "_keys", "_fetched",
                 "_jwks_uri")

    def __init__(self, issuer: str, http: httpx.Client, *, clock: Callable[[], float] = time.monotonic,
                 max_age_s: float = 300.0, refetch_after_s: float = 30.0) -> None:
        self.issuer = issuer
        self._http = http
        self._clock = clock
        self._max_age_s, self._refetch_after_s = max_age_s, refetch_after_s
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched: float | None = None  # when the last fetch was tried
        self._jwks_uri: str | None = None

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            since = None if self._fetched is None else self._clock() - self._fetched
            if since is None or since >= self._max_age_s or (kid not in self._keys and since >= self._refetch_after_s):
                self._refresh()
            return self._keys.get(kid)

    def _refresh(self) -> None:
        self._fetched = self._clock()
        try:
            self._keys = _signing_keys(self._get(self._jwks_uri or self._discover()))
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
            # Keep serving the keys already known: a provider outage must not lock everyone out.
            log.warning("cannot fetch the identity provider's keys", extra={"issuer": self.issuer,
                                                                             "error": type(err).__name__})
            if not self._keys:
                raise KeysUnavailable(self.issuer) from None

    def _discover(self) -> str:
        document = self._get(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
        if document.get("issuer") != self.issuer:
            raise ValueError("the discovery document names another issuer")
        uri = document["jwks_uri"]
        if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
            raise ValueError("no usable jwks_uri")
        self._jwks_uri = uri
        return uri

    def _get(self, url: str) -> Mapping[str, object]:
        response = self._http.get(url)
        response.raise_for_status()
        found = response.json()
        if not isinstance(found, dict):
            raise ValueError("not a JSON object")
        return found


def _signing_keys(jwks: Mapping[str, object]) -> dict[str, jwt.PyJWK]:
    """The JWKS's RSA and EC (P-256) signature keys that have a ``kid``; other keys are left out."""
    keys: dict[str, jwt.PyJWK] = {}
    entries = jwks["keys"]
    if not isinstance(entries, list):
        raise ValueError("keys is not a list")
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or entry.get("use", "sig") != "sig":
            continue
        algorithm = _KEY_TYPES.get(str(entry.get("kty")))
        if algorithm is None or entry.get("alg", algorithm) != algorithm or entry.get("crv", "P-256") != "P-256":
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry, algorithm)
        except jwt.PyJWKError:
            continue
    return keys


@dataclass(frozen=True, slots=True)
class RoleClaim:
    """``[api.oidc] roles_claim`` and ``[api.oidc.roles]``: provider group → Dihya role."""

    claim: str | None = None
    roles: Mapping[str, str] | None = None

    def roles_in(self, claims: Mapping[str, object]) -> frozenset[str]:
        if self.claim is None or not self.roles:
            return frozenset()
        found = claims.get(self.claim)
        values = found.split() if isinstance(found, str) else found if isinstance(found, list) else []
        mapped = (self.roles.get(v) for v in values if isinstance(v, str))
        return frozenset(r for r in mapped if r in ROLES)


class ProviderVerifier:
    """Checks a provider's access token; its subject becomes the identity ``oidc:<sub>``."""

    __slots__ = ("issuer", "_audience", "_keys", "_roles")

    def __init__(self, keys: ProviderKeys, audience: str, roles: RoleClaim | None = None) -> None:
        self.issuer = keys.issuer
        self._audience = audience
        self._keys = keys
        self._roles = roles or RoleClaim()

    def verify(self, token: str, header: Mapping[str, object]) -> Verdict:
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS:
            return Rejected(Reason.ALGORITHM)
        if not isinstance(kid, str):
            return Rejected(Reason.UNKNOWN_KEY)
        try:
            key = self._keys.key(kid)
        except KeysUnavailable:
            return Rejected(Reason.KEYS_UNAVAILABLE)
        if key is None:
            return Rejected(Reason.UNKNOWN_KEY)
        if key.algorithm_name != algorithm:
            return Rejected(Reason.ALGORITHM)
        try:
            claims = jwt.decode(token, key.key, algorithms=[algorithm], audience=self._audience, issuer=self.issuer,
                                leeway=LEEWAY_S, options={"require": _REQUIRED})
        except jwt.InvalidTokenError as err:
            return rejection(err)
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject or len(subject) > _MAX_SUBJECT or not subject.isprintable():
            return Rejected(Reason.MALFORMED)
        return Authenticated(f"oidc:{subject}", "oidc", None, self._roles.roles_in(claims))
