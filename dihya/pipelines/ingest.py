"""From an accepted provider webhook to chat: dedupe, record, route, post or edit, incident, annotate.

The webhook only queues events (it must answer fast); one task here handles them in order. Every
event is recorded (deploy gates read it); a result is posted once, when the run ends, in the
channel its route names (``[ci]``), and edited if a later delivery changes it. Runs that Dihya
itself triggered are already followed in their job's status message and are not posted again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from bot.actions import Action, Edit, Send
from bot.clock import now_us
from bot.core import Bot
from bot.dedupe import DeliveryLog
from bot.events import Place
from bot.i18n import N_, Msg
from bot.incidents import DEFAULT_SEVERITY, IncidentDraft
from bot.incidents import KEY_PREFIX as INCIDENT_PREFIX
from bot.pipelines import CiPolicy, PipelineCatalog, PipelineRun, PipelineRunStore, result_lines
from dihya.pipelines.grafana import Annotations
from dihya.pipelines.hooks import CiEvent
from dihya.runtime import Runtime

log = logging.getLogger("dihya.pipelines.hooks")
ACTOR = "system:ci"
DEPLOYMENT_EVENTS = frozenset({"deployment_status", "deployment"})
MAX_QUEUE = 1000


class CiIngest:
    def __init__(self, runtime: Runtime, runs: PipelineRunStore, catalog: PipelineCatalog, policy: CiPolicy,
                 deliveries: DeliveryLog, annotations: Annotations,
                 clock: Callable[[], float] = time.time) -> None:
        self._runtime = runtime
        self._bot: Bot = runtime.bot
        self._runs = runs
        self._catalog = catalog
        self._policy = policy
        self._deliveries = deliveries
        self._annotations = annotations
        self._clock = clock
        self._queue: asyncio.Queue[CiEvent] = asyncio.Queue(MAX_QUEUE)

    def accept(self, event: CiEvent) -> str:
        """``accepted``, ``duplicate`` (this delivery was seen: acted on once) or ``busy`` (retry later)."""
        if self._queue.full():
            return "busy"
        if not self._deliveries.first_time(f"{event.run.provider}:{event.delivery_id}"):
            return "duplicate"
        self._queue.put_nowait(event)
        return "accepted"

    async def idle(self) -> None:
        await self._queue.join()

    async def run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self.handle(event)
            except Exception:  # one bad delivery must not stop the ones after it
                log.exception("ci delivery failed", extra={"provider": event.run.provider, "event": event.event})
            finally:
                self._queue.task_done()

    async def handle(self, event: CiEvent) -> None:
        run = self._with_catalog(event)
        saved, changed = self._runs.save_pipeline_run(run, now_us(self._clock))
        self._bot.audit(ACTOR, "ci:received", target=saved.label, outcome=saved.state, ref=saved.key,
                        details={"event": event.event, "status": saved.status})
        self._flush()
        if not (changed and saved.finished) or saved.job_id is not None:
            return
        channel, locale = self._policy.destination({**event.labels, "pipeline": saved.pipeline})
        self._annotations.annotate(f"{event.what} {saved.status} on {saved.ref or '-'} ({saved.project})",
                                   ("pipeline", saved.pipeline or saved.project, saved.state))
        if not channel:
            log.warning("ci result matches no route and [ci] channel is unset", extra={"run": saved.key})
            return
        await self._post(saved, event.what, channel, locale)
        if self._opens_incident(saved, event):
            await self._incident(saved, event.what, channel, locale)

    def _with_catalog(self, event: CiEvent) -> PipelineRun:
        spec = self._catalog.for_project(event.run.provider, event.run.project)
        if spec is None:
            return event.run
        service = "" if event.event in DEPLOYMENT_EVENTS else spec.service  # deployments do not gate deploys
        return replace(event.run, pipeline=spec.name, service=service)

    async def _post(self, run: PipelineRun, what: str, channel: str, locale: str) -> None:
        text = self._bot.render(result_lines(run, what), locale)
        platform, _, channel_id = channel.partition(":")
        known = self._bot.services.store.message_id(run.key)
        action: Action = Edit(channel_id, run.key, text) if known else Send(channel_id, text, key=run.key)
        await self._runtime.publish(platform, (action,))

    def _opens_incident(self, run: PipelineRun, event: CiEvent) -> bool:
        return (self._policy.incident_on_default_branch_failure and run.state == "failed"
                and event.event not in DEPLOYMENT_EVENTS and bool(run.ref) and run.ref == run.default_branch)

    async def _incident(self, run: PipelineRun, what: str, channel: str, locale: str) -> None:
        store = self._bot.services.store
        platform, _, channel_id = channel.partition(":")
        posted = store.message_id(run.key)
        place = Place(platform, channel_id, posted[1] if posted else None)
        title = f"{what} failed on {run.ref} ({run.project})"[:300]
        incident_id = store.create_incident(IncidentDraft(title, DEFAULT_SEVERITY, ACTOR, place, locale),
                                            now_us(self._clock))
        self._bot.audit(ACTOR, "incident:auto_open", target=f"{INCIDENT_PREFIX}{incident_id}", ref=run.key)
        self._flush()
        line = Msg(N_("🚨 Incident #{id} opened automatically: {title} ({severity})."),
                   {"id": incident_id, "title": title, "severity": DEFAULT_SEVERITY})
        text = self._bot.render((line,), locale)
        await self._runtime.publish(platform, (Send(channel_id, text, thread=place.thread,
                                                    key=f"{INCIDENT_PREFIX}{incident_id}"),))

    def _flush(self) -> None:
        try:
            self._bot.flush_audit()
        except Exception:  # rows stay buffered; the runtime's next flush retries them
            log.exception("audit flush failed")
