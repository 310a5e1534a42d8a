"""Store methods for alerts and incidents, mixed into ``SqlStore``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, ColumnElement, Connection, Engine, Row, cast, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.alerting import AlertDelivery, AlertGroupRecord, AlertRecord, AlertView, StormSummary
from bot.events import Place
from bot.incidents import OPEN_STATES, IncidentDraft, IncidentEvent, IncidentRecord
from dihya.store.models_alerts import AlertGroupRow, AlertRow, AlertStormRow, IncidentEventRow, IncidentRow

STORM_NAMES = 5
# state → the states an incident may come from (compare-and-set, so a repeated "ack" changes nothing)
_FROM = {"acknowledged": ("open",), "resolved": tuple(sorted(OPEN_STATES)), "open": ("resolved",)}


class AlertsSql:
    __slots__ = ()
    engine: Engine
    reader: Engine  # see ``SqlStore``

    # -- alert groups -----------------------------------------------------------------------
    def save_alert_group(self, delivery: AlertDelivery, channel: str,
                         now_us: int) -> tuple[AlertGroupRecord, bool] | None:
        """Record a delivery; None when it repeats the group's last state (nothing to show)."""
        try:
            with self.engine.begin() as conn:
                found = conn.execute(select(AlertGroupRow).where(
                    AlertGroupRow.group_hash == delivery.group_hash).with_for_update()).first()
                if found is not None and found.digest == delivery.digest:
                    return None
                group_id = _upsert_group(conn, delivery, channel, now_us, found)
                if not _upsert_alerts(conn, group_id, delivery.alerts) and found is not None:
                    raise _Unchanged  # an older state delivered again: roll back, show nothing
                _settle_status(conn, group_id)
                row = conn.execute(select(AlertGroupRow).where(AlertGroupRow.id == group_id)).one()
                return _group(row), found is None
        except (IntegrityError, _Unchanged):  # IntegrityError: another replica stored it a moment ago
            return None

    def alert_group(self, group_id: int) -> AlertGroupRecord | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(AlertGroupRow).where(AlertGroupRow.id == group_id)).first()
        return _group(row) if row else None

    def group_alerts(self, group_id: int) -> list[AlertView]:
        query = select(AlertRow).where(AlertRow.group_id == group_id).order_by(AlertRow.status, AlertRow.starts_us)
        with self.reader.connect() as conn:
            return [_alert(r) for r in conn.execute(query)]

    def firing_alerts(self) -> list[AlertRecord]:
        query = (select(AlertRow, AlertGroupRow.channel).join(AlertGroupRow, AlertGroupRow.id == AlertRow.group_id)
                 .where(AlertRow.status == "firing").order_by(AlertRow.starts_us, AlertRow.id))
        with self.reader.connect() as conn:
            return [AlertRecord(r.group_id, r.channel, _alert(r)) for r in conn.execute(query)]

    def alerts_with_status(self, status: str, limit: int) -> list[AlertRecord]:
        query = (select(AlertRow, AlertGroupRow.channel).join(AlertGroupRow, AlertGroupRow.id == AlertRow.group_id)
                 .where(AlertRow.status == status).order_by(AlertRow.starts_us.desc(), AlertRow.id.desc()).limit(limit))
        with self.reader.connect() as conn:
            return [AlertRecord(r.group_id, r.channel, _alert(r)) for r in conn.execute(query)]

    def ack_alert_group(self, group_id: int, who: str, now_us: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(update(AlertGroupRow).where(AlertGroupRow.id == group_id,
                                                            AlertGroupRow.acked_by.is_(None))
                                .values(acked_by=who, acked_us=now_us)).rowcount == 1

    def ack_storm(self, storm_id: int, who: str, now_us: int) -> list[int]:
        """Acknowledge every group of a storm not acknowledged yet, in one statement; their ids."""
        with self.engine.begin() as conn:
            acked = conn.scalars(update(AlertGroupRow)
                                 .where(AlertGroupRow.storm_id == storm_id, AlertGroupRow.acked_by.is_(None))
                                 .values(acked_by=who, acked_us=now_us).returning(AlertGroupRow.id))
            return sorted(acked)

    def set_alert_silence(self, group_id: int, silence_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(AlertGroupRow).where(AlertGroupRow.id == group_id).values(silence_id=silence_id))

    def set_alert_incident(self, group_id: int, incident_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(AlertGroupRow).where(AlertGroupRow.id == group_id).values(incident_id=incident_id))

    # -- storms -----------------------------------------------------------------------------
    def alert_messages_since(self, channel: str, since_us: int) -> int:
        """Alert groups that got a message of their own in ``channel`` since ``since_us``."""
        query = select(func.count(AlertGroupRow.id)).where(
            AlertGroupRow.channel == channel, AlertGroupRow.created_us >= since_us, AlertGroupRow.storm_id.is_(None))
        with self.reader.connect() as conn:
            return int(conn.scalar(query) or 0)

    def join_storm(self, group_id: int, channel: str, since_us: int, now_us: int) -> tuple[int, bool]:
        """Put a group in the channel's running storm (one active since ``since_us``) or start one."""
        with self.engine.begin() as conn:
            storm_id = conn.scalar(select(AlertStormRow.id).where(AlertStormRow.channel == channel,
                                                                  AlertStormRow.last_us >= since_us)
                                   .order_by(AlertStormRow.id.desc()).limit(1))
            started = storm_id is None
            if storm_id is None:
                storm_id = conn.execute(insert(AlertStormRow).values(channel=channel, started_us=now_us, last_us=now_us)
                                        .returning(AlertStormRow.id)).scalar_one()
            else:
                conn.execute(update(AlertStormRow).where(AlertStormRow.id == storm_id).values(last_us=now_us))
            conn.execute(update(AlertGroupRow).where(AlertGroupRow.id == group_id).values(storm_id=storm_id))
            return int(storm_id), started

    def storm_groups(self, storm_id: int) -> list[AlertGroupRecord]:
        query = select(AlertGroupRow).where(AlertGroupRow.storm_id == storm_id).order_by(AlertGroupRow.id)
        with self.reader.connect() as conn:
            return [_group(row) for row in conn.execute(query)]

    def storm_summary(self, storm_id: int) -> StormSummary | None:
        with self.reader.connect() as conn:
            storm = conn.execute(select(AlertStormRow).where(AlertStormRow.id == storm_id)).first()
            if storm is None:
                return None
            groups = conn.scalar(select(func.count(AlertGroupRow.id)).where(AlertGroupRow.storm_id == storm_id))
            # Counted by the database: parsing every alert's labels here took half a second per
            # redraw in a storm of 50,000 alerts, and stalled the webhook meanwhile (bench/).
            name = _alertname(conn.dialect.name)
            counts = conn.execute(select(AlertRow.status, name, func.count())
                                  .join(AlertGroupRow, AlertGroupRow.id == AlertRow.group_id)
                                  .where(AlertGroupRow.storm_id == storm_id)
                                  .group_by(AlertRow.status, name)).all()
        names: Counter[str] = Counter()
        firing = resolved = 0
        for status, alertname, count in counts:
            if status == "firing":
                firing += count
                names[alertname if alertname is not None else "?"] += count
            else:
                resolved += count
        top = sorted(names.items(), key=lambda item: (-item[1], item[0]))[:STORM_NAMES]
        return StormSummary(storm.id, storm.channel, storm.started_us, int(groups or 0), firing, resolved,
                            tuple(top))

    # -- incidents --------------------------------------------------------------------------
    def create_incident(self, draft: IncidentDraft, now_us: int) -> int:
        values = {"title": draft.title, "severity": draft.severity, "state": "open", "opened_by": draft.opened_by,
                  "channel": draft.place.address, "thread": draft.place.thread, "locale": draft.locale,
                  "significant": False, "created_us": now_us}
        with self.engine.begin() as conn:
            incident_id = int(conn.execute(insert(IncidentRow).values(**values).returning(IncidentRow.id)).scalar_one())
            _event(conn, incident_id, IncidentEvent(now_us, draft.opened_by, "opened", draft.title, draft.severity))
            if draft.alert_group is not None:
                _event(conn, incident_id, IncidentEvent(now_us, draft.opened_by, "alert", "", str(draft.alert_group)))
                conn.execute(update(AlertGroupRow).where(AlertGroupRow.id == draft.alert_group)
                             .values(incident_id=incident_id))
            return incident_id

    def incident(self, incident_id: int) -> IncidentRecord | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(IncidentRow).where(IncidentRow.id == incident_id)).first()
        return _incident(row) if row else None

    def incidents(self, *, states: frozenset[str] | None = None, since_us: int | None = None,
                  limit: int = 50) -> list[IncidentRecord]:
        query = select(IncidentRow).order_by(IncidentRow.id.desc()).limit(limit)
        if states is not None:
            query = query.where(IncidentRow.state.in_(sorted(states)))
        if since_us is not None:
            query = query.where(IncidentRow.created_us >= since_us)
        with self.reader.connect() as conn:
            return [_incident(r) for r in conn.execute(query)]

    def incident_at(self, channel: str, thread: str) -> IncidentRecord | None:
        query = (select(IncidentRow).where(IncidentRow.channel == channel, IncidentRow.thread == thread)
                 .order_by(IncidentRow.id.desc()).limit(1))
        with self.reader.connect() as conn:
            row = conn.execute(query).first()
        return _incident(row) if row else None

    def transition_incident(self, incident_id: int, to_state: str, event: IncidentEvent) -> bool:
        stamps: dict[str, Any] = {"acknowledged": {"acked_us": event.ts_us},
                                  "resolved": {"resolved_us": event.ts_us}}.get(to_state, {})
        with self.engine.begin() as conn:
            moved = conn.execute(update(IncidentRow).where(IncidentRow.id == incident_id,
                                                           IncidentRow.state.in_(_FROM[to_state]))
                                 .values(state=to_state, **stamps)).rowcount == 1
            if moved:
                _event(conn, incident_id, event)
            return moved

    def assign_incident(self, incident_id: int, owner: str, event: IncidentEvent) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(IncidentRow).where(IncidentRow.id == incident_id).values(owner=owner))
            _event(conn, incident_id, event)

    def flag_incident_significant(self, incident_id: int, event: IncidentEvent) -> bool:
        with self.engine.begin() as conn:
            flagged = conn.execute(update(IncidentRow).where(IncidentRow.id == incident_id,
                                                             IncidentRow.significant.is_(False))
                                   .values(significant=True)).rowcount == 1
            if flagged:
                _event(conn, incident_id, event)
            return flagged

    def add_incident_event(self, incident_id: int, event: IncidentEvent) -> None:
        with self.engine.begin() as conn:
            _event(conn, incident_id, event)

    def incident_events(self, incident_id: int) -> list[IncidentEvent]:
        query = (select(IncidentEventRow).where(IncidentEventRow.incident_id == incident_id)
                 .order_by(IncidentEventRow.ts_us, IncidentEventRow.id))
        with self.reader.connect() as conn:
            return [IncidentEvent(r.ts_us, r.actor, r.kind, r.text, r.ref) for r in conn.execute(query)]


