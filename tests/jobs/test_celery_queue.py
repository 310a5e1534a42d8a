"""Which Celery queue a job goes to: its runner's, from the catalog (real Redis, real Celery client)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.catalog import Deployment, ServiceCatalog
from bot.events import Place
from bot.jobs import JobDraft
from dihya.jobs.celery_queue import CeleryQueue, make_celery
from dihya.store.engine import upgrade
from dihya.store.sql import SqlStore
from tests.helpers.databases import database
from tests.helpers.redis_db import clean_redis

REDIS_URL = "redis://127.0.0.1:6379/13"
CATALOG = ServiceCatalog({"shop": {"staging": Deployment("shop", "staging", "docker",
                                                         {"container": "shop", "image": "r.example.org/shop"})}})


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    with clean_redis(REDIS_URL) as client:
        yield client


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    with database("sqlite", tmp_path) as engine:
        upgrade(engine)
        yield SqlStore(engine)


def submit(store: SqlStore, service: str) -> int:
    draft = JobDraft("deploy", {"service": service, "env": "staging", "version": "v1"}, f"deploy {service}",
                     "console:dev1", Place("console", "main"), "en", 60)
    job_id = store.create_job(draft, 1)
    job = store.job(job_id)
    assert job is not None
    CeleryQueue(make_celery(REDIS_URL), REDIS_URL, CATALOG).submit(job)
    return job_id


def test_a_docker_job_goes_to_the_docker_queue(broker: redis.Redis, store: SqlStore) -> None:
    submit(store, "shop")

    assert broker.llen("dihya.docker") == 1
    assert broker.llen("dihya.ansible") == 0


def test_a_job_whose_service_left_the_catalog_is_queued_for_refusal_and_logged(
        broker: redis.Redis, store: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dihya.jobs.celery"):
        job_id = submit(store, "gone")

    assert broker.llen("dihya.ansible") == 1
    warned = [r for r in caplog.records if r.name == "dihya.jobs.celery"]
    assert [(r.levelname, getattr(r, "job", None)) for r in warned] == [("WARNING", job_id)]
