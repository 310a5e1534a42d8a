"""The uvicorn server of ``dihya serve``, with the read deadlines uvicorn lacks (issue 10).

uvicorn only times out idle keep-alive connections: a client that sends its request head, or its
body, one byte at a time keeps a connection (and a task) as long as it likes. Here a request's head
must arrive within ``header_timeout`` of the connection (or of its first byte, on a kept-alive
connection), and its body within ``body_timeout`` of the head; a client that is later is cut off.
Heads are also limited in size (h11's incomplete-event limit: larger ones get 400).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from dihya.settings import Settings

log = logging.getLogger("dihya.http")
KEEP_ALIVE_S = 5  # idle time allowed between two requests on one connection (uvicorn's default)


class DeadlineConfig(uvicorn.Config):
    """uvicorn's settings plus the two read deadlines ``DeadlineProtocol`` enforces."""

    def __init__(self, app: ASGIApp, *, header_timeout: float, body_timeout: float, **options: Any) -> None:
        super().__init__(app, http=DeadlineProtocol, **options)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the phase of the request the client is sending."""

    def __init__(self, config: uvicorn.Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert isinstance(config, DeadlineConfig)
        self._limits: dict[object, float] = {h11.IDLE: config.header_timeout, h11.SEND_BODY: config.body_timeout}
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: object = None  # h11's state of the client's side when the deadline was set

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None:
            self._phase = None  # the first byte of the next request on a kept-alive connection
        self._watch()
        super().data_received(data)
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """A deadline for the phase the client is in (head or body), none once its request is whole."""
        phase = self.conn.their_state
        if phase is self._phase:
            return
        self._disarm()
        self._phase = phase
        limit = self._limits.get(phase)
        if limit is not None and not self.transport.is_closing():
            self._deadline = self.loop.call_later(limit, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        part = "head" if self._phase is h11.IDLE else "body"
        log.info("slow client cut off", extra={"part": part, "client": self.client[0] if self.client else None})
        self.transport.close()


def http_server(app: ASGIApp, settings: Settings) -> uvicorn.Server:
    config = DeadlineConfig(app, host=settings.http_host, port=settings.http_port, log_config=None,
                            access_log=False, timeout_keep_alive=KEEP_ALIVE_S,
                            h11_max_incomplete_event_size=settings.http_max_header_bytes,
                            header_timeout=settings.http_header_timeout_seconds,
                            body_timeout=settings.http_body_timeout_seconds)
    return uvicorn.Server(config)
