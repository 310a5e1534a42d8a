"""Outbound webhooks between replicas and through an outage (issue 17, acceptance 2).

Deliveries leave from the replica holding the leader lease only (two ``Leadership`` on the real
Redis, two senders over one store); and a receiver down for 30 s — simulated by the sender's clock,
the attempts real — gets every event once it is back, once per id, in order."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from sqlalchemy import Engine, select

from dihya.leader import Leadership, Lease
from dihya.store.engine import upgrade
from dihya.store.models_webhooks import WebhookDelivery
from dihya.store.sql import SqlStore
from dihya.store.webhooks_sql import WebhookDeliveriesSql
from dihya.webhooks.config import webhook_config
from dihya.webhooks.delivery import WebhookSender
from dihya.webhooks.events import event_kind, event_name
from tests.dihya.test_webhooks import SECRET, Receiver
from tests.helpers.audit_rows import seed_audit
from tests.helpers.redis_db import clean_redis

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    with clean_redis(REDIS_URL) as r:
        yield r


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    if r._server is not None:
        r._server.server_close()


def _sender(engine: Engine, port: int, clock: Callable[[], float], calls: list[str] | None = None,
            **timing: float) -> WebhookSender:
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)  # one call per attempt: who tried to deliver
        return ["127.0.0.1"]

    config = webhook_config({"webhooks": {"allow_addresses": ["127.0.0.1"], "poll_seconds": 0.05, **timing,
                                          "subscriptions": {"ops": {"url": f"http://127.0.0.1:{port}/hook",
                                                                    "events": ["command", "job", "approval"],
                                                                    "secret": "ops-hook"}}}})
    return WebhookSender(config, WebhookDeliveriesSql(engine), lambda name: SECRET, clock, resolve,
                         jitter=lambda: 0.5)


async def _until(check: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_only_the_replica_holding_the_lease_delivers(client: redis.Redis, engine: Engine,
                                                           receiver: Receiver) -> None:
    upgrade(engine)
    leaders = [Leadership(Lease(client, "t:webhooks", ttl_s=1, owner=name)) for name in ("a", "b")]
    calls: list[list[str]] = [[], []]
    senders = [_sender(engine, receiver.port, time.time, calls[n]) for n in range(2)]
    renew = [asyncio.create_task(leaders[0].run())]
    await _until(leaders[0].may_act, "replica a leads")
    renew.append(asyncio.create_task(leaders[1].run()))
    sending = [asyncio.create_task(s.run_forever(lead.may_act)) for s, lead in zip(senders, leaders, strict=True)]
    try:
        await _until(lambda: all(calls), "both senders checked their targets at start")
        calls[0].clear()
        calls[1].clear()
        for _ in range(3):
            senders[1].test("ops")  # queued anywhere: the store is shared
        await _until(lambda: len(receiver.got) == 3, "the leader delivers")
        await asyncio.sleep(0.5)
        assert len(calls[0]) == 3 and calls[1] == []  # replica b never tried while a held the lease
        renew[0].cancel()  # replica a stops (and gives the lease up): b leads and delivers
        await _until(leaders[1].may_act, "replica b takes the lease over")
        for _ in range(2):
            senders[0].test("ops")
        await _until(lambda: len(receiver.got) == 5, "the new leader delivers")
        await asyncio.sleep(0.5)
        assert len(calls[0]) == 3 and len(calls[1]) == 2
    finally:
        for task in (*renew, *sending):
            task.cancel()
        await asyncio.gather(*renew, *sending, return_exceptions=True)
    with engine.connect() as conn:
        queued = list(conn.execute(select(WebhookDelivery.event_id).order_by(WebhookDelivery.id)).scalars())
    assert [e["id"] for e in receiver.events] == queued  # each once, in the order queued


async def test_a_receiver_down_for_30_seconds_gets_every_event_once_in_order_after(
        engine: Engine, receiver: Receiver) -> None:
    upgrade(engine)
    SqlStore(engine)  # the audit chain's head row
    now = [1_800_000_000.0]
    sender = _sender(engine, receiver.port, lambda: now[0], retry_base_seconds=1.0, retry_max_seconds=8.0)
    sender.store.start_cursor()
    receiver.stop()
    seed_audit(engine, 10)  # command, job and approval rows, in the chain's order
    attempts = 0
    while now[0] < 1_800_000_030.0:  # 30 s of the sender's time, a pass every 0.5 s
        sender.step()
        attempts = sender.store.last(["ops"])["ops"].attempts if sender.store.last(["ops"]) else 0
        now[0] += 0.5
    assert receiver.got == [] and attempts >= 4  # it kept trying, backing off (1, 2, 4, 8, 8… s)
    assert sender.statuses()[0].last == "ConnectError" and sender.statuses()[0].pending == 10
    receiver.start()
    while sender.store.pending("ops"):
        assert now[0] < 1_800_000_060.0, "delivered within a retry period of the receiver's return"
        sender.step()
        now[0] += 0.5
    for _ in range(20):  # nothing more comes
        sender.step()
        now[0] += 0.5
    store = SqlStore(engine)
    trail = [(f"evt-{r.seq}", event_name(kind, r)) for r in store.audit_records() if (kind := event_kind(r))]
    assert len(trail) == 10
    assert [(e["id"], e["event"]) for e in receiver.events] == trail  # every event, once, in order
    expected = ["sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest() for _, raw in receiver.got]
    assert [h["x-dihya-signature"] for h, _ in receiver.got] == expected
