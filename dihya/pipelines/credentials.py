"""Provider credentials, read from the encrypted secrets at the moment they are needed.

GitHub: a fine-grained token, or a GitHub App installation token (a JWT signed with the App's
private key is exchanged for a token valid one hour, renewed a minute before it expires).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Generator
from datetime import datetime

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.i18n import N_, Msg
from dihya.pipelines.port import ProviderError

TokenSource = Callable[[], str]
RENEW_BEFORE_S = 60


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` with the token asked for on each request (it may rotate)."""

    def __init__(self, token: TokenSource) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token()}"
        yield request


def missing_secret(name: str, pipeline: str) -> ProviderError:
    return ProviderError(Msg(N_("The secret {name} that {pipeline} needs is not set (“secret set” in a direct "
                                "message)."), {"name": name, "pipeline": pipeline}))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def app_jwt(app_id: str, private_key_pem: str, now: float) -> str:
    """The RS256 JWT a GitHub App signs to ask for an installation token (valid 9 minutes)."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("a GitHub App key is an RSA key")
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"iat": int(now) - 60, "exp": int(now) + 540, "iss": app_id}).encode())
    signature = key.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{claims}.{_b64(signature)}"


class AppInstallationToken:
    """A GitHub App installation token, fetched when first needed and renewed before it expires."""

    def __init__(self, api_url: str, app_id: str, installation_id: str, private_key: TokenSource,
                 clock: Callable[[], float] = time.time, timeout_s: float = 10.0) -> None:
        self._url = f"{api_url.rstrip('/')}/app/installations/{installation_id}/access_tokens"
        self._app_id = app_id
        self._key = private_key
        self._clock = clock
        self._timeout = timeout_s
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._clock() >= self._expires - RENEW_BEFORE_S:
                self._token, self._expires = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float]:
        jwt = app_jwt(self._app_id, self._key(), self._clock())
        try:
            response = httpx.post(self._url, timeout=self._timeout, headers={
                "Authorization": f"Bearer {jwt}", "Accept": "application/vnd.github+json"})
        except httpx.TransportError:
            raise ProviderError(Msg(N_("{provider} could not be reached; try again shortly."),
                                    {"provider": "GitHub"})) from None
        if response.status_code != 201:
            raise ProviderError(Msg(N_("{provider} answered {status} to {what}."),
                                    {"provider": "GitHub", "status": response.status_code,
                                     "what": "installation token"}))
        found = response.json()
        expires = datetime.fromisoformat(str(found["expires_at"]).replace("Z", "+00:00")).timestamp()
        return str(found["token"]), expires
