"""``AlertStore`` in memory: dedupe by the group's state, stale redeliveries ignored, storms."""

from __future__ import annotations

from collections import Counter

from bot.alerting import AlertDelivery, AlertGroupRecord, AlertRecord, AlertView, StormSummary
from bot.memory.tables import AlertGroupRow, AlertRow, Memory, StormRow

STORM_NAMES = 5  # alert names a storm summary lists


class MemoryAlerts(Memory):
    __slots__ = ()

    def save_alert_group(self, delivery: AlertDelivery, channel: str,
                         now_us: int) -> tuple[AlertGroupRecord, bool] | None:
        """Record a delivery; None when it repeats the group's last state or changes no alert."""
        t = self.tables
        found = next((i for i, g in t.alert_groups.items() if g.group_hash == delivery.group_hash), None)
        if found is not None and t.alert_groups[found].digest == delivery.digest:
            return None
        known = {a.fingerprint: (i, a) for i, a in t.alerts.items() if a.group_id == found}
        fresh = [a for a in delivery.alerts if a.fingerprint not in known]
        moved = [(known[a.fingerprint][0], a) for a in delivery.alerts
                 if a.fingerprint in known and _moves_forward(known[a.fingerprint][1], a)]
        if len({a.fingerprint for a in fresh}) < len(fresh):
            return None  # one alert twice in a delivery: the SQL insert fails and nothing is kept
        if found is not None and not fresh and not moved:
            return None  # an older state delivered again: nothing to show
        group_id = found if found is not None else self._new_group(delivery, channel, now_us)
        group = t.alert_groups[group_id]
        group.status, group.digest, group.external_url, group.updated_us = \
            delivery.status, delivery.digest, delivery.external_url, now_us
        group.group_labels, group.common_labels = dict(delivery.group_labels), dict(delivery.common_labels)
        group.common_annotations = dict(delivery.common_annotations)
        for alert_id, view in moved:
            t.alerts[alert_id] = _row(group_id, view)
        for view in fresh:
            t.alerts[t.next_id("alerts")] = _row(group_id, view)
        firing = any(a.group_id == group_id and a.status == "firing" for a in t.alerts.values())
        group.status = "firing" if firing else "resolved"  # whatever the last delivery said
        return _group(group_id, group), found is None

    def _new_group(self, delivery: AlertDelivery, channel: str, now_us: int) -> int:
        group_id = self.tables.next_id("alert_groups")
        self.tables.alert_groups[group_id] = AlertGroupRow(
            group_hash=delivery.group_hash, group_key=delivery.group_key, channel=channel, status=delivery.status,
            digest=delivery.digest, group_labels={}, common_labels={}, common_annotations={}, external_url="",
            created_us=now_us, updated_us=now_us)
        return group_id

    def alert_group(self, group_id: int) -> AlertGroupRecord | None:
        found = self.tables.alert_groups.get(group_id)
        return _group(group_id, found) if found else None

    def group_alerts(self, group_id: int) -> list[AlertView]:
        rows = [a for a in self.tables.alerts.values() if a.group_id == group_id]
        return [_view(a) for a in sorted(rows, key=lambda a: (a.status, a.starts_us))]

    def firing_alerts(self) -> list[AlertRecord]:
        t = self.tables
        rows = sorted((a.starts_us, i) for i, a in t.alerts.items() if a.status == "firing")
        return [AlertRecord(t.alerts[i].group_id, t.alert_groups[t.alerts[i].group_id].channel, _view(t.alerts[i]))
                for _, i in rows]

    def alerts_with_status(self, status: str, limit: int) -> list[AlertRecord]:
        t = self.tables
        rows = sorted(((a.starts_us, i) for i, a in t.alerts.items() if a.status == status), reverse=True)[:limit]
        return [AlertRecord(t.alerts[i].group_id, t.alert_groups[t.alerts[i].group_id].channel, _view(t.alerts[i]))
                for _, i in rows]

    def ack_alert_group(self, group_id: int, who: str, now_us: int) -> bool:
        group = self.tables.alert_groups.get(group_id)
        if group is None or group.acked_by is not None:
            return False
        group.acked_by, group.acked_us = who, now_us
        return True

    def ack_storm(self, storm_id: int, who: str, now_us: int) -> list[int]:
        acked = []
        for group_id, group in self.tables.alert_groups.items():
            if group.storm_id == storm_id and group.acked_by is None:
                group.acked_by, group.acked_us = who, now_us
                acked.append(group_id)
        return sorted(acked)

    def set_alert_silence(self, group_id: int, silence_id: str) -> None:
        group = self.tables.alert_groups.get(group_id)
        if group is not None:
            group.silence_id = silence_id

    def set_alert_incident(self, group_id: int, incident_id: int) -> None:
        group = self.tables.alert_groups.get(group_id)
        if group is not None:
            group.incident_id = incident_id

    # -- storms -----------------------------------------------------------------------------
    def alert_messages_since(self, channel: str, since_us: int) -> int:
        """Alert groups that got a message of their own in ``channel`` since ``since_us``."""
        return sum(1 for g in self.tables.alert_groups.values()
                   if g.channel == channel and g.created_us >= since_us and g.storm_id is None)

    def join_storm(self, group_id: int, channel: str, since_us: int, now_us: int) -> tuple[int, bool]:
        t = self.tables
        running = [i for i, s in t.storms.items() if s.channel == channel and s.last_us >= since_us]
        if running:
            storm_id, started = max(running), False
            t.storms[storm_id].last_us = now_us
        else:
            storm_id, started = t.next_id("storms"), True
            t.storms[storm_id] = StormRow(channel, now_us, now_us)
        group = t.alert_groups.get(group_id)
        if group is not None:
            group.storm_id = storm_id
        return storm_id, started

    def storm_groups(self, storm_id: int) -> list[AlertGroupRecord]:
        return [_group(i, g) for i, g in sorted(self.tables.alert_groups.items()) if g.storm_id == storm_id]

    def storm_summary(self, storm_id: int) -> StormSummary | None:
        t = self.tables
        storm = t.storms.get(storm_id)
        if storm is None:
            return None
        groups = {i for i, g in t.alert_groups.items() if g.storm_id == storm_id}
        alerts = [a for a in t.alerts.values() if a.group_id in groups]
        firing = [a for a in alerts if a.status == "firing"]
        names = Counter(a.labels.get("alertname", "?") for a in firing)
        top = sorted(names.items(), key=lambda item: (-item[1], item[0]))[:STORM_NAMES]  # ties by name, as SQL
        return StormSummary(storm_id, storm.channel, storm.started_us, len(groups), len(firing),
                            len(alerts) - len(firing), tuple(top))


