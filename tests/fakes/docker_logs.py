"""Container logs for the fake Docker Engine (issue 14), kept apart from ``docker_api.py`` so both
grow without conflicts: ``GET /containers/{id}/logs`` as the Engine API documents it — ``stdout``,
``stderr``, ``since`` (Unix seconds), ``tail``, ``timestamps`` (RFC 3339 with nanoseconds; Podman
writes whole seconds) and ``follow`` (refused here: a bounded read never follows), answered as a
multiplexed stream (8-byte frame headers) for a container without a TTY."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from tests.fakes import RecordedRequest, Reply, error
from tests.fakes.docker_api import _VERSIONED, FakeDockerEngine

_LOGS = re.compile(r"/containers/(?P<ref>[^/]+)/logs")
MULTIPLEXED = "application/vnd.docker.multiplexed-stream"


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    text: str
    stream: int = 1  # 1 stdout, 2 stderr


class FakeDockerWithLogs(FakeDockerEngine):
    def __init__(self, *, whole_seconds: bool = False) -> None:
        super().__init__()
        self.logs: dict[str, list[Entry]] = {}  # container id -> entries, oldest first
        self.whole_seconds = whole_seconds  # write timestamps as Podman does

    def add_logged_container(self, name: str, entries: list[Entry]) -> str:
        self.load(f"{name}:1", healthcheck=False)
        container_id = self.run_container(name, f"{name}:1")
        self.containers[container_id]["Config"]["Tty"] = False
        self.logs[container_id] = list(entries)
        return container_id

    def handle(self, request: RecordedRequest) -> Reply:
        versioned = _VERSIONED.match(request.path)
        path = versioned.group(1) if versioned else request.path
        found = _LOGS.fullmatch(path)
        if request.method == "GET" and found:
            return self._logs(request, found["ref"])
        return super().handle(request)

    def _logs(self, request: RecordedRequest, ref: str) -> Reply:
        container = self._find_container(ref)
        if container is None:
            return error(404, f"No such container: {ref}")
        q = request.query
        if q.get("follow") not in (None, "0", "false", "False"):
            return error(400, "this fake never follows: a bounded read must send follow=0")
        since = float(q.get("since", "0") or 0)
        entries = [e for e in self.logs.get(container["Id"], []) if e.at.timestamp() >= since]
        entries = [e for e in entries if q.get(("stdout", "stderr")[e.stream - 1]) in ("1", "true", "True")]
        tail = q.get("tail", "all")
        if tail != "all":
            entries = entries[-int(tail):] if int(tail) else []
        stamped = q.get("timestamps") in ("1", "true", "True")
        frames = b"".join(_frame(e.stream, self._line(e, stamped)) for e in entries)
        return Reply(200, raw=frames, headers={"Content-Type": MULTIPLEXED})

    def _line(self, entry: Entry, stamped: bool) -> bytes:
        if not stamped:
            return f"{entry.text}\n".encode()
        if self.whole_seconds:
            stamp = entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        else:
            stamp = entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # nanoseconds
        return f"{stamp} {entry.text}\n".encode()


def _frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload
