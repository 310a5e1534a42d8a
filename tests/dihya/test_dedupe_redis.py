"""Two replicas sharing the real Redis act once on the same delivery."""

import uuid
from pathlib import Path

from sqlalchemy import Engine

from bot.events import Message, Place, Sender
from dihya.app import build_app
from dihya.dedupe_redis import SharedDeliveries
from dihya.settings import load_settings

REDIS_URL = "redis://127.0.0.1:6379/8"


def test_a_delivery_is_claimed_once_across_replicas() -> None:
    one, two = SharedDeliveries(REDIS_URL), SharedDeliveries(REDIS_URL)
    delivery = f"d-{uuid.uuid4()}"
    assert one.first_time(delivery) is True
    assert two.first_time(delivery) is False
    assert one.first_time(delivery) is False


def test_redis_down_falls_back_to_local_memory() -> None:
    local = SharedDeliveries("redis://127.0.0.1:1/0")
    assert local.first_time("x") is True
    assert local.first_time("x") is False


async def test_two_bot_replicas_answer_a_retried_delivery_once(tmp_path: Path, engine: Engine) -> None:
    settings = load_settings(data_dir=tmp_path, jobs="celery", redis_url=REDIS_URL, rate_limit_per_minute=0)
    replicas = [build_app(settings, engine=engine) for _ in range(2)]
    event = Message(f"slack:event:{uuid.uuid4()}", Sender("console", "admin1"), Place("console", "main"), "m1", "ping")
    outcomes = [app.bot.handle(event) for app in replicas]
    assert [len(o.actions) for o in outcomes] == [1, 0]
    for app in replicas:
        app.close()
