"""The bot's Matrix account on this machine: its device, the device's login (an access token sealed
under the secret key) and its end-to-end encryption keys (vodozemac), all in ``data_dir/matrix``.

A device is one replica's (issue 16): its keys cannot be shared between processes that each keep
their own copy (one-time keys, ratchets), so the record naming the device sits beside its keys, not
in the shared store. Each replica, with its own data directory, signs in as a device of its own."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, ErrorResponse

from adapters.matrix.errors import MatrixError, checked
from adapters.matrix.state import KeyValues
from adapters.toolkit.logfilter import RedactingFilter, debug_dump
from dihya.redaction import Redactor
from dihya.settings import Settings
from dihya.vault import SecretVault, VaultError

log = logging.getLogger("dihya.matrix")
NIO_LOGGERS = ("nio.responses", "nio.http", "nio.rooms", "nio.events.misc", "nio.client.async_client",
               "nio.client.base_client", "nio.client.http_client", "peewee")
# DEBUG dumps dropped whole: parsed responses (the login's access token, people's messages) and the
# key store's SQL (pickled device and room keys).
DUMPING_LOGGERS = frozenset({"nio.responses", "peewee"})
VAULT_NAME = "matrix:access_token"  # binds the sealed token to its use (see dihya.vault)
DEVICE_FILE = "device.json"  # {"device_id", "pickled_under", "access_token" (sealed)} next to the keys
LEGACY_NAMES = ("device_id", "device_pickled_under", "access_token")  # once kept in the shared store


class Session:
    """Logs in (reusing a stored token the homeserver still accepts), keeps the device and its
    keys, and keeps the session's secrets out of the libraries' logs."""

    __slots__ = ("_keys_dir", "_kv", "_pickled_under", "_redactor", "_settings", "_vault", "client", "log_filter",
                 "user_id")

    def __init__(self, settings: Settings, homeserver: str, kv: KeyValues, *, request_timeout: float) -> None:
        self._settings = settings
        self._kv = kv
        self.user_id = kv.user_id
        self._vault = SecretVault([settings.secret_key]) if settings.secret_key else None
        # The bot cannot compare emoji with anyone, so it shares room keys with every device of the
        # room's members (ignore_unverified_devices when sending). The keys are pickled under the
        # secret key when one is set.
        keys_dir = self._keys_dir = settings.data_dir / "matrix"
        keys_dir.mkdir(parents=True, exist_ok=True)
        pickle_key = settings.secret_key.get_secret_value() if settings.secret_key else AsyncClientConfig.pickle_key
        # Which key a device's keys were pickled under (a digest, never the key): after a key change
        # its store cannot be opened, so the bot signs in as a new device instead of failing.
        self._pickled_under = hashlib.sha256(f"dihya-matrix-pickle:{pickle_key}".encode()).hexdigest()[:16]
        config = AsyncClientConfig(max_timeouts=3, max_limit_exceeded=3, encryption_enabled=True,
                                   store_sync_tokens=False, request_timeout=request_timeout,
                                   pickle_key=pickle_key)
        self.client = AsyncClient(homeserver, self.user_id, store_path=str(keys_dir), config=config)
        self._redactor = Redactor(settings.secret_values())
        self.log_filter = RedactingFilter(self._redactor, debug_dump(DUMPING_LOGGERS))

    def open(self) -> None:
        self.log_filter.install(NIO_LOGGERS)

    async def close(self) -> None:
        await self.client.close()
        self.log_filter.remove()

    async def log_in(self) -> None:
        self.client.device_id = self._device()
        if await self._resume(self._stored_token()):
            return
        password = self._settings.matrix_password
        if password is None:
            raise MatrixError("login", None, "no valid stored session and DIHYA_MATRIX_PASSWORD is not set")
        self._redactor.add(password.get_secret_value())
        response = checked(await self.client.login(password.get_secret_value(), device_name="Dihya"), "login")
        self._redactor.add(response.access_token)
        self._remember(response.device_id, response.access_token)
        await self.keys()

    async def keys(self) -> None:
        """Encryption upkeep after a login or a sync: publish this device's keys, learn the devices
        of people in encrypted rooms, and send the room keys queued for them."""
        if self.client.should_upload_keys:
            checked(await self.client.keys_upload(), "keys_upload")
        if self.client.should_query_keys:
            checked(await self.client.keys_query(), "keys_query")
        await self.client.send_to_device_messages()

    async def display_name(self) -> str | None:
        name = checked(await self.client.get_displayname(self.user_id), "displayname").displayname
        return str(name) if name else None

    def name_in(self, room_id: str, user_id: str) -> str | None:
        room = self.client.rooms.get(room_id)
        return room.user_name(user_id) if room is not None else None

    def _device(self) -> str | None:
        """This data directory's device, unless its encryption keys were pickled under another secret key."""
        record = self._record()
        device, pickled_under = record.get("device_id"), record.get("pickled_under")
        if device and pickled_under not in (None, self._pickled_under):
            log.warning("the secret key changed: the Matrix device's keys cannot be read; signing in as a new "
                        "device", extra={"device_id": device})
            return None
        return device

    def _stored_token(self) -> str | None:
        sealed = self._record().get("access_token")
        if self._vault is None or not sealed:
            return None
        try:
            return self._vault.decrypt(sealed.encode("ascii"), VAULT_NAME)
        except VaultError:
            log.warning("stored Matrix session unreadable (secret key changed?); logging in again")
            return None

    async def _resume(self, token: str | None) -> bool:
        """Reuse a stored access token if the homeserver still accepts it."""
        if token is None or self.client.device_id is None:
            return False
        self._redactor.add(token)
        self.client.restore_login(self.user_id, self.client.device_id, token)  # also opens the key store
        response = await self.client.whoami()
        if isinstance(response, ErrorResponse) and response.status_code == "M_UNKNOWN_TOKEN":
            self.client.access_token = ""
            return False
        checked(response, "whoami")
        await self.keys()
        return True

    def _remember(self, device_id: str, token: str) -> None:
        record = {"device_id": device_id, "pickled_under": self._pickled_under}
        if self._vault is not None:  # without a secret key the token is not stored; the password logs in
            record["access_token"] = self._vault.encrypt(VAULT_NAME, token).decode("ascii")
        _write_private(self._keys_dir / DEVICE_FILE, json.dumps(record))
        log.info("logged in to Matrix", extra={"user_id": self.user_id, "device_id": device_id})

    def _record(self) -> dict[str, str]:
        """The device record of this data directory; one that an earlier version kept in the store
        is moved here if this directory holds that device's keys (the replica that made it)."""
        path = self._keys_dir / DEVICE_FILE
        if not path.exists():
            return self._adopt_legacy(path)
        return stored_device(self._settings.data_dir)  # unreadable: empty, a new device signs in

    def _adopt_legacy(self, path: Path) -> dict[str, str]:
        device = self._kv.get("device_id")
        if not device or not (self._keys_dir / f"{self.user_id}_{device}.db").exists():
            return {}  # another replica's device (its keys are elsewhere): this one gets its own
        record = {"device_id": device, "pickled_under": self._kv.get("device_pickled_under") or "",
                  "access_token": self._kv.get("access_token") or ""}
        record = {k: v for k, v in record.items() if v}
        _write_private(path, json.dumps(record))
        self._kv.delete(*LEGACY_NAMES)
        return record


def stored_device(data_dir: Path) -> dict[str, str]:
    """The device record a data directory holds (empty when none): which device is this replica's."""
    try:
        loaded = json.loads((data_dir / "matrix" / DEVICE_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {k: str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _write_private(path: Path, text: str) -> None:
    """Owner-only, replaced atomically (a crash leaves the old record or the new, never half)."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)
