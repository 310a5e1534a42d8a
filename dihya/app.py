"""Composition root: build every part from ``Settings`` and wire them together (no globals)."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine

from bot.addresses import STRICT, AddressPolicy
from bot.catalog import ServiceCatalog
from bot.context import Services
from bot.core import Bot
from bot.dedupe import DeliveryLog, RecentDeliveries
from bot.i18n import Catalogs
from bot.identity import Identities
from bot.jobs import JobQueue
from bot.pipelines import PipelineCatalog  # issue 15
from bot.ports import Clock
from bot.ratelimit import RateLimit
from bot.registry import Command, Registry
from commands import ALL
from commands.pipelines import with_catalog  # issue 15
from commands.reports import report_commands  # issue 17
from commands.scripts import with_scripts  # issue 14
from commands.webhooks import webhook_commands  # issue 17
from dihya.alerts.ingest import AlertIngest  # issue 5
from dihya.alerts.wiring import REACTIONS, build_metrics, build_silences  # issue 5
from dihya.api.wiring import LazyIssuer  # issue 13
from dihya.compliance.service import ComplianceService
from dihya.compliance.settings_audit import audit_settings
from dihya.compliance.wiring import build_compliance, compliance_task, sealer, secret_box
from dihya.config_file import (  # issue 15
    access_policy,
    address_policy,
    alert_policy,
    ci_policy,
    load_config,
    monitoring_config,
    pipeline_catalog,
    service_catalog,
    worker_limits,
)
from dihya.jobs.backends import build_backends, script_runner
from dihya.jobs.execution import JobExecutor
from dihya.jobs.local import LocalNudges, LocalQueue
from dihya.jobs.targets import CatalogRunner
from dihya.jobs.watcher import JobWatcher
from dihya.leader import Leadership, Lease, Solo  # issue 16
from dihya.logs_sources.catalog import CatalogLogs
from dihya.pipelines.ingest import CiIngest  # issue 15
from dihya.pipelines.runner import pipeline_detail  # issue 15
from dihya.pipelines.wiring import build_annotations, with_pipelines  # issue 15
from dihya.plugins import Plugins, load_plugins  # issue 17
from dihya.redaction import Redactor
from dihya.reports.service import OpsReports  # issue 17
from dihya.reports.wiring import build_reports  # issue 17
from dihya.runners.inventory import ssh_vars
from dihya.runners.servers import ServerInventories
from dihya.runtime import Runtime
from dihya.scripts.config import sandbox_user, script_catalog
from dihya.settings import Settings
from dihya.store.engine import make_engine, upgrade
from dihya.store.pipelines_sql import PipelineRunsSql  # issue 15
from dihya.store.sql import SqlStore
from dihya.webhooks.delivery import WebhookSender  # issue 17
from dihya.webhooks.wiring import build_webhooks  # issue 17

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
STOP_GRACE_SECONDS = 30.0  # deferred work (an export) still running when the bot is asked to stop
log = logging.getLogger("dihya.app")


class RemoteNudges(Protocol):
    """Nudges that cross processes (Redis): the bot process listens for them."""

    def send(self, job_id: int) -> None: ...
    async def listen(self, target: Callable[[int], None]) -> None: ...


Nudges = LocalNudges | RemoteNudges


@dataclass(slots=True)
class App:
    settings: Settings
    engine: Engine
    store: SqlStore
    bot: Bot
    runtime: Runtime
    redactor: Redactor
    executor: JobExecutor
    queue: JobQueue
    watcher: JobWatcher
    nudges: Nudges
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    compliance: ComplianceService | None = None  # compliance (issue 6)
    alerts: AlertIngest | None = None  # Alertmanager deliveries → chat (issue 5)
    ci: CiIngest | None = None  # provider webhooks → records and chat (issue 15)
    leadership: Leadership | Solo = field(default_factory=Solo)  # leader duties between replicas (issue 16)
    webhooks: WebhookSender | None = None  # audit rows → signed outbound deliveries (issue 17)
    reports: OpsReports | None = None  # scheduled and on-demand operations reports (issue 17)

    async def start(self) -> None:
        """Begin background work: status edits, lost-worker sweeps, resuming queued local jobs."""
        self.watcher.bind(asyncio.get_running_loop())
        if isinstance(self.leadership, Leadership):  # issue 16: renew the lease in the background
            self._tasks.append(asyncio.create_task(self.leadership.run()))
        self._tasks.append(asyncio.create_task(self.watcher.sweep_forever(self.settings.job_sweep_seconds,
                                                                          self.leadership.may_act)))
        if isinstance(self.nudges, LocalNudges):
            self._resume_local_jobs()
        else:
            self._tasks.append(asyncio.create_task(self.nudges.listen(self.watcher.poke_threadsafe)))
        self._start_compliance()
        self._tasks.append(asyncio.create_task(self._close_interrupted()))
        if self.alerts is not None:  # issue 5: handles queued Alertmanager deliveries
            self._tasks.append(asyncio.create_task(self.alerts.run()))
        if self.ci is not None:  # issue 15: handles queued provider webhook deliveries
            self._tasks.append(asyncio.create_task(self.ci.run()))
        if self.webhooks is not None and self.webhooks.config.subscriptions:  # issue 17: a leader duty
            self._tasks.append(asyncio.create_task(self.webhooks.run_forever(self.leadership.may_act)))
        if self.reports is not None and self.reports.config.channels:  # issue 17: a leader duty
            self._tasks.append(asyncio.create_task(self.reports.run_forever(self.runtime.publish,
                                                                            self.leadership.may_act)))

    async def _close_interrupted(self, after_s: float = 1.0) -> None:
        """Issue 16: requests a killed process approved but never ran are closed and their threads told,
        once the adapters are attached, by the replica that leads."""
        await asyncio.sleep(after_s)
        if not self.leadership.may_act():
            return
        closed = self.bot.interrupted_approvals()
        if closed:
            self.bot.flush_audit()
        for platform, outcome in closed:
            await self.runtime.publish(platform, outcome.actions)

    def _start_compliance(self) -> None:
        """Compliance (issue 6): audit settings changes, then anchor the audit head and purge old rows."""
        audit_settings(self.store, self.settings, self.bot.services.clock())
        task = compliance_task(self.settings, self.store, self.bot.services.catalogs, self.runtime.publish,
                               self.bot.services.clock, self.leadership.may_act)
        if task.needed:
            self._tasks.append(asyncio.create_task(task.run_forever()))

    def _resume_local_jobs(self) -> None:
        """Queued jobs of a local queue died with the previous process: run them now."""
        for job in self.store.jobs(states=frozenset({"queued"}), limit=200):
            self.queue.submit(job)

    async def drain(self) -> None:
        """Wait for deferred command work (exports) to be answered, and for local jobs to finish
        and their final edits to land (console end of input)."""
        await self.runtime.idle()
        while isinstance(self.queue, LocalQueue) and self.queue.busy:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0)
        await self.watcher.idle()
        await self.runtime.idle()

    async def stop(self) -> None:
        """Give deferred command work a grace period to be answered (and audited), then stop."""
        if not await self.runtime.idle(STOP_GRACE_SECONDS):
            log.warning("stopping with deferred command work still running", extra={"grace_s": STOP_GRACE_SECONDS})
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self.close()

    def close(self) -> None:
        self.runtime.close()
        if isinstance(self.queue, LocalQueue):
            self.queue.shutdown(wait=False)
        self.engine.dispose()


def settle_heap() -> None:
    """Once a bot process has started (``dihya console``, ``dihya serve``, the benchmark): what
    start-up built (modules, models, catalogs, settings) lives as long as the process, so it is
    moved out of the cyclic collector's sight (``gc.freeze``). Chat traffic allocates many
    short-lived objects, and each full collection would otherwise walk all of it again."""
    gc.collect()
    gc.freeze()


def build_app(
    settings: Settings,
    *,
    clock: Clock = time.time,
    commands: Iterable[Command] = ALL,
    engine: Engine | None = None,
) -> App:
    engine = engine or make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    store = SqlStore(engine, sealer(settings))  # compliance: addresses and job results encrypted at rest
    for admin in settings.admins:
        store.grant_role(admin, "admin")
    config = load_config(settings.config_file)
    catalog = service_catalog(config)
    addresses = address_policy(config)
    # issue 17: plugins named in DIHYA_PLUGINS add commands, their catalogs and admin-only defaults
    builtins = tuple(commands)
    plugins = load_plugins(settings.plugins, builtins) if settings.plugins else Plugins()
    catalogs = Catalogs.load(LOCALES_DIR).extended(plugins.translations)
    redactor = Redactor(settings.secret_values())
    compliance = build_compliance(settings, store, redactor, clock)  # compliance (issue 6)
    webhooks = build_webhooks(config, engine, compliance.secrets, clock)  # issue 17
    reports = build_reports(config, engine, catalogs, clock)  # issue 17
    commands = (*builtins, *plugins.commands, *webhook_commands(webhooks), *report_commands(reports))
    pipelines, runs = pipeline_catalog(config), PipelineRunsSql(engine)  # issue 15
    nudges, executor, queue = _jobs(settings, store, catalog, redactor, addresses, pipelines)
    policy = plugins.policy(access_policy(config))
    scripts = script_catalog(config, policy)  # issue 14
    services = Services(
        store=store,
        registry=Registry(with_scripts(with_catalog(commands, pipelines, store), scripts)),
        policy=policy,
        catalogs=catalogs,
        clock=clock,
        identities=Identities(store, clock, settings.identity_cache_seconds),
        catalog=catalog,
        jobs=queue,
        compliance=compliance,
        # monitoring and alerts (issue 5)
        metrics=build_metrics(settings), silences=build_silences(settings),
        monitoring=monitoring_config(config, settings.grafana_url), reactions=REACTIONS,
        addresses=addresses, bootstrap_admins=frozenset(settings.admins),
        api_tokens=LazyIssuer(settings, store, clock),  # issue 13
        pipelines=pipelines, pipeline_runs=runs,  # issue 15
        scripts=scripts, logs=CatalogLogs.build(catalog, settings, redactor,  # issue 14
                                                   ServerInventories(store, addresses, ssh_vars(settings))),
    )
    limit = RateLimit(settings.rate_limit_per_minute, settings.rate_limit_burst, clock)
    deliveries = _deliveries(settings)
    bot = Bot(services, deliveries, limit)
    runtime = Runtime(bot, redactor, settings.audit_flush_ms)
    watcher = JobWatcher(runtime, store, catalogs, executor, clock, stale_after=settings.job_stale_seconds,
                         detail=pipeline_detail(runs))
    if isinstance(nudges, LocalNudges):
        nudges.connect(watcher.poke_threadsafe)
    alerts = AlertIngest(runtime, alert_policy(config, settings), clock,  # issue 5
                         queue_size=settings.alert_queue_size)
    ci = CiIngest(runtime, runs, pipelines, ci_policy(config, settings), deliveries, build_annotations(settings),
                  clock)  # issue 15
    return App(settings, engine, store, bot, runtime, redactor, executor, queue, watcher, nudges,
               compliance=compliance, alerts=alerts, ci=ci, leadership=_leadership(settings),
               webhooks=webhooks, reports=reports)


def build_executor(settings: Settings, store: SqlStore, catalog: ServiceCatalog, redactor: Redactor,
                   nudges: Nudges, addresses: AddressPolicy = STRICT,
                   pipelines: PipelineCatalog | None = None) -> JobExecutor:
    config = load_config(settings.config_file)
    box = secret_box(settings, store, redactor)  # compliance: runners get catalog secrets
    scripts = script_runner(settings, sandbox_user(config), box.value if box.configured else None)  # issue 14
    backends = build_backends(settings, scripts, sandbox_user(config))
    runner = CatalogRunner(catalog, backends, store, settings.data_dir.resolve(), box,
                           addresses, script_catalog(config, access_policy(config)), ssh_vars(settings))
    if pipelines is None:  # a worker process reads the catalog itself
        pipelines = pipeline_catalog(config)
    runs = PipelineRunsSql(store.engine)
    return JobExecutor(store, with_pipelines(runner, settings, pipelines, runs, box), nudges.send, redactor,
                       limits=worker_limits(config))  # issue 16


def _jobs(settings: Settings, store: SqlStore, catalog: ServiceCatalog, redactor: Redactor,
          addresses: AddressPolicy, pipelines: PipelineCatalog) -> tuple[Nudges, JobExecutor, JobQueue]:
    if settings.jobs == "local":
        local = LocalNudges()
        executor = build_executor(settings, store, catalog, redactor, local, addresses, pipelines)
        return local, executor, LocalQueue(executor, settings.job_workers)
    # Celery and Redis are imported only when configured: the embedded default stays small.
    from dihya.jobs.celery_queue import CeleryQueue, make_celery
    from dihya.jobs.nudges import RedisNudges

    remote = RedisNudges(settings.redis)
    executor = build_executor(settings, store, catalog, redactor, remote, addresses, pipelines)
    celery = make_celery(settings.broker, celery_visibility(settings, catalog, pipelines))  # issue 16
    return remote, executor, CeleryQueue(celery, settings.redis, catalog)


def celery_visibility(settings: Settings, catalog: ServiceCatalog, pipelines: PipelineCatalog) -> int:
    """The broker's visibility timeout, with a warning when a job may outlast it (issue 16)."""
    from dihya.jobs.broker import longest_job_s, visibility_timeout

    config = load_config(settings.config_file)
    scripts = script_catalog(config, access_policy(config))
    return visibility_timeout(settings.broker, settings.celery_visibility_timeout,
                              longest_job_s(catalog, pipelines, scripts))


def _leadership(settings: Settings) -> Leadership | Solo:
    """Replicas that share Redis (the Celery setup) elect one leader for single-actor duties."""
    if settings.jobs != "celery":
        return Solo()
    import redis

    client = redis.Redis.from_url(settings.redis, socket_timeout=1, socket_connect_timeout=1)
    return Leadership(Lease(client, ttl_s=settings.leader_lease_seconds))


def _deliveries(settings: Settings) -> DeliveryLog:
    """Replicas that share Redis (the Celery setup) also share their memory of deliveries."""
    local = RecentDeliveries(settings.dedupe_window)
    if settings.jobs != "celery":
        return local
    from dihya.dedupe_redis import SharedDeliveries

    return SharedDeliveries(settings.redis, local=local)
