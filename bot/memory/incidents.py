"""``IncidentStore`` in memory: compare-and-set state changes, each with its timeline event."""

from __future__ import annotations

from bot.incidents import OPEN_STATES, IncidentDraft, IncidentEvent, IncidentRecord
from bot.memory.tables import IncidentEventRow, IncidentRow, Memory, place_of

# state → the states an incident may come from (so a repeated "ack" changes nothing)
_FROM = {"acknowledged": frozenset({"open"}), "resolved": OPEN_STATES, "open": frozenset({"resolved"})}


class MemoryIncidents(Memory):
    __slots__ = ()

    def create_incident(self, draft: IncidentDraft, now_us: int) -> int:
        t = self.tables
        incident_id = t.next_id("incidents")
        t.incidents[incident_id] = IncidentRow(draft.title, draft.severity, "open", draft.opened_by,
                                               draft.place.address, draft.place.thread, draft.locale, now_us)
        self._event(incident_id, IncidentEvent(now_us, draft.opened_by, "opened", draft.title, draft.severity))
        if draft.alert_group is not None:
            self._event(incident_id, IncidentEvent(now_us, draft.opened_by, "alert", "", str(draft.alert_group)))
            group = t.alert_groups.get(draft.alert_group)
            if group is not None:
                group.incident_id = incident_id
        return incident_id

    def incident(self, incident_id: int) -> IncidentRecord | None:
        row = self.tables.incidents.get(incident_id)
        return _record(incident_id, row) if row else None

    def incidents(self, *, states: frozenset[str] | None = None, since_us: int | None = None,
                  limit: int = 50) -> list[IncidentRecord]:
        found = [_record(i, r) for i, r in sorted(self.tables.incidents.items(), reverse=True)
                 if (states is None or r.state in states) and (since_us is None or r.created_us >= since_us)]
        return found[:limit]

    def incident_at(self, channel: str, thread: str) -> IncidentRecord | None:
        return next((_record(i, r) for i, r in sorted(self.tables.incidents.items(), reverse=True)
                     if r.channel == channel and r.thread == thread), None)

    def transition_incident(self, incident_id: int, to_state: str, event: IncidentEvent) -> bool:
        allowed = _FROM[to_state]
        row = self.tables.incidents.get(incident_id)
        if row is None or row.state not in allowed:
            return False
        row.state = to_state
        if to_state == "acknowledged":
            row.acked_us = event.ts_us
        elif to_state == "resolved":
            row.resolved_us = event.ts_us
        self._event(incident_id, event)
        return True

    def assign_incident(self, incident_id: int, owner: str, event: IncidentEvent) -> None:
        self._row(incident_id).owner = owner
        self._event(incident_id, event)

    def flag_incident_significant(self, incident_id: int, event: IncidentEvent) -> bool:
        row = self.tables.incidents.get(incident_id)
        if row is None or row.significant:
            return False
        row.significant = True
        self._event(incident_id, event)
        return True

    def add_incident_event(self, incident_id: int, event: IncidentEvent) -> None:
        self._row(incident_id)
        self._event(incident_id, event)

    def incident_events(self, incident_id: int) -> list[IncidentEvent]:
        rows = sorted((e.ts_us, i) for i, e in self.tables.incident_events.items() if e.incident_id == incident_id)
        events = self.tables.incident_events
        return [IncidentEvent(events[i].ts_us, events[i].actor, events[i].kind, events[i].text, events[i].ref)
                for _, i in rows]

    def _row(self, incident_id: int) -> IncidentRow:
        row = self.tables.incidents.get(incident_id)
        if row is None:  # the SQL foreign key refuses a timeline event for no incident
            raise LookupError(f"no incident {incident_id}")
        return row

    def _event(self, incident_id: int, e: IncidentEvent) -> None:
        self.tables.incident_events[self.tables.next_id("incident_events")] = IncidentEventRow(
            incident_id, e.ts_us, e.actor, e.kind, e.text, e.ref[:100])


def _record(incident_id: int, r: IncidentRow) -> IncidentRecord:
    return IncidentRecord(incident_id, r.title, r.severity, r.state, r.opened_by, r.owner,
                          place_of(r.channel, r.thread), r.locale, r.significant, r.created_us, r.acked_us,
                          r.resolved_us)
