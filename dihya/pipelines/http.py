"""One small HTTP client for the providers: httpx with explicit timeouts and a bounded retry.

Reads (GET) are retried on connection errors, 429 and 502-504, with a short backoff; writes are
retried only when the connection failed before the request was sent, so a trigger never runs twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from bot.i18n import N_, Msg
from dihya.pipelines.port import ProviderError

log = logging.getLogger("dihya.pipelines.http")
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_BACKOFF_S = 10.0


class ApiClient:
    def __init__(self, provider: str, base_url: str, *, headers: Mapping[str, str] | None = None,
                 auth: httpx.Auth | tuple[str, str] | None = None, timeout_s: float = 10.0, retries: int = 2,
                 backoff_s: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        self.provider = provider
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=dict(headers or {}), auth=auth,
                                    timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)))
        self._retries = retries
        self._backoff = backoff_s
        self._sleep = sleep

    def close(self) -> None:
        self._client.close()

    def send(self, method: str, path: str, *, expect: frozenset[int] = frozenset({200}), what: str = "",
             **kwargs: Any) -> httpx.Response:
        """The response, when its status is one of ``expect``; else a ``ProviderError`` naming ``what``."""
        response = self._with_retries(method, path, **kwargs)
        if response.status_code not in expect:
            log.warning("provider refused", extra={"provider": self.provider, "status": response.status_code,
                                                   "what": what or path})
            raise ProviderError(Msg(N_("{provider} answered {status} to {what}."),
                                    {"provider": self.provider, "status": response.status_code, "what": what or path}))
        return response

    def _with_retries(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.ConnectError:
                if last:
                    raise self._unreachable() from None
            except httpx.TransportError:  # sent, perhaps acted on: only a read may be repeated
                if last or method != "GET":
                    raise self._unreachable() from None
            else:
                if method != "GET" or response.status_code not in RETRY_STATUSES or last:
                    return response
            self._sleep(min(self._backoff * 2 ** attempt, MAX_BACKOFF_S))
        raise self._unreachable()  # pragma: no cover - the loop always returns or raises

    def _unreachable(self) -> ProviderError:
        log.warning("provider unreachable", extra={"provider": self.provider})
        return ProviderError(Msg(N_("{provider} could not be reached; try again shortly."),
                                 {"provider": self.provider}))


def json_object(response: httpx.Response, provider: str) -> dict[str, Any]:
    """The response body as a JSON object, or a ``ProviderError`` (never quoting the body)."""
    try:
        value = response.json()
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ProviderError(Msg(N_("{provider} sent an answer Dihya does not understand."), {"provider": provider}))
    return value
