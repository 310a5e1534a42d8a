"""Outbound webhooks (issue 17): a real receiver on loopback gets signed deliveries, in order, once per
event id, also when it was down for a while; cloud metadata and loopback targets are refused."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import load_settings
from dihya.vault import generate_key
from dihya.webhooks.events import event_kind, event_name
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job

SECRET = "whsec-test-value-1"


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records what it is sent; it can be stopped and started again."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        received = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def events(self) -> list[dict[str, object]]:
        return [json.loads(raw) for _, raw in self.got]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    if r._server is not None:
        r._server.server_close()


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "dihya.toml"
    path.write_text(body)
    return path


@asynccontextmanager
async def _app(tmp_path: Path, engine: Engine, config: str) -> AsyncIterator[tuple[App, Transcript]]:
    settings = load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                             identity_cache_seconds=0, content_dir=content_copy(tmp_path), secret_key=generate_key(),
                             config_file=_config(tmp_path, config))
    app = build_app(settings, engine=engine)
    assert app.compliance is not None
    app.compliance.secrets.put("ops-hook", SECRET, int(time.time() * 1e6))
    await app.start()
    try:
        yield app, Transcript(app)
    finally:
        await app.stop()


def _subscription(port: int, events: str = '["approval", "job"]') -> str:
    return f'''
[webhooks]
allow_addresses = ["127.0.0.1"]
retry_base_seconds = 0.1
retry_max_seconds = 0.4
poll_seconds = 0.05
[webhooks.subscriptions.ops]
url = "http://127.0.0.1:{port}/hook"
events = {events}
secret = "ops-hook"
'''


async def _until(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def _trail(app: App, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    """The subscribed events in the audit chain's order (a vote's row is group-committed, so it may
    follow the job.running row the executor writes itself): the order deliveries must keep."""
    app.bot.flush_audit()
    return [(f"evt-{r.seq}", event_name(kind, r)) for r in app.store.audit_records()
            if (kind := event_kind(r)) in kinds]


def _signed(headers: dict[str, str], raw: bytes) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-dihya-signature"], expected)


async def test_a_deploys_approval_and_job_transitions_arrive_signed_and_in_order(
        tmp_path: Path, engine: Engine, receiver: Receiver) -> None:
    async with _app(tmp_path, engine, _subscription(receiver.port)) as (app, chat):
        app.store.grant_role("console:dev1", "developer")
        app.store.grant_role("console:devops1", "devops")
        await chat.say("dev1", "deploy web to production version v1.2.3")
        await chat.react("devops1", "✅", chat.last.id)
        assert (await wait_job(app, 1)).state == "succeeded"
        await _until(lambda: any(e["event"] == "job.succeeded" for e in receiver.events))
        trail = _trail(app, ("approval", "job"))
    assert all(_signed(h, raw) for h, raw in receiver.got)
    assert [(e["id"], e["event"]) for e in receiver.events] == trail
    names = [e["event"] for e in receiver.events]
    assert names.index("approval.requested") < names.index("job.running") < names.index("job.succeeded"), names
    assert "approval.vote" in names
    assert {n.split(".")[0] for n in names} == {"approval", "job"}  # command rows are not subscribed
    seqs = [int(str(e["id"]).removeprefix("evt-")) for e in receiver.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert receiver.events[0]["details"] == {"args": {"service": "web", "env": "production", "version": "v1.2.3"}}
    assert all(h["x-dihya-delivery"] == e["id"] for (h, _), e in zip(receiver.got, receiver.events, strict=True))


async def test_events_sent_while_the_receiver_is_down_all_arrive_once_when_it_is_back(
        tmp_path: Path, engine: Engine, receiver: Receiver) -> None:
    receiver.stop()
    async with _app(tmp_path, engine, _subscription(receiver.port, '["job", "command"]')) as (app, chat):
        assert app.webhooks is not None
        app.store.grant_role("console:dev1", "developer")
        await chat.say("dev1", "deploy web to staging version v2.0.0")
        assert (await wait_job(app, 1)).state == "succeeded"
        await _until(lambda: "ConnectError" in (app.webhooks.statuses()[0].last if app.webhooks else ""))
        assert "last status ConnectError" in await chat.say("admin1", "webhooks")
        await asyncio.sleep(1.0)  # a few more failed attempts, backing off
        assert receiver.got == []
        receiver.start()
        await _until(lambda: any(e["event"] == "job.succeeded" for e in receiver.events))
        await _until(lambda: app.webhooks is not None and app.webhooks.statuses()[0].pending == 0)
        await asyncio.sleep(0.5)  # nothing more comes: every event once
        trail = _trail(app, ("job", "command"))
        assert [(e["id"], e["event"]) for e in receiver.events] == trail  # every event, once, in order
        assert "last status 204" in await chat.say("admin1", "webhooks")
    names = [e["event"] for e in receiver.events]
    assert {"command.deploy", "job.running", "job.succeeded"} <= set(names)
    assert all(_signed(h, raw) for h, raw in receiver.got)


async def test_metadata_and_unlisted_loopback_targets_are_refused(tmp_path: Path, engine: Engine,
                                                                   receiver: Receiver) -> None:
    config = f'''
[webhooks]
poll_seconds = 0.05
[webhooks.subscriptions.meta]
url = "http://169.254.169.254/latest"
events = ["command"]
secret = "ops-hook"
[webhooks.subscriptions.local]
url = "http://127.0.0.1:{receiver.port}/hook"
events = ["command"]
secret = "ops-hook"
'''
    async with _app(tmp_path, engine, config) as (app, chat):
        listing = await chat.say("admin1", "webhooks")
        assert "meta → 169.254.169.254: refused, its address is cloud metadata" in listing
        assert "local → 127.0.0.1: refused, its address is loopback" in listing
        assert "is refused: its address is cloud metadata" in await chat.say("admin1", "webhook test meta")
        await chat.say("admin1", "whoami")
        await asyncio.sleep(0.5)
        assert app.webhooks is not None
        assert {s.name: s.last for s in app.webhooks.statuses()} == {"meta": "refused: cloud metadata",
                                                                     "local": "refused: loopback"}
    assert receiver.got == []


async def test_webhook_commands_are_for_admins_and_test_sends_a_signed_event(
        tmp_path: Path, engine: Engine, receiver: Receiver) -> None:
    async with _app(tmp_path, engine, _subscription(receiver.port)) as (app, chat):
        app.store.grant_role("console:dev1", "devops")
        assert "not allowed" in await chat.say("dev1", "webhooks")
        assert "No webhook named nope" in await chat.say("admin1", "webhook test nope")
        assert "Test delivery #1 queued for ops" in await chat.say("admin1", "webhook test ops")
        await _until(lambda: bool(receiver.got))
        assert "ops" in await chat.say("admin1", "webhooks")
    headers, raw = receiver.got[0]
    assert _signed(headers, raw) and json.loads(raw)["event"] == "webhook.test"


@pytest.mark.parametrize(("answer", "allow", "refused"), [
    (["10.1.2.3"], [], "private"),
    (["93.184.216.34", "169.254.169.254"], [], "cloud metadata"),  # every address the name resolves to is checked
    (["::ffff:127.0.0.1"], [], "loopback"),
    (["10.1.2.3"], ["10.0.0.0/8"], None),
    (["93.184.216.34"], [], None),
])
def test_a_host_name_is_checked_by_what_it_resolves_to(answer: list[str], allow: list[str],
                                                       refused: str | None) -> None:
    from dihya.webhooks.config import webhook_config
    from dihya.webhooks.delivery import WebhookSender

    config = webhook_config({"webhooks": {"allow_addresses": allow, "subscriptions": {
        "ops": {"url": "https://hooks.example.org/x", "events": ["job"], "secret": "s"}}}})
    sender = WebhookSender(config, store=None, secret=lambda name: None, clock=time.time,  # type: ignore[arg-type]
                           resolver=lambda host, port: answer)
    assert sender.refusal(config.subscriptions[0]) == refused
