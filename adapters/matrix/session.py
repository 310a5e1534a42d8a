"""The bot's Matrix account on this machine: its login (an access token sealed in the store), its
device, and the device's end-to-end encryption keys (vodozemac, in ``data_dir/matrix``)."""

from __future__ import annotations

import hashlib
import logging

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


class Session:
    """Logs in (reusing a stored token the homeserver still accepts), keeps the device and its
    keys, and keeps the session's secrets out of the libraries' logs."""

    __slots__ = ("_kv", "_pickled_under", "_redactor", "_settings", "_vault", "client", "log_filter", "user_id")

    def __init__(self, settings: Settings, homeserver: str, kv: KeyValues, *, request_timeout: float) -> None:
        self._settings = settings
        self._kv = kv
        self.user_id = kv.user_id
        self._vault = SecretVault([settings.secret_key]) if settings.secret_key else None
        # The bot cannot compare emoji with anyone, so it shares room keys with every device of the
        # room's members (ignore_unverified_devices when sending). The keys are pickled under the
        # secret key when one is set.
        keys_dir = settings.data_dir / "matrix"
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
        """The stored device, unless its encryption keys were pickled under another secret key."""
        device, pickled_under = self._kv.get("device_id"), self._kv.get("device_pickled_under")
        if device and pickled_under not in (None, self._pickled_under):
            log.warning("the secret key changed: the Matrix device's keys cannot be read; signing in as a new "
                        "device", extra={"device_id": device})
            return None
        return device

    def _stored_token(self) -> str | None:
        sealed = self._kv.get("access_token")
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
        self._kv.set("device_id", device_id)
        self._kv.set("device_pickled_under", self._pickled_under)
        if self._vault is not None:  # without a secret key the token is not stored; the password logs in
            self._kv.set("access_token", self._vault.encrypt(VAULT_NAME, token).decode("ascii"))
        log.info("logged in to Matrix", extra={"user_id": self.user_id, "device_id": device_id})
