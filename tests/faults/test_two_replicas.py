"""Fault 5 (issue 16): two replicas behind a load balancer that repeats every delivery to both,
as an Alertmanager HA pair does (each peer sends the same group). They share PostgreSQL and Redis;
1,000 distinct alert groups, each delivered to both replicas at the same moment, make exactly
1,000 messages, 1,000 stored groups and 1,000 ``alert:received`` audit rows between them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dihya.store.engine import make_engine
from dihya.store.sql import SqlStore
from tests.faults.servers import OwnRedis
from tests.helpers.alerts import DEFAULT_CHANNEL, TOKEN, alert, alert_app, payload, webhook_client
from tests.helpers.databases import PG_URL
from tests.helpers.transcript import Posted, Transcript

pytestmark = [pytest.mark.faults, pytest.mark.postgres]
DELIVERIES = 1000
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


def replica(name: str, tmp_path: Path, schema: str, redis_url: str, bodies: list[bytes]) -> list[Posted]:
    """One replica in a thread of its own, with its own event loop, engine and HTTP app (as on its own
    machine): it receives every body, then waits until it has handled them. Returns what it posted."""

    async def serve() -> list[Posted]:
        engine = make_engine(PG_URL, schema=schema)
        (tmp_path / name).mkdir()
        app = alert_app(engine, tmp_path / name, jobs="celery", redis_url=redis_url,
                        alert_storm_threshold=DELIVERIES * 2, alert_queue_size=DELIVERIES * 2)
        await app.start()
        chat = Transcript(app)
        try:
            async with webhook_client(app) as client:
                for start in range(0, DELIVERIES, 50):
                    answers = await asyncio.gather(*(client.post("/hooks/alertmanager", content=body, headers=AUTH)
                                                     for body in bodies[start:start + 50]))
                    assert {a.status_code for a in answers} == {202}
            assert app.alerts is not None
            await app.alerts.idle()
            app.bot.flush_audit()
        finally:
            await app.stop()
        return chat.posted

    return asyncio.run(serve())


async def test_the_same_thousand_deliveries_to_two_replicas_act_once_each(
        tmp_path: Path, schema: str, own_redis: OwnRedis) -> None:
    bodies = [payload(f"{{}}:{{alertname=\"Down{i}\"}}", [alert(f"fp{i:04d}", instance=f"web-{i:04d}")])
              for i in range(DELIVERIES)]
    with ThreadPoolExecutor(2) as pool:
        both = [pool.submit(replica, name, tmp_path, schema, own_redis.url, bodies) for name in ("a", "b")]
        posts = [future.result(timeout=240) for future in both]

    channel = DEFAULT_CHANNEL.partition(":")[2]
    posted = [p for replica_posts in posts for p in replica_posts if p.channel == channel]
    assert len(posted) == DELIVERIES
    assert len({(p.text.split("\n")[0], p.key) for p in posted}) == DELIVERIES
    assert all(p.edits == [] for p in posted)  # a repeat changed nothing, so nothing was edited
    store = SqlStore(make_engine(PG_URL, schema=schema))
    try:
        assert len(store.firing_alerts()) == DELIVERIES
        received = [r for r in store.audit_records() if r.draft.action == "alert:received"]
        assert len(received) == DELIVERIES
        assert len({r.draft.target for r in received}) == DELIVERIES
    finally:
        store.engine.dispose()
