"""Building the API's authentication from settings and the TOML file.

    [api.oidc]
    roles_claim = "groups"        # a claim of the provider's tokens that lists groups
    [api.oidc.roles]
    "ops-team" = "ops"            # group → Dihya role, held while the token says so
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from bot.ports import ApiTokenStore, Clock, IssuedToken, KvStore
from bot.rbac import ROLES
from dihya.settings import Settings, SettingsError

if TYPE_CHECKING:  # PyJWT, cryptography and httpx load when tokens are first used, not at start
    import httpx

    from dihya.api.auth import Authenticator
    from dihya.api.oidc import RoleClaim
    from dihya.api.tokens import SigningKey, TokenIssuer


class TokenStore(ApiTokenStore, KvStore, Protocol):
    """What tokens need from the store: their records, and the generated key when there is no secret key."""


class LazyIssuer:
    """The ``ApiTokens`` port of the app: builds the real issuer on first use, so the embedded
    default starts without the JOSE and crypto libraries (tests/dihya/test_lean_start.py)."""

    __slots__ = ("_settings", "_store", "_clock", "_issuer")

    def __init__(self, settings: Settings, store: TokenStore, clock: Clock = time.time) -> None:
        self._settings, self._store, self._clock = settings, store, clock
        self._issuer: TokenIssuer | None = None

    def issue(self, identity: str, name: str, ttl_s: int | None = None) -> IssuedToken:
        if self._issuer is None:
            self._issuer = token_issuer(self._settings, self._store, self._clock)
        return self._issuer.issue(identity, name, ttl_s)


def signing_keys(settings: Settings, store: KvStore) -> tuple[SigningKey, ...]:
    """``DIHYA_SECRET_KEY`` (signs) and ``DIHYA_SECRET_KEYS_OLD`` (verify); else the stored key."""
    from dihya.api.tokens import derived_keys, stored_key

    keys = settings.vault_keys()
    return derived_keys(keys) if keys else (stored_key(store),)


def token_issuer(settings: Settings, store: TokenStore, clock: Clock = time.time) -> TokenIssuer:
    from dihya.api.tokens import TokenIssuer

    return TokenIssuer(signing_keys(settings, store)[0], store, clock, settings.api_token_ttl)


def authenticator(settings: Settings, store: TokenStore, config: dict[str, Any],
                  http: httpx.Client | None = None) -> Authenticator:
    """``http`` is the client for the provider's discovery and JWKS (one is made when None)."""
    import httpx

    from dihya.api.auth import Authenticator
    from dihya.api.oidc import ProviderKeys, ProviderVerifier
    from dihya.api.tokens import TokenVerifier

    dihya = TokenVerifier(signing_keys(settings, store), store)
    if settings.api_oidc_issuer is None:
        return Authenticator(dihya)
    if not settings.api_oidc_audience:
        raise SettingsError("DIHYA_API_OIDC_AUDIENCE: required with DIHYA_API_OIDC_ISSUER (the aud of its tokens)")
    client = http or httpx.Client(timeout=settings.api_oidc_timeout_seconds, follow_redirects=False)
    keys = ProviderKeys(settings.api_oidc_issuer, client)
    return Authenticator(dihya, ProviderVerifier(keys, settings.api_oidc_audience, role_claim(config)))


def role_claim(config: dict[str, Any]) -> RoleClaim:
    api = config.get("api", {})
    oidc = api.get("oidc", {}) if isinstance(api, dict) else None
    if not isinstance(oidc, dict):
        raise SettingsError("DIHYA_CONFIG_FILE: [api.oidc] must be a table")
    claim, roles = oidc.get("roles_claim"), oidc.get("roles", {})
    if claim is not None and (not isinstance(claim, str) or not claim):
        raise SettingsError("DIHYA_CONFIG_FILE: [api.oidc] roles_claim must be a claim name")
    if not isinstance(roles, dict) or not all(isinstance(k, str) and v in ROLES for k, v in roles.items()):
        raise SettingsError(f"DIHYA_CONFIG_FILE: [api.oidc.roles] must map group names to roles from "
                            f"{', '.join(ROLES)}")
    if roles and claim is None:
        raise SettingsError("DIHYA_CONFIG_FILE: [api.oidc.roles] needs [api.oidc] roles_claim")
    from dihya.api.oidc import RoleClaim

    return RoleClaim(claim, dict(roles))