# --- rows ↔ records ----------------------------------------------------------------------------


def _upsert_group(conn: Connection, d: AlertDelivery, channel: str, now_us: int,
                  found: Row[Any] | None) -> int:
    values = {"status": d.status, "digest": d.digest, "group_labels": _dump(d.group_labels),
              "common_labels": _dump(d.common_labels), "common_annotations": _dump(d.common_annotations),
              "external_url": d.external_url, "updated_us": now_us}
    if found is not None:
        conn.execute(update(AlertGroupRow).where(AlertGroupRow.id == found.id).values(**values))
        return int(found.id)
    return int(conn.execute(insert(AlertGroupRow).values(group_hash=d.group_hash, group_key=d.group_key,
                                                         channel=channel, created_us=now_us, **values)
                            .returning(AlertGroupRow.id)).scalar_one())


class _Unchanged(Exception):
    """A delivery that changes no alert (a redelivery of an older state of the group)."""


def _upsert_alerts(conn: Connection, group_id: int, alerts: tuple[AlertView, ...]) -> bool:
    """Insert new alerts, update changed ones; True when anything changed."""
    query = select(AlertRow.fingerprint, AlertRow.id, AlertRow.status, AlertRow.starts_us, AlertRow.ends_us) \
        .where(AlertRow.group_id == group_id)
    known = {row.fingerprint: row for row in conn.execute(query)}
    fresh, changed = [], False
    for a in alerts:
        values = {"status": a.status, "labels": _dump(a.labels), "annotations": _dump(a.annotations),
                  "generator_url": a.generator_url, "starts_us": a.starts_us, "ends_us": a.ends_us}
        old = known.get(a.fingerprint)
        if old is None:
            fresh.append({"group_id": group_id, "fingerprint": a.fingerprint, **values})
        elif _moves_forward(old, a):
            conn.execute(update(AlertRow).where(AlertRow.id == old.id).values(**values))
            changed = True
    if fresh:
        conn.execute(insert(AlertRow), fresh)
    return changed or bool(fresh)


