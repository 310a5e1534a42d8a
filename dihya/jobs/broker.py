"""The Celery broker's delivery timeout against the longest job (issue 16).

Tasks are acknowledged late (after the job), so a worker that dies mid-job leaves its task to be
delivered again. On a Redis broker an unacknowledged task is also delivered again once the
*visibility timeout* has passed, even when its worker is alive and the job still running: a job
longer than that timeout is handed to a second worker. The store's claim (queued → running, once)
makes that second delivery a no-op (the job runs once, the duplicate is acknowledged), so the
timeout need not exceed the longest job: kept short, a task whose worker died before claiming it
is delivered again sooner. When the longest configured job is longer, start-up says so once.
RabbitMQ has no visibility timeout (it redelivers when the worker's connection closes), but its
``consumer_timeout`` (30 min by default) must likewise exceed the longest job; see the README.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from bot.catalog import ServiceCatalog
from bot.pipelines import PipelineCatalog
from bot.scripts import ScriptCatalog

log = logging.getLogger("dihya.jobs.broker")
MARGIN_S = 60  # a job's cleanup after its timeout


def longest_job_s(catalog: ServiceCatalog, pipelines: PipelineCatalog, scripts: ScriptCatalog) -> int:
    """The longest timeout any configured job may run with."""
    timeouts: Iterable[int] = (
        *(d.timeout_s for envs in catalog.services.values() for d in envs.values()),
        *(p.timeout_s for p in pipelines.pipelines.values()),
        *(s.timeout_s for s in scripts.scripts.values()),
    )
    return max(timeouts, default=0)


def visibility_timeout(broker_url: str, configured_s: int, longest_s: int) -> int:
    """``DIHYA_CELERY_VISIBILITY_TIMEOUT``; on Redis, a warning when a configured job may outlast it."""
    if is_redis(broker_url) and longest_s + MARGIN_S > configured_s:
        log.warning("jobs may outlast the Redis visibility timeout; their second delivery will not run them",
                    extra={"visibility_timeout_s": configured_s, "longest_job_s": longest_s})
    return configured_s


def is_redis(broker_url: str) -> bool:
    return broker_url.startswith(("redis://", "rediss://", "unix://"))


def transport_options(broker_url: str, visibility_s: int) -> Mapping[str, object]:
    """Broker transport options: the visibility timeout only means something on Redis."""
    return {"visibility_timeout": visibility_s} if is_redis(broker_url) else {}
