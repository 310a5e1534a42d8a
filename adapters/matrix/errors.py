"""matrix-nio returns API errors as values; ``checked`` turns every one into a ``MatrixError``."""

from __future__ import annotations

from typing import TypeVar

import aiohttp
from nio import ErrorResponse

_R = TypeVar("_R")


class MatrixError(Exception):
    """The homeserver refused a request (nio's ``ErrorResponse``, raised instead of returned)."""

    def __init__(self, operation: str, errcode: str | None, message: str, retry_after_ms: int | None = None) -> None:
        super().__init__(f"{operation}: {errcode or 'error'} {message}".strip())
        self.operation = operation
        self.errcode = errcode
        self.retry_after_ms = retry_after_ms


class RoomNotSynced(MatrixError):
    """The bot is in the room but has not synced it yet, so it cannot tell whether to encrypt."""

    def __init__(self, room_id: str) -> None:
        super().__init__("send", None, f"room {room_id} not synced yet")


def retry_after(err: BaseException) -> float | None:
    """Seconds to wait before sending again (0: default backoff), or None when retrying is pointless."""
    if isinstance(err, RoomNotSynced):
        return 0.0  # the running sync loop brings the room in a moment
    if isinstance(err, MatrixError):
        return (err.retry_after_ms or 0) / 1000 if err.errcode == "M_LIMIT_EXCEEDED" else None
    return 0.0 if isinstance(err, aiohttp.ClientError | TimeoutError) else None


def checked(response: _R, operation: str) -> _R:
    if isinstance(response, ErrorResponse):
        raise MatrixError(operation, response.status_code, response.message or "", response.retry_after_ms)
    return response
