"""The Bot API's manners: 429 and 5xx answers become typed errors before the library parses
them, every call is paced (overall and per chat) and retried on 429 (after the ``retry_after``
Telegram asks for) and 5xx (with doubling backoff). The token is part of every request URL, so
every log record of the HTTP and Telegram libraries passes through a redacting filter."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from telegram.error import NetworkError, TelegramError
from telegram.ext import BaseRateLimiter
from telegram.request import HTTPXRequest, RequestData

from adapters.pacing import ChannelPacer, retrying
from adapters.toolkit.logfilter import RedactingFilter, debug_dump
from dihya.redaction import Redactor

log = logging.getLogger("dihya.telegram")
LOGGED_LIBRARIES = ("httpx", "httpcore", "telegram", "dihya.telegram")
# The library's DEBUG records that dump whole payloads: updates carry people's messages (a secret
# typed in a group, before the bot could remove it), and so do call parameters and results. Dropped.
PAYLOAD_DUMPS = frozenset({
    "Calling Bot API endpoint `%s` with parameters `%s`",
    "Call to Bot API endpoint `%s` finished with return value `%s`",
    "Processing update %s",
    "Dropping pending update: %s",
})
MAX_CHATS = 4096  # chats whose pace is remembered


class FloodWait(TelegramError):
    """429: Telegram asks us to wait ``seconds`` before calling again."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        super().__init__(f"flood control: retry in {seconds:g} s")
        self.seconds = seconds


class ServerBusy(NetworkError):
    """A 5xx answer from the Bot API: worth retrying after a backoff."""

    __slots__ = ("status",)

    def __init__(self, status: int) -> None:
        super().__init__(f"Bot API server error ({status})")
        self.status = status


class ApiRequest(HTTPXRequest):
    """Turns 429 and 5xx answers into typed, retryable errors before the library parses them."""

    __slots__ = ()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, request_data, read_timeout, write_timeout,
                                                 connect_timeout, pool_timeout)
        if code == 429:
            raise FloodWait(_retry_after(payload))
        if code >= 500:
            raise ServerBusy(code)
        return code, payload


def _retry_after(payload: bytes) -> float:
    try:
        return float(json.loads(payload)["parameters"]["retry_after"])
    except (ValueError, KeyError, TypeError):
        return 1.0


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's published limits as (burst, calls per second): ~30 calls/s overall, 20 messages/min
    in a group, ~1/s per chat."""

    overall: tuple[float, float] = (30, 30)
    group: tuple[float, float] = (20, 20 / 60)
    private: tuple[float, float] = (3, 1)
    attempts: int = 4
    backoff: float = 0.5
    longest_wait: float = 60.0


class Throttle(BaseRateLimiter[None]):
    """Spaces calls per chat and retries 429/5xx; python-telegram-bot routes every call here."""

    __slots__ = ("_groups", "_limits", "_overall", "_privates")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._overall = _pacer(limits.overall, 1)
        self._groups, self._privates = _pacer(limits.group, MAX_CHATS), _pacer(limits.private, MAX_CHATS)

    async def initialize(self) -> None:
        """Nothing to open: buckets are made on first use."""

    async def shutdown(self) -> None:
        self._groups.clear()
        self._privates.clear()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,  # noqa: ARG002 - the library passes it by name; we take none
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        await self._overall.wait("")
        if data.get("chat_id") is not None:
            chat = str(data["chat_id"])
            await (self._groups if chat.startswith("-") else self._privates).wait(chat)

        def retried(err: BaseException, delay: float) -> None:
            log.warning("Bot API call retried", extra={"endpoint": endpoint, "error": str(err), "delay": delay})

        return await retrying(lambda: callback(*args, **kwargs), self._wait_before_retry,
                              attempts=self._limits.attempts, base=self._limits.backoff,
                              cap=self._limits.longest_wait, on_retry=retried)

    def _wait_before_retry(self, err: BaseException) -> float | None:
        """Telegram's own wait on a 429 (none longer than ``longest_wait``), the backoff on a 5xx."""
        if isinstance(err, FloodWait):
            return err.seconds if err.seconds <= self._limits.longest_wait else None
        return 0.0 if isinstance(err, ServerBusy) else None


def _pacer(limit: tuple[float, float], channels: int) -> ChannelPacer:
    burst, per_second = limit
    return ChannelPacer(per_second, burst, channels=channels)


def install_token_filter(secrets: Sequence[str]) -> RedactingFilter:
    """Redacts secrets from records of the libraries that see the token (httpx logs request URLs),
    and drops the library's payload dumps. On every logger of those libraries, since a logger's
    filters do not apply to its children; a filter for the same secrets is installed once."""
    token_filter = RedactingFilter(Redactor(secrets), debug_dump(messages=PAYLOAD_DUMPS),
                                   key=("telegram", tuple(sorted(secrets))))
    known = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in {"httpx", "httpcore", "telegram"}]
    token_filter.install({*LOGGED_LIBRARIES, *known})
    return token_filter