def _moves_forward(old: AlertRow, new: AlertView) -> bool:
    """Same state: no; firing again with the start of an alert already resolved: a stale delivery."""
    if (old.status, old.starts_us, old.ends_us) == (new.status, new.starts_us, new.ends_us):
        return False
    return not (old.status == "resolved" and new.status == "firing" and old.starts_us == new.starts_us)


def _row(group_id: int, a: AlertView) -> AlertRow:
    return AlertRow(group_id, a.fingerprint, a.status, dict(a.labels), dict(a.annotations), a.generator_url,
                    a.starts_us, a.ends_us)


def _view(a: AlertRow) -> AlertView:
    return AlertView(a.fingerprint, a.status, dict(a.labels), dict(a.annotations), a.starts_us, a.ends_us,
                     a.generator_url)


def _group(group_id: int, g: AlertGroupRow) -> AlertGroupRecord:
    return AlertGroupRecord(
        id=group_id, group_key=g.group_key, channel=g.channel, status=g.status, group_labels=dict(g.group_labels),
        common_labels=dict(g.common_labels), common_annotations=dict(g.common_annotations),
        external_url=g.external_url, created_us=g.created_us, storm_id=g.storm_id, acked_by=g.acked_by,
        silence_id=g.silence_id, incident_id=g.incident_id)