def _moves_forward(old: Row[Any], new: AlertView) -> bool:
    """Same state: no; firing again with the start of an alert already resolved: a stale delivery."""
    if (old.status, old.starts_us, old.ends_us) == (new.status, new.starts_us, new.ends_us):
        return False
    return not (old.status == "resolved" and new.status == "firing" and old.starts_us == new.starts_us)


def _settle_status(conn: Connection, group_id: int) -> None:
    """A group fires while any of its alerts does, whatever the last delivery said."""
    firing = conn.scalar(select(func.count(AlertRow.id)).where(AlertRow.group_id == group_id,
                                                               AlertRow.status == "firing"))
    conn.execute(update(AlertGroupRow).where(AlertGroupRow.id == group_id)
                 .values(status="firing" if firing else "resolved"))


def _event(conn: Connection, incident_id: int, e: IncidentEvent) -> None:
    conn.execute(insert(IncidentEventRow).values(incident_id=incident_id, ts_us=e.ts_us, actor=e.actor, kind=e.kind,
                                                 text=e.text, ref=e.ref[:100]))


def _alertname(dialect: str) -> ColumnElement[Any]:
    """The ``alertname`` label of an alert row, read by the database from its JSON labels."""
    if dialect == "postgresql":
        label: ColumnElement[Any] = cast(AlertRow.labels, JSON)["alertname"].as_string()
        return label
    extracted: ColumnElement[Any] = func.json_extract(AlertRow.labels, "$.alertname")
    return extracted


