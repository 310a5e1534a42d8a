"""The uvicorn server of ``dihya serve``, with the read deadlines uvicorn lacks (issue 10).

uvicorn only times out idle keep-alive connections: a client that connects and sends nothing, or
sends its request head or body one byte at a time, keeps a connection (and a task) as long as it
likes. Here a request's head must arrive within ``header_timeout`` of its first byte, and its body
within ``body_timeout`` of the head; a connection with no request under way is closed after the
keep-alive time (or ``header_timeout`` if shorter). A client that is later is cut off. A head still
incomplete after ``DIHYA_HTTP_MAX_HEADER_BYTES`` gets 400 (h11's incomplete-event limit).
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
    """uvicorn's h11 protocol with a deadline for the part of a request the client is sending.

    Phases: ``idle`` (connected, or between two requests, no byte yet), ``head`` (some bytes of a
    request head, not all), ``body`` (head done, body not). Each phase gets one deadline, set when
    it begins; none while the server, not the client, has the next move.
    """

    def __init__(self, config: uvicorn.Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert isinstance(config, DeadlineConfig)
        self._limits = {"idle": min(config.header_timeout, config.timeout_keep_alive),
                        "head": config.header_timeout, "body": config.body_timeout}
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _watch(self) -> None:
        phase = self._phase_now()
        if phase == self._phase and (phase is None or self._deadline is not None):
            return  # same phase: its deadline stands
        self._disarm()
        self._phase = phase
        if phase is not None and not self.transport.is_closing():
            self._deadline = self.loop.call_later(self._limits[phase], self._too_slow)

    def _phase_now(self) -> str | None:
        state = self.conn.their_state
        if state is h11.IDLE:
            return "head" if self.conn.trailing_data[0] else "idle"  # h11 holds an incomplete head's bytes
        return "body" if state is h11.SEND_BODY else None

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._phase != "idle":
            log.info("slow client cut off", extra={"part": self._phase})
        self.transport.close()


def http_server(app: ASGIApp, settings: Settings) -> uvicorn.Server:
    config = DeadlineConfig(app, host=settings.http_host, port=settings.http_port, log_config=None,
                            access_log=False, timeout_keep_alive=KEEP_ALIVE_S,
                            h11_max_incomplete_event_size=settings.http_max_header_bytes,
                            header_timeout=settings.http_header_timeout_seconds,
                            body_timeout=settings.http_body_timeout_seconds)
    return uvicorn.Server(config)
