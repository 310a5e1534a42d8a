"""What authenticating a bearer token gives: who it names, or why it was refused (RFC 6750)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import jwt

REALM = "dihya"


class Reason(enum.Enum):
    """Why a token is refused. The value is the RFC 6750 ``error_description``: plain ASCII without
    quotes or backslashes (a header value, read by programs; not translated)."""

    MISSING = "no bearer token"
    MALFORMED = "the token is malformed"
    ALGORITHM = "the signing algorithm is not accepted"
    SIGNATURE = "the signature does not verify"
    ISSUER = "the issuer is not trusted"
    AUDIENCE = "the token is not meant for this API"
    EXPIRED = "the token has expired"
    NOT_YET_VALID = "the token is not valid yet"
    UNKNOWN_KEY = "the signing key is unknown"
    REVOKED = "the token has been revoked"
    KEYS_UNAVAILABLE = "the keys of the identity provider cannot be fetched"


@dataclass(frozen=True, slots=True)
class Authenticated:
    identity: str  # identity key: "console:admin1", "oidc:<sub>"; roles are looked up per request
    source: str  # "dihya" or "oidc"
    token_id: str | None = None  # the jti of a token Dihya issued
    claim_roles: frozenset[str] = frozenset()  # roles mapped from the provider's roles claim


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Reason

    @property
    def status(self) -> int:
        """401, except when the provider's keys cannot be fetched: the token may be fine (503)."""
        return 503 if self.reason is Reason.KEYS_UNAVAILABLE else 401

    @property
    def www_authenticate(self) -> str:
        """The ``WWW-Authenticate`` value; a request without credentials gets no error code (RFC 6750 §3.1)."""
        if self.reason is Reason.MISSING:
            return f'Bearer realm="{REALM}"'
        return f'Bearer realm="{REALM}", error="invalid_token", error_description="{self.reason.value}"'


Verdict = Authenticated | Rejected

# PyJWT's errors, most specific first (several derive from one another).
_ERRORS: tuple[tuple[type[jwt.InvalidTokenError], Reason], ...] = (
    (jwt.ExpiredSignatureError, Reason.EXPIRED),
    (jwt.ImmatureSignatureError, Reason.NOT_YET_VALID),
    (jwt.InvalidIssuedAtError, Reason.NOT_YET_VALID),
    (jwt.InvalidIssuerError, Reason.ISSUER),
    (jwt.InvalidAudienceError, Reason.AUDIENCE),
    (jwt.InvalidAlgorithmError, Reason.ALGORITHM),
    (jwt.InvalidSignatureError, Reason.SIGNATURE),
)


def rejection(err: jwt.InvalidTokenError) -> Rejected:
    """The reason for a PyJWT error; anything else (bad encoding, a missing claim) is malformed."""
    return Rejected(next((reason for kind, reason in _ERRORS if isinstance(err, kind)), Reason.MALFORMED))