def _dump(value: Mapping[str, str]) -> str:
    return json.dumps(dict(value), sort_keys=True, ensure_ascii=False)


def _group(row: Row[Any]) -> AlertGroupRecord:
    r = row._mapping
    return AlertGroupRecord(
        id=r["id"], group_key=r["group_key"], channel=r["channel"], status=r["status"],
        group_labels=json.loads(r["group_labels"]), common_labels=json.loads(r["common_labels"]),
        common_annotations=json.loads(r["common_annotations"]), external_url=r["external_url"],
        created_us=r["created_us"], storm_id=r["storm_id"], acked_by=r["acked_by"], silence_id=r["silence_id"],
        incident_id=r["incident_id"])


def _alert(row: Row[Any]) -> AlertView:
    r = row._mapping
    return AlertView(r["fingerprint"], r["status"], json.loads(r["labels"]), json.loads(r["annotations"]),
                     r["starts_us"], r["ends_us"], r["generator_url"])


def _incident(row: Row[Any]) -> IncidentRecord:
    r = row._mapping
    platform, _, channel = str(r["channel"]).partition(":")
    return IncidentRecord(r["id"], r["title"], r["severity"], r["state"], r["opened_by"], r["owner"],
                          Place(platform, channel, r["thread"]), r["locale"], bool(r["significant"]),
                          r["created_us"], r["acked_us"], r["resolved_us"])
