"""A fake Slack cloud. ``FakeSlackApi``: the Web API, a real HTTP server on 127.0.0.1 in a thread,
for ``AsyncWebClient(base_url=…)``; it answers the methods the adapter calls, records every call
(method, arguments, headers, time), and can answer 429 with ``Retry-After`` once, be slow, or fail a
method. ``FakeSocketMode``: the Socket Mode WebSocket end that ``apps.connections.open`` points to.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import WSMsgType, web

from tests.helpers import outbound

BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM = "T0123"


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int
    at: float = field(default_factory=time.monotonic)


class FakeSlackApi:
    """``url`` is the Web API base (``…/api/``); ``calls`` is everything it received, in order."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._files = itertools.count(1)
        self._limited: dict[str, int] = {}
        self._delays: dict[str, float] = {}
        self._errors: dict[str, str] = {}
        self.socket_url = ""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"{self.root}/api/"

    def __enter__(self) -> FakeSlackApi:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- behaviour switches -------------------------------------------------------------------
    def rate_limit_once(self, method: str, retry_after: int = 1) -> None:
        self._limited[method] = retry_after

    def slow(self, method: str, seconds: float) -> None:
        self._delays[method] = seconds

    def fail(self, method: str, error: str) -> None:
        self._errors[method] = error

    # -- reading ------------------------------------------------------------------------------
    def called(self, method: str, status: int | None = 200) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (status is None or c.status == status)]

    def posted(self) -> list[dict[str, Any]]:
        """The arguments of every successful chat.postMessage, in order."""
        return [c.args for c in self.called("chat.postMessage")]

    # -- answering ----------------------------------------------------------------------------
    def answer(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        time.sleep(self._delays.get(method, 0))
        with self._lock:
            retry_after = self._limited.pop(method, None)
            status = 429 if retry_after is not None else 200
            self.calls.append(Call(method, args, headers, status))
        outbound.inspect("slack", method, args)
        if retry_after is not None:
            return 429, {"Retry-After": str(retry_after)}, {"ok": False, "error": "ratelimited"}
        if method in self._errors:
            return 200, {}, {"ok": False, "error": self._errors[method]}
        return 200, {}, self._result(method, args)

    def _result(self, method: str, args: dict[str, Any]) -> Any:
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM, "user": "dihya"}
        if method == "chat.postMessage":
            return {"ok": True, "channel": args.get("channel"), "ts": f"1700000000.{next(self._ts):06d}"}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        if method == "reactions.add":
            return {"ok": True}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._files):04d}"
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.root}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = json.loads(args.get("files", "[]"))
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
        if method.startswith("upload/"):
            return "OK"
        return {"ok": False, "error": "unknown_method"}


def _handler(api: FakeSlackApi) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            url = urlsplit(self.path)
            method = url.path.removeprefix("/api/").lstrip("/")
            args = {**dict(parse_qsl(url.query)), **_decode(body, self.headers.get("Content-Type", ""))}
            status, headers, payload = api.answer(method, args, dict(self.headers.items()))
            self._reply(status, headers, payload)

        def _reply(self, status: int, headers: dict[str, str], payload: Any) -> None:
            raw = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _decode(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type.startswith("application/json"):
        return dict(json.loads(body or b"{}"))
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode()))
    return {"content": body} if body else {}


class FakeSocketMode:
    """Slack's side of a Socket Mode connection: sends envelopes to the client and returns its acks."""

    def __init__(self) -> None:
        self.url = ""
        self._acks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._ws: web.WebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._runner = web.AppRunner(web.Application())

    async def __aenter__(self) -> FakeSocketMode:
        self._runner.app.router.add_get("/link", self._link)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"ws://{host}:{port}/link"
        return self

    async def __aexit__(self, kind: type[BaseException] | None, err: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._ws is not None:
            await self._ws.close()
        await self._runner.cleanup()

    async def deliver(self, payload: dict[str, Any], kind: str = "events_api") -> tuple[str, dict[str, Any]]:
        """Send one envelope; returns its id and the client's acknowledgement."""
        await asyncio.wait_for(self._connected.wait(), 5)
        assert self._ws is not None
        envelope_id = str(uuid.uuid4())
        await self._ws.send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                  "accepts_response_payload": False, "retry_attempt": 0})
        return envelope_id, await asyncio.wait_for(self._acks.get(), 5)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json({"type": "hello", "num_connections": 1})
        self._connected.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await self._acks.put(json.loads(message.data))
        return ws
