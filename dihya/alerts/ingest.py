"""From an accepted Alertmanager delivery to chat: store, dedupe, route, post or edit, storm, incident.

The webhook only queues deliveries (it must answer fast); one task here handles them in order, so
two deliveries of one group never race. The queue is bounded: when it is full the webhook answers
503 and Alertmanager delivers again later. Storm summaries are redrawn at most every
``STORM_EDIT_S``, the last time once deliveries stop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.actions import Action, Button, Edit, Send
from bot.alerting import (
    ACK,
    INCIDENT,
    SILENCE,
    STORM_PREFIX,
    AlertDelivery,
    AlertGroupRecord,
    AlertPolicy,
    AlertView,
    group_lines,
    storm_lines,
)
from bot.clock import micros, now_us
from bot.core import Bot
from bot.events import Place
from bot.i18n import N_, Msg
from bot.incidents import incident_for_alert
from dihya.alerts.payload import Alert, WebhookPayload
from dihya.runtime import Runtime

log = logging.getLogger("dihya.alerts")
ACTOR = "system:alertmanager"
STORM_EDIT_S = 2.0
BUTTONS = ((ACK, N_("Acknowledge")), (SILENCE, N_("Silence 1 h")), (INCIDENT, N_("Open incident")))


def to_delivery(payload: WebhookPayload) -> AlertDelivery:
    return AlertDelivery(payload.group_key, payload.status, payload.group_labels, payload.common_labels,
                         payload.common_annotations, payload.external_url, tuple(_view(a) for a in payload.alerts))


def _view(alert: Alert) -> AlertView:
    ends = None if alert.ends_at is None else micros(alert.ends_at.timestamp())
    return AlertView(alert.fingerprint, alert.status, alert.labels, alert.annotations,
                     micros(alert.starts_at.timestamp()), ends, alert.generator_url)


class AlertIngest:
    __slots__ = ("_bot", "_clock", "_dirty", "_last_storm_edit", "_policy", "_queue", "_runtime")

    def __init__(self, runtime: Runtime, policy: AlertPolicy,
                 clock: Callable[[], float] = time.time, queue_size: int = 1000) -> None:
        self._runtime = runtime
        self._bot: Bot = runtime.bot
        self._policy = policy
        self._clock = clock
        self._queue: asyncio.Queue[AlertDelivery] = asyncio.Queue(maxsize=queue_size)
        self._dirty: dict[int, str] = {}  # storm id → channel address, summaries to redraw
        self._last_storm_edit = 0.0

    def submit(self, payload: WebhookPayload) -> bool:
        """Queue a delivery; ``False`` when the queue is full (nothing was queued)."""
        try:
            self._queue.put_nowait(to_delivery(payload))
        except asyncio.QueueFull:
            return False
        return True

    def full(self) -> bool:
        """No room for another delivery now (the webhook answers 503 before reading the body)."""
        return self._queue.full()

    async def idle(self) -> None:
        """Wait until every queued delivery has been handled, shown and audited (tests, shutdown)."""
        await self._queue.join()
        while self._dirty:
            await asyncio.sleep(0.05)
        self._flush()

    async def run(self) -> None:
        while True:
            delivery = await self._next()
            if delivery is None:  # no delivery for the rest of the interval: draw the storms now
                await self._redraw_storms_safely()
                continue
            try:
                await self.handle(delivery)
            except Exception:  # one bad delivery must not stop the ones after it
                log.exception("alert delivery failed", extra={"group": delivery.group_key[:200]})
            finally:
                self._queue.task_done()
            if self._dirty and time.monotonic() - self._last_storm_edit >= STORM_EDIT_S:
                await self._redraw_storms_safely()

    async def _next(self) -> AlertDelivery | None:
        """The next delivery; None when storms wait to be drawn and none came before their turn.
        A redraw reads the whole storm: drawing it each time the queue ran dry (often, at a
        high rate) made the cost grow with the square of the storm and stalled the webhook."""
        if not self._dirty:
            return await self._queue.get()
        wait = self._last_storm_edit + STORM_EDIT_S - time.monotonic()
        try:
            return await asyncio.wait_for(self._queue.get(), max(wait, 0.0))
        except TimeoutError:
            return None

    async def _redraw_storms_safely(self) -> None:
        try:
            await self._redraw_storms()
        except Exception:
            log.exception("alert storm summary failed")

    # -- one delivery -----------------------------------------------------------------------
    async def handle(self, delivery: AlertDelivery) -> None:
        store, now_us = self._bot.services.store, self._now_us()
        channel, locale = self._policy.destination(delivery.common_labels)
        saved = store.save_alert_group(delivery, channel or "", now_us)
        if saved is None:
            return  # a redelivery of a state we already show
        group, new = saved
        self._audit(group, new)
        if not channel:
            log.warning("alert matches no route and DIHYA_ALERTS_CHANNEL is unset", extra={"group": group.id})
            return
        if new and self._storming(group, now_us):
            storm_id, _ = store.join_storm(group.id, group.channel, self._policy.window_start_us(now_us), now_us)
            self._dirty[storm_id] = group.channel
            return
        if group.storm_id is not None:
            self._dirty[group.storm_id] = group.channel
            return
        await self._show(group, new, locale)
        if self._policy.opens_incident(group, new, delivery.status):
            await self._auto_incident(group, locale, now_us)

    def _storming(self, group: AlertGroupRecord, now_us: int) -> bool:
        store = self._bot.services.store
        return self._policy.storming(store.alert_messages_since(group.channel, self._policy.window_start_us(now_us)))

    async def _show(self, group: AlertGroupRecord, new: bool, locale: str) -> None:
        store, render = self._bot.services.store, self._bot.render
        text = render(group_lines(group, store.group_alerts(group.id)), locale)
        platform, _, channel_id = group.channel.partition(":")
        buttons = tuple(Button(emoji, render((Msg(label),), locale)) for emoji, label in BUTTONS)
        action: Action = Send(channel_id, text, key=group.key, buttons=buttons) if new \
            else Edit(channel_id, group.key, text, buttons)
        await self._runtime.publish(platform, (action,))

    async def _auto_incident(self, group: AlertGroupRecord, locale: str, now_us: int) -> None:
        store = self._bot.services.store
        posted = store.message_id(group.key)
        platform, _, channel_id = group.channel.partition(":")
        place = Place(platform, channel_id, posted[1] if posted else None)
        incident = incident_for_alert(store, group, ACTOR, place, locale, now_us)
        self._bot.audit(ACTOR, "incident:auto_open", target=incident.key, ref=group.key)
        self._flush()
        line = Msg(N_("🚨 Incident #{id} opened automatically: {title} ({severity})."),
                   {"id": incident.id, "title": incident.title, "severity": incident.severity})
        text = self._bot.render((line,), locale)
        await self._runtime.publish(platform, (Send(channel_id, text, thread=place.thread, key=incident.key),))
        fresh = store.alert_group(group.id)
        if fresh is not None:
            await self._show(fresh, False, locale)

    async def _redraw_storms(self) -> None:
        dirty, self._dirty = self._dirty, {}
        self._last_storm_edit = time.monotonic()
        store = self._bot.services.store
        for storm_id, channel in dirty.items():
            summary = store.storm_summary(storm_id)
            if summary is None:
                continue
            platform, _, channel_id = channel.partition(":")
            key = f"{STORM_PREFIX}{storm_id}"
            text = self._bot.render(storm_lines(summary), self._policy.locale)
            action: Action = Edit(channel_id, key, text) if store.message_id(key) else Send(channel_id, text, key=key)
            await self._runtime.publish(platform, (action,))

    # -- helpers ----------------------------------------------------------------------------
    def _audit(self, group: AlertGroupRecord, new: bool) -> None:
        self._bot.audit(ACTOR, "alert:received", target=group.key, outcome=group.status,
                        details={"new": new, "channel": group.channel, "alertname": group.name})
        self._runtime.commit_soon()  # group-committed: the delivery was answered already, nothing waits on it

    def _flush(self) -> None:
        try:
            self._bot.flush_audit()
        except Exception:  # rows stay buffered; the runtime's next flush retries them
            log.exception("audit flush failed")

    def _now_us(self) -> int:
        return now_us(self._clock)
