"""A real Synapse homeserver for tests: SQLite, one client listener on a free loopback port.

Follows the measured recipe in REAL-SERVERS.md: generate a config, then override it wholesale
(hex shared secret, no open registration, cheap bcrypt, rate limits raised, logs inside the
directory). ``running_synapse`` always kills the process, whatever happened.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.helpers import outbound
from tests.helpers.ports import free_port

SERVER_NAME = "localhost"
BOT_USER = f"@dihya:{SERVER_NAME}"  # the account the tests run the bot as
READY_SECONDS = 30.0
_UNLIMITED = {"per_second": 10_000, "burst_count": 10_000}
_RATE_LIMITS: dict[str, object] = {
    "rc_message": _UNLIMITED,
    "rc_registration": _UNLIMITED,
    "rc_login": {"address": _UNLIMITED, "account": _UNLIMITED, "failed_attempts": _UNLIMITED},
    "rc_admin_redaction": _UNLIMITED,
    "rc_joins": {"local": _UNLIMITED, "remote": _UNLIMITED},
    "rc_joins_per_room": _UNLIMITED,
    "rc_invites": {"per_room": _UNLIMITED, "per_user": _UNLIMITED, "per_issuer": _UNLIMITED},
    "rc_3pid_validation": _UNLIMITED,
    "rc_media_create": _UNLIMITED,
    "rc_delayed_event_mgmt": _UNLIMITED,
    "rc_room_creation": _UNLIMITED,
    "rc_profile": _UNLIMITED,
}
_LOG_CONFIG = """version: 1
formatters:
  precise: {format: '%(asctime)s %(name)s %(levelname)s %(request)s %(message)s'}
filters:
  context: {(): synapse.logging.context.LoggingContextFilter, request: ""}
handlers:
  file: {class: logging.FileHandler, formatter: precise, filename: LOGFILE, filters: [context]}
root: {level: INFO, handlers: [file]}
disable_existing_loggers: false
"""


@dataclass
class Synapse:
    url: str
    directory: Path
    shared_secret: str
    process: subprocess.Popen[bytes]
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def database(self) -> Path:
        return self.directory / "homeserver.db"

    @property
    def log_file(self) -> Path:
        return self.directory / "homeserver.log"

    def register(self, localpart: str, *, admin: bool = False) -> str:
        """Create a user through the shared-secret admin API; returns its full user id."""
        password = secrets.token_urlsafe(16)
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        with httpx.Client(timeout=10) as http:
            nonce = http.get(endpoint).raise_for_status().json()["nonce"]
            mac = _registration_mac(self.shared_secret, nonce, localpart, password, admin)
            body = {"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac}
            user_id: str = http.post(endpoint, json=body).raise_for_status().json()["user_id"]
        self.passwords[user_id] = password
        return user_id


    def sent_by(self, user_id: str) -> Iterator[tuple[str, bytes]]:
        """(what, raw content) of every event ``user_id`` sent and every file it uploaded, as the
        homeserver stored them: what the account put on the wire, however it did."""
        if not self.database.exists():
            return
        with contextlib.closing(sqlite3.connect(self.database)) as db:
            events = db.execute("SELECT e.event_id, j.json FROM events e JOIN event_json j USING (event_id) "
                                "WHERE e.sender = ?", (user_id,)).fetchall()
            media = db.execute("SELECT media_id FROM local_media_repository WHERE user_id = ?", (user_id,)).fetchall()
        for event_id, raw in events:
            yield f"event {event_id}", raw.encode()
        for (media_id,) in media:
            path = self.directory / "media_store" / "local_content" / media_id[:2] / media_id[2:4] / media_id[4:]
            if path.is_file():
                yield f"upload {media_id}", path.read_bytes()


def _registration_mac(secret: str, nonce: str, user: str, password: str, admin: bool) -> str:
    message = b"\x00".join(p.encode() for p in (nonce, user, password, "admin" if admin else "notadmin"))
    return hmac.new(secret.encode(), message, hashlib.sha1).hexdigest()




def _homeserver(*args: str) -> list[str]:
    return [sys.executable, "-m", "synapse.app.homeserver", *args]


def _write_config(directory: Path, port: int, shared_secret: str) -> None:
    subprocess.run(
        _homeserver("--server-name", SERVER_NAME, "--config-path", str(directory / "homeserver.yaml"),
                    "--data-directory", str(directory), "--generate-config", "--report-stats=no"),
        cwd=directory, check=True, capture_output=True, timeout=60,
    )
    (directory / "log.yaml").write_text(_LOG_CONFIG.replace("LOGFILE", json.dumps(str(directory / "homeserver.log"))))
    overrides = {
        "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                       "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}]}],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "registration_shared_secret": shared_secret,
        "enable_registration": False,
        "bcrypt_rounds": 4,
        "report_stats": False,
        "trusted_key_servers": [],
        "url_preview_enabled": False,
        "presence": {"enabled": False},
        "log_config": str(directory / "log.yaml"),
        "media_store_path": str(directory / "media_store"),
        **_RATE_LIMITS,
    }
    (directory / "overrides.yaml").write_text(json.dumps(overrides, indent=1))  # JSON is YAML


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"synapse exited with status {process.returncode} before it was ready")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/_matrix/client/versions", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"synapse not ready after {READY_SECONDS:.0f} s")


@contextlib.contextmanager
def running_synapse(directory: Path) -> Iterator[Synapse]:
    """Start Synapse with its config and data in ``directory``; kill it on exit."""
    port = free_port()
    shared_secret = secrets.token_hex(32)
    _write_config(directory, port, shared_secret)
    configs = ("--config-path", str(directory / "homeserver.yaml"), "--config-path", str(directory / "overrides.yaml"))
    with (directory / "stdout.log").open("wb") as out:
        process = subprocess.Popen(_homeserver(*configs), cwd=directory, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    server = Synapse(url, directory, shared_secret, process)
    try:
        _wait_ready(url, process)
        yield server
    finally:
        process.kill()
        process.wait(timeout=10)
        for what, raw in server.sent_by(BOT_USER):  # the suite-wide outbound canary (tests/conftest.py)
            outbound.inspect("matrix", what, raw)
