"""Container logs through the Docker Engine API (docker SDK): ``follow=false``, ``since``, ``tail``,
``timestamps``, streamed and cut at the byte bound. Works against Docker and Podman's compatible API."""

from __future__ import annotations

from typing import Any

from bot.errors import UserError
from bot.i18n import N_
from dihya.logs_sources.base import Fetched, LogLine, Window, split_timestamp


class DockerLogs:
    def __init__(self, client: Any, container: str) -> None:
        self._client = client
        self._container = container
        self.description = f"docker container {container}"

    def fetch(self, window: Window) -> Fetched:
        import docker.errors

        try:
            container = self._client.containers.get(self._container)
            stream = container.logs(stdout=True, stderr=True, timestamps=True, follow=False, stream=True,
                                    tail=window.lines, since=int(window.now - window.since_s))
        except docker.errors.NotFound:
            raise UserError(N_("No container {name} on the Docker host."), name=self._container) from None
        except docker.errors.DockerException:
            raise UserError(N_("The Docker host did not answer the log request.")) from None
        raw, truncated = _bounded(stream, window.max_bytes)
        text = raw.decode("utf-8", errors="replace")
        return Fetched([_line(line) for line in text.splitlines()], truncated)


def _line(raw: str) -> LogLine:
    at, text = split_timestamp(raw.rstrip("\r"))
    return LogLine(at, "", text)


def _bounded(stream: Any, limit: int) -> tuple[bytes, bool]:
    """Read the stream up to ``limit`` bytes, then close it (the engine stops sending)."""
    buffer = bytearray()
    try:
        for chunk in stream:
            buffer += chunk
            if len(buffer) > limit:
                return bytes(buffer[:limit]).rpartition(b"\n")[0], True
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return bytes(buffer), False
