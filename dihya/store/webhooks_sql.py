"""Webhook deliveries over SQLAlchemy (issue 17): a queue per subscription, filled from the audit log.

``enqueue`` reads the audit rows after the cursor and inserts their deliveries in the transaction
that moves the cursor (compare-and-set), so a row becomes deliveries exactly once even with two
replicas. ``head`` is a subscription's oldest undelivered delivery: later ones wait for it (order).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, func, insert, select, update

from bot.audit import AuditDraft, AuditRecord
from dihya.store.models import AuditEvent
from dihya.store.models_webhooks import WebhookCursor, WebhookDelivery

PENDING, DELIVERED, EXPIRED, REJECTED = "pending", "delivered", "expired", "rejected"
_CURSOR = "audit"
_BATCH = 500


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    subscription: str
    event_id: str
    event: str
    body: str
    attempts: int
    created_us: int
    next_us: int
    state: str = PENDING
    last_status: str = ""


# An audit row → the (subscription, event id, event name, body) deliveries it makes.
Fanout = Callable[[AuditRecord], Iterable[tuple[str, str, str, str]]]


class WebhookDeliveriesSql:
    __slots__ = ("engine",)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start_cursor(self) -> None:
        """First start: deliver what happens from now on, not the whole history."""
        with self.engine.begin() as conn:
            if conn.execute(select(WebhookCursor.seq).where(WebhookCursor.name == _CURSOR)).first() is None:
                last = conn.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()
                conn.execute(insert(WebhookCursor).values(name=_CURSOR, seq=last))

    def enqueue(self, fanout: Fanout, now_us: int) -> int:
        """Turn the audit rows after the cursor into deliveries; returns how many were queued."""
        with self.engine.begin() as conn:
            cursor = conn.execute(select(WebhookCursor.seq).where(WebhookCursor.name == _CURSOR)).scalar_one()
            rows = conn.execute(select(AuditEvent).where(AuditEvent.seq > cursor)
                                .order_by(AuditEvent.seq).limit(_BATCH)).all()
            if not rows:
                return 0
            moved = conn.execute(update(WebhookCursor).where(WebhookCursor.name == _CURSOR,
                                                             WebhookCursor.seq == cursor)
                                 .values(seq=rows[-1].seq)).rowcount
            if moved != 1:  # another replica took these rows
                return 0
            values = [{"subscription": sub, "event_id": eid, "event": name, "body": text, "state": PENDING,
                       "attempts": 0, "created_us": now_us, "next_us": now_us, "last_status": ""}
                      for row in rows for sub, eid, name, text in fanout(_record(row))]
            if values:
                conn.execute(insert(WebhookDelivery), values)
            return len(values)

    def add(self, subscription: str, event_id: str, event: str, body: str, now_us: int) -> int:
        with self.engine.begin() as conn:
            new = conn.execute(insert(WebhookDelivery).values(
                subscription=subscription, event_id=event_id, event=event, body=body, state=PENDING, attempts=0,
                created_us=now_us, next_us=now_us, last_status="")).inserted_primary_key
        assert new is not None
        return int(new[0])

    def heads(self) -> list[Delivery]:
        """Each subscription's oldest pending delivery."""
        first = (select(func.min(WebhookDelivery.id)).where(WebhookDelivery.state == PENDING)
                 .group_by(WebhookDelivery.subscription))
        with self.engine.connect() as conn:
            rows = conn.execute(select(WebhookDelivery).where(WebhookDelivery.id.in_(first))
                                .order_by(WebhookDelivery.id)).all()
        return [_delivery(r) for r in rows]

    def settle(self, delivery_id: int, state: str, status: str, next_us: int | None = None) -> None:
        values: dict[str, object] = {"state": state, "last_status": status[:64],
                                     "attempts": WebhookDelivery.attempts + 1}
        if next_us is not None:
            values["next_us"] = next_us
        with self.engine.begin() as conn:
            conn.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values))

    def last(self, subscriptions: Sequence[str]) -> dict[str, Delivery]:
        """Each subscription's most recently attempted delivery (for ``webhooks``)."""
        found: dict[str, Delivery] = {}
        with self.engine.connect() as conn:
            for name in subscriptions:
                row = conn.execute(select(WebhookDelivery).where(WebhookDelivery.subscription == name,
                                                                 WebhookDelivery.attempts > 0)
                                   .order_by(WebhookDelivery.id.desc()).limit(1)).first()
                if row is not None:
                    found[name] = _delivery(row)
        return found

    def pending(self, subscription: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(WebhookDelivery).where(
                WebhookDelivery.subscription == subscription, WebhookDelivery.state == PENDING)).scalar_one())


def _record(row: Row[Any]) -> AuditRecord:
    draft = AuditDraft(row.ts_us, row.actor, row.action, row.target, row.outcome, row.ref, json.loads(row.details))
    return AuditRecord(row.seq, draft, row.prev_hash, row.hash)


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(row.id, row.subscription, row.event_id, row.event, row.body, row.attempts, row.created_us,
                    row.next_us, row.state, row.last_status)
