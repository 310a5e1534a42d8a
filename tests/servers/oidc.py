"""A real OpenID Connect provider for the API authentication tests: ``oidc-provider`` on Node.

REAL-SERVERS.md: ``oidc-provider@9`` from the npm registry (installed into tests/servers/oidc/ by
scripts/install-node-deps.sh), client-credentials access tokens as RS256 JWTs for one audience.
The provider signs with keys the test makes (``ProviderKey``), so a test can rotate them by
restarting it with another key set ([new, old], then [new] only) on the same port and issuer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.helpers.ports import free_port, port_answers

HERE = Path(__file__).resolve().parent / "oidc"
INSTALL = Path(__file__).resolve().parents[2] / "scripts" / "install-node-deps.sh"
READY_SECONDS = 20.0
_DIE_WITH_PARENT = ("setpriv", "--pdeathsig", "TERM") if shutil.which("setpriv") else ()


@dataclass
class ProviderKey:
    """An RSA signing key of the provider; the test keeps the private half to forge tokens too."""

    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    private: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    def jwk(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private))
        return {**found, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def sign(self, claims: dict[str, Any], **headers: Any) -> str:
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid, **headers})


@dataclass
class Client:
    client_id: str
    client_secret: str = field(default_factory=lambda: uuid.uuid4().hex)


class OidcProvider:
    """One provider process at a fixed loopback address; ``start`` again with new keys to rotate."""

    def __init__(self, workdir: Path, clients: list[Client], groups: dict[str, list[str]] | None = None,
                 audience: str = "https://dihya.test/api") -> None:
        self.workdir = workdir
        self.clients = {c.client_id: c for c in clients}
        self.groups = groups or {}
        self.audience = audience
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, keys: list[ProviderKey]) -> None:
        ensure_installed()
        config = self.workdir / "provider.json"
        config.write_text(json.dumps({
            "port": self.port, "issuer": self.issuer, "audience": self.audience, "groups": self.groups,
            "jwks": {"keys": [k.jwk() for k in keys]},
            "clients": [{"client_id": c.client_id, "client_secret": c.client_secret} for c in self.clients.values()],
        }), encoding="utf-8")
        with (self.workdir / "provider.log").open("ab") as out:
            self._process = subprocess.Popen([*_DIE_WITH_PARENT, "node", str(HERE / "provider.mjs"), str(config)],
                                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"oidc-provider exited: {(self.workdir / 'provider.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("oidc-provider did not become ready")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None
        deadline = time.monotonic() + 5
        while port_answers(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self, keys: list[ProviderKey]) -> None:
        self.stop()
        self.start(keys)

    def client_token(self, client_id: str) -> str:
        """An access token by the client-credentials grant (RFC 6749 §4.4), as a machine client gets one."""
        client = self.clients[client_id]
        response = httpx.post(f"{self.issuer}/token", data={"grant_type": "client_credentials", "scope": "api"},
                              auth=(client.client_id, client.client_secret), timeout=5)
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token


def ensure_installed() -> None:
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["bash", str(INSTALL)], check=True, timeout=300)
