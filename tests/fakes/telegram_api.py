"""A fake Telegram Bot API: a real HTTP server on 127.0.0.1 in a thread, for python-telegram-bot's ``base_url``.

It serves queued updates to ``getUpdates`` until they are confirmed (a later call's ``offset`` above
them), as Telegram does, so a poller that dies holding updates leaves them to the next one; it
long-polls briefly when there are none, answers the methods the adapter calls, records every
call (method, parameters, uploaded files, status), and can be told to answer 429 or 5xx once.
Helpers at the bottom build update payloads in the Bot API's JSON shape.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from tests.helpers import outbound

BOT_ID = 4242
BOT_USERNAME = "dihya_bot"
JSON_FIELDS = frozenset({"reply_markup", "reply_parameters", "reaction", "allowed_updates"})
LONG_POLL_CAP = 0.3  # seconds a getUpdates waits for news here, whatever timeout it asks for


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]]
    status: int
    at: float = field(default_factory=time.monotonic)


class FakeTelegramApi:
    """``url`` is the root the adapter appends ``/bot<token>/<method>`` to; ``calls`` is what it received."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self._lock = threading.Condition()
        self._pending: list[dict[str, Any]] = []
        self._confirmed = 0
        self._ids = itertools.count(1000)
        self._failures: dict[str, tuple[int, int | None]] = {}
        self._admin_of: set[int] = set()
        self.deleted: list[tuple[int, int]] = []  # (chat, message) of every message deleteMessage removed
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeTelegramApi:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- behaviour switches -------------------------------------------------------------------
    def push(self, *updates: dict[str, Any]) -> None:
        """Queue updates for the next ``getUpdates``."""
        with self._lock:
            self._pending.extend(updates)
            self._lock.notify_all()

    def rate_limit_once(self, method: str, retry_after: int = 1) -> None:
        self._failures[method] = (429, retry_after)

    def fail_once(self, method: str, status: int = 500) -> None:
        self._failures[method] = (status, None)

    def make_admin(self, chat_id: int) -> None:
        """The bot becomes an administrator of a group, with the right to delete messages."""
        self._admin_of.add(chat_id)

    # -- reading ------------------------------------------------------------------------------
    def called(self, method: str, status: int | None = 200) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (status is None or c.status == status)]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """The successful calls of ``method`` once there are ``count``; fails the test after ``timeout``."""
        deadline = time.monotonic() + timeout
        while len(found := self.called(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{method}: {len(found)} successful calls, expected {count}")
            await asyncio.sleep(0.01)
        return found

    # -- serving ------------------------------------------------------------------------------
    def answer(self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> tuple[int, Any]:
        failure = self._failures.pop(method, None)
        if failure is not None:
            status, retry_after = failure
            body: dict[str, Any] = {"ok": False, "error_code": status, "description": "Fake failure"}
            if retry_after is not None:
                body |= {"description": f"Too Many Requests: retry after {retry_after}",
                         "parameters": {"retry_after": retry_after}}
            return status, body
        result = self._result(method, params, files)
        if result is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if result is False:  # the one refusal modelled: deleting someone else's message in a group
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message can't be deleted"}
        return 200, {"ok": True, "result": result}

    def _result(self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Dihya", "username": BOT_USERNAME,
                    "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
        if method == "getUpdates":
            return self._updates(int(params.get("offset") or 0), float(params.get("timeout") or 0))
        if method in {"deleteWebhook", "answerCallbackQuery", "setMessageReaction"}:
            return True
        if method == "deleteMessage":
            return self._delete(int(params["chat_id"]), int(params["message_id"]))
        if method in {"sendMessage", "editMessageText"}:
            message_id = int(params["message_id"]) if method == "editMessageText" else next(self._ids)
            return self._message(params, message_id, text=params["text"])
        if method == "sendDocument":
            name = files["document"][0]
            return self._message(params, next(self._ids), document={"file_id": "D1", "file_unique_id": "d1",
                                                                    "file_name": name})
        if method == "sendPhoto":
            return self._message(params, next(self._ids), photo=[{"file_id": "P1", "file_unique_id": "p1",
                                                                  "width": 640, "height": 480}])
        return None

    def _delete(self, chat_id: int, message_id: int) -> Any:
        """Bots may delete incoming messages in private chats; in a group, only as an administrator
        with can_delete_messages. Otherwise Telegram answers 400 (``_result`` turns False into it)."""
        if chat_id < 0 and chat_id not in self._admin_of:
            return False
        with self._lock:
            self.deleted.append((chat_id, message_id))
        return True

    def _updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + min(timeout, LONG_POLL_CAP)
        with self._lock:
            self._confirmed = max(self._confirmed, offset)
            self._pending = [u for u in self._pending if u["update_id"] >= self._confirmed]
            while not self._pending and (left := deadline - time.monotonic()) > 0:
                self._lock.wait(left)
            return [u for u in self._pending if u["update_id"] >= self._confirmed]

    @staticmethod
    def _message(params: dict[str, Any], message_id: int, **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        return {"message_id": message_id, "date": int(time.time()), "chat": chat,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Dihya"}, **content}

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
        outbound.inspect("telegram", call.method, {"params": call.params, "files": call.files})


def _handler(fake: FakeTelegramApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # the path carries the token: never print it

        def do_POST(self) -> None:
            prefix, _, method = self.path.lstrip("/").partition("/")
            params, files = self._body()
            if prefix != f"bot{fake.token}":
                status, body = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            else:
                status, body = fake.answer(method, params, files)
            fake.record(Call(method, params, files, status))
            self._send(status, body)

        do_GET = do_POST

        def _body(self) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            kind = self.headers.get("Content-Type", "")
            if kind.startswith("multipart/form-data"):
                return _multipart(kind, raw)
            if kind.startswith("application/json"):
                return json.loads(raw or b"{}"), {}
            return _decoded(dict(parse_qsl(raw.decode(), keep_blank_values=True))), {}

        def _send(self, status: int, body: Any) -> None:
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if status == 429:
                    self.send_header("Retry-After", str(body["parameters"]["retry_after"]))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up on a long poll (the adapter stopped)

    return Handler


def _decoded(form: dict[str, str]) -> dict[str, Any]:
    """python-telegram-bot sends scalars as text and objects as JSON text."""
    return {k: json.loads(v) if k in JSON_FIELDS else v for k, v in form.items()}


def _multipart(content_type: str, raw: bytes) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    form: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        content = part.get_payload(decode=True)
        if part.get_filename():
            files[name] = (str(part.get_filename()), bytes(content))
        else:
            form[name] = bytes(content).decode()
    return _decoded(form), files


# -- update payloads ---------------------------------------------------------------------------
def user(user_id: int, first_name: str = "Ada") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name}


def chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Ada"}
    return {"id": chat_id, "type": "supergroup", "title": "Ops"}


def text_update(update_id: int, text: str, *, chat_id: int, from_id: int | None = 1001,
                sender_chat: dict[str, Any] | None = None, message_id: int = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()), "chat": chat(chat_id),
                               "text": text}
    if from_id is not None:
        message["from"] = user(from_id)
    if sender_chat is not None:
        message["sender_chat"] = sender_chat
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(maxsplit=1)[0])}]
    return {"update_id": update_id, "message": message}


def button_update(update_id: int, data: str, *, chat_id: int, message_id: int, from_id: int = 1001) -> dict[str, Any]:
    message = {"message_id": message_id, "date": int(time.time()), "chat": chat(chat_id), "text": "Approve?",
               "from": {"id": BOT_ID, "is_bot": True, "first_name": "Dihya"}}
    query = {"id": f"q{update_id}", "from": user(from_id), "chat_instance": "ci", "data": data, "message": message}
    return {"update_id": update_id, "callback_query": query}


def reaction_update(update_id: int, *, chat_id: int, message_id: int, old: tuple[str, ...] = (),
                    new: tuple[str, ...] = (), from_id: int = 1001) -> dict[str, Any]:
    def kinds(emojis: tuple[str, ...]) -> list[dict[str, str]]:
        return [{"type": "emoji", "emoji": e} for e in emojis]

    change = {"chat": chat(chat_id), "message_id": message_id, "date": int(time.time()), "user": user(from_id),
              "old_reaction": kinds(old), "new_reaction": kinds(new)}
    return {"update_id": update_id, "message_reaction": change}
