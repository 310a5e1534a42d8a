"""Fake HTTP API servers for the clouds and engines Dihya talks to.

Each fake is a small ``ThreadingHTTPServer`` on 127.0.0.1 (port 0) with in-memory state. It speaks
just the endpoints the real client libraries call, and records every request (method, path, query,
body; never headers, which may carry credentials) so tests can assert what was asked.
"""

from __future__ import annotations

import abc
import json
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str  # percent-decoded, without the query string
    query: dict[str, str]
    body: Any  # decoded JSON (a dict for a form-encoded body), or None
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any = None  # sent as JSON unless None
    stream: list[Any] | None = None  # sent as chunked JSON lines, like Docker's progress streams
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as is (with a Content-Type header), e.g. log streams and plain text


def error(status: int, message: str) -> Reply:
    return Reply(status, {"message": message})


class FakeApiServer(abc.ABC):
    """Threaded HTTP server around ``handle``; subclasses hold the state and answer requests."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @abc.abstractmethod
    def handle(self, request: RecordedRequest) -> Reply:
        """Answer one request (the subclass's API)."""

    def refuse(self, method: str, path: str, headers: dict[str, str]) -> Reply | None:
        """A refusal decided on the headers (credentials, CSRF crumb) before the request is recorded;
        the headers themselves are never kept."""
        return None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeApiServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def record(self, request: RecordedRequest) -> Reply:
        with self.lock:
            self.requests.append(request)
            return self.handle(request)

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        """(method, path) of every request so far, optionally only one method."""
        with self.lock:
            return [(r.method, r.path) for r in self.requests if method in (None, r.method)]


def _handler_for(fake: FakeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, as the real servers do

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes: without this, Nagle + delayed ACK cost 40 ms each.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep test output quiet

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            body = self._body()
            refusal = fake.refuse(self.command, unquote(parts.path), {k.lower(): v for k, v in self.headers.items()})
            if refusal is not None:
                self._send(refusal)
                return
            request = RecordedRequest(
                method=self.command, path=unquote(parts.path), query=dict(parse_qsl(parts.query)),
                body=body, content_type=self.headers.get("Content-Type", ""),
            )
            self._send(fake.record(request))

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw.strip():
                return None
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                return dict(parse_qsl(raw.decode(), keep_blank_values=True))
            return json.loads(raw)

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.stream is not None:
                self._send_stream(reply.stream)
                return
            if reply.raw is not None:
                self.send_header("Content-Length", str(len(reply.raw)))
                self.end_headers()
                self.wfile.write(reply.raw)
                return
            payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            if reply.status not in (204, 304):
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if reply.status not in (204, 304):
                self.wfile.write(payload)

        def _send_stream(self, lines: Iterable[Any]) -> None:
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in lines:
                data = json.dumps(line).encode() + b"\r\n"
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler
