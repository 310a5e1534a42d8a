"""The ``celery`` job queue: a Redis or RabbitMQ broker, one queue per runner, tasks keyed by job id.

acks_late + reject_on_worker_lost: a task whose worker dies is delivered again; the executor's
claim (queued → running, once) makes that redelivery harmless, and the bot's sweep marks the
orphaned job failed and tells its thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from celery import Celery, Task
from kombu.exceptions import OperationalError

from bot.catalog import ServiceCatalog
from bot.errors import UserError
from bot.jobs import JobRecord, QueueFull, QueueUnavailable
from dihya.jobs.broker import transport_options
from dihya.jobs.execution import DEFERRED
from dihya.jobs.local import RETRY_S
from dihya.jobs.redis_transport import NAME as REDIS_TRANSPORT

log = logging.getLogger("dihya.jobs.celery")
TASK_NAME = "dihya.run_job"
QUEUES = ("dihya.ansible", "dihya.docker", "dihya.kubernetes")


def make_celery(broker_url: str, visibility_timeout_s: int = 3600) -> Celery:
    """``broker_url``: Redis or RabbitMQ (amqp://); see ``dihya.jobs.broker`` on the visibility timeout."""
    app = Celery("dihya", broker=broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUES[0],
        broker_connection_retry_on_startup=True,
        broker_transport_options=dict(transport_options(broker_url, visibility_timeout_s)),
        broker_connection_timeout=2,
        worker_hijack_root_logger=False,
    )
    if broker_url.startswith("redis://"):  # rediss:// and unix:// keep kombu's own (TLS, socket parsing)
        app.conf.broker_transport = REDIS_TRANSPORT  # survives a lost connection mid-job (see the module)
    return app


def register_task(app: Celery, run: Callable[[int], object]) -> None:
    """The worker's task: run one job by id (the id is the idempotency key). A job whose environment
    runs as many jobs as ``[workers] concurrency`` allows goes back to the queue for a moment: it does
    not hold a worker thread that another environment's job could use."""

    @app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True,  # type: ignore[untyped-decorator]
              max_retries=None)
    def run_job(self: Task, job_id: int) -> None:
        if run(job_id) == DEFERRED:
            raise self.retry(countdown=RETRY_S)


class CeleryQueue:
    def __init__(self, app: Celery, redis_url: str, catalog: ServiceCatalog) -> None:
        self._app = app
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        self._catalog = catalog

    def ping(self) -> None:
        """Raise unless Redis (results, nudges) and the broker both answer now (``/readyz``)."""
        self._redis.ping()
        with self._app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=0, timeout=1)

    def submit(self, job: JobRecord) -> None:
        job_id = job.id
        try:
            self._redis.ping()  # fail fast: publishing would otherwise retry for a long time (nudges need it too)
            self._app.send_task(TASK_NAME, args=[job_id], queue=self._queue(job), retry=False)
        except (redis.RedisError, OperationalError, OSError) as err:
            if _out_of_memory(err):  # loud: this will not pass by itself
                log.error("the job queue's Redis is out of memory; the job was refused", extra={"job": job_id})
                raise QueueFull(str(err)) from None
            log.warning("the job queue is unreachable; the job was refused", extra={"job": job_id})
            raise QueueUnavailable(str(err)) from None

    def _queue(self, job: JobRecord) -> str:
        if job.draft.kind == "playbook":
            return "dihya.ansible"
        try:
            runner = self._catalog.deployment(str(job.draft.args["service"]), str(job.draft.args["env"])).runner
        except (UserError, KeyError):
            # The catalog changed since the command was checked (or the job names no service): any
            # worker refuses it with the catalog's own message, so it goes to the default queue.
            log.warning("job names no catalog entry; queued for the ansible workers, which refuse it",
                        extra={"job": job.id, "kind": job.draft.kind})
            return "dihya.ansible"
        return f"dihya.{runner}"


def _out_of_memory(err: BaseException) -> bool:
    """Redis at ``maxmemory`` with ``noeviction`` (``OOM command not allowed``), maybe wrapped by kombu."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, redis.exceptions.OutOfMemoryError) or str(seen).startswith("OOM "):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
