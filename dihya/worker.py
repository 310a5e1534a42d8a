"""``dihya worker``: a Celery worker that runs jobs by id with the same executor as the local queue.
It takes tasks from ``DIHYA_BROKER_URL`` (RabbitMQ) or Redis, and nudges the bot over Redis."""

from __future__ import annotations

from dihya.compliance.wiring import sealer
from dihya.config_file import address_policy, load_config, pipeline_catalog, service_catalog
from dihya.jobs.celery_queue import QUEUES, make_celery, register_task
from dihya.jobs.nudges import RedisNudges
from dihya.redaction import Redactor
from dihya.settings import Settings
from dihya.store.engine import make_engine
from dihya.store.sql import SqlStore


def run_worker(settings: Settings, queues: tuple[str, ...] = QUEUES, concurrency: int = 2) -> None:
    """Blocks until the worker stops. Threads, not processes: a job already runs its tools as
    subprocesses, and one process keeps the store's connection pool and heartbeats simple."""
    from dihya.app import build_executor, celery_visibility

    store = SqlStore(make_engine(settings.sqlalchemy_url), sealer(settings))
    config = load_config(settings.config_file)
    catalog = service_catalog(config)
    executor = build_executor(settings, store, catalog, Redactor(settings.secret_values()),
                              RedisNudges(settings.redis), address_policy(config))
    celery = make_celery(settings.broker, celery_visibility(settings, catalog, pipeline_catalog(config)))
    register_task(celery, executor.run)
    celery.worker_main(["worker", "--pool=threads", f"--concurrency={concurrency}", "-Q", ",".join(queues),
                        "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"])
