"""One entry point for the API adapter: an ``Authorization`` header in, an identity or a reason out.

The token's unverified ``iss`` only chooses the verifier (Dihya's own, or the configured provider's);
each verifier then checks everything itself, with its own algorithms and keys. Synchronous: the
adapter checks Dihya's own tokens on the event loop (a record lookup in the store, like the rest of
a request), and runs the provider's off it (fetching its keys blocks on the network).
"""

from __future__ import annotations

import jwt

from dihya.api import tokens
from dihya.api.oidc import ProviderVerifier
from dihya.api.verdict import Reason, Rejected, Verdict

MAX_TOKEN = 8192  # characters; larger "tokens" are refused before any parsing


class Authenticator:
    __slots__ = ("_dihya", "_provider")

    def __init__(self, dihya: tokens.TokenVerifier, provider: ProviderVerifier | None = None) -> None:
        self._dihya, self._provider = dihya, provider

    def authenticate(self, authorization: str | None) -> Verdict:
        """``authorization`` is the header's value, ``Bearer <token>`` (the scheme in any case)."""
        verdict = self._authenticate(authorization, provider=True)
        assert verdict is not None
        return verdict

    def authenticate_offline(self, authorization: str | None) -> Verdict | None:
        """``authenticate`` without the network: None for the provider's tokens (its keys may
        have to be fetched), which ``authenticate`` must then check off the event loop."""
        return self._authenticate(authorization, provider=False)

    def _authenticate(self, authorization: str | None, provider: bool) -> Verdict | None:
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return Rejected(Reason.MISSING)
        return self._verify(token, provider)

    def verify(self, token: str) -> Verdict:
        verdict = self._verify(token, provider=True)
        assert verdict is not None
        return verdict

    def _verify(self, token: str, provider: bool) -> Verdict | None:
        if len(token) > MAX_TOKEN or not token.isascii():
            return Rejected(Reason.MALFORMED)
        known = self._dihya.verified_before(token)  # a client's repeated token: no parsing again
        if known is not None:
            return known
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return Rejected(Reason.MALFORMED)
        issuer = claims.get("iss")
        if issuer == tokens.ISSUER:
            return self._dihya.verify(token, header)
        if self._provider is not None and issuer == self._provider.issuer:
            return self._provider.verify(token, header) if provider else None
        return Rejected(Reason.ISSUER)
