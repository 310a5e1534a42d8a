"""Incidents: the record, its lifecycle and timeline, MTTA/MTTR and the NIS2 reporting deadlines.

open → acknowledged → resolved (open → resolved too). Every change is a timeline event. A
"significant" incident (NIS2 art. 23) owes an early warning within 24 h and a notification within
72 h of detection; the timeline records when each was sent (``incident notified ...``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.alerting import AlertGroupRecord
from bot.clock import US_PER_S, whole_seconds
from bot.events import Place

if TYPE_CHECKING:  # bot.ports names this module's records
    from bot.ports import IncidentStore

KEY_PREFIX = "incident:"
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
DEFAULT_SEVERITY = "sev3"
OPEN_STATES = frozenset({"open", "acknowledged"})
HOUR_US = 3600 * US_PER_S
EARLY_WARNING_US = 24 * HOUR_US
NOTIFICATION_US = 72 * HOUR_US
NOTICES = ("early_warning", "notification")
# Alertmanager's severity label → incident severity.
SEVERITY_OF_LABEL: Mapping[str, str] = {"critical": "sev1", "page": "sev1", "high": "sev2", "error": "sev2",
                                        "warning": "sev3", "info": "sev4"}


@dataclass(frozen=True, slots=True)
class IncidentDraft:
    title: str
    severity: str
    opened_by: str
    place: Place
    locale: str
    alert_group: int | None = None


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: int
    title: str
    severity: str
    state: str
    opened_by: str
    owner: str | None
    place: Place
    locale: str
    significant: bool
    created_us: int
    acked_us: int | None = None
    resolved_us: int | None = None

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}{self.id}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def mtta_us(self) -> int | None:
        return None if self.acked_us is None else self.acked_us - self.created_us

    @property
    def mttr_us(self) -> int | None:
        return None if self.resolved_us is None else self.resolved_us - self.created_us


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    ts_us: int
    actor: str
    kind: str  # opened | acknowledged | assigned | update | resolved | alert | significant | notified
    text: str = ""
    ref: str = ""


@dataclass(frozen=True, slots=True)
class IncidentStats:
    count: int
    still_open: int
    mtta_us: int | None
    mttr_us: int | None


def stats(incidents: Sequence[IncidentRecord]) -> IncidentStats:
    return IncidentStats(len(incidents), sum(1 for i in incidents if i.is_open),
                         _mean([i.mtta_us for i in incidents]), _mean([i.mttr_us for i in incidents]))


def _mean(values: Sequence[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) // len(known) if known else None


@dataclass(frozen=True, slots=True)
class Deadline:
    notice: str  # early_warning | notification
    due_us: int
    sent_us: int | None

    def met(self) -> bool:
        return self.sent_us is not None and self.sent_us <= self.due_us

    def overdue(self, now_us: int) -> bool:
        return self.sent_us is None and now_us > self.due_us


def nis2_deadlines(incident: IncidentRecord, events: Sequence[IncidentEvent]) -> tuple[Deadline, Deadline]:
    sent = {e.ref: e.ts_us for e in reversed(events) if e.kind == "notified"}  # the first send counts
    return (Deadline("early_warning", incident.created_us + EARLY_WARNING_US, sent.get("early_warning")),
            Deadline("notification", incident.created_us + NOTIFICATION_US, sent.get("notification")))


def duration_text(us: int | None) -> str:
    """``3d 4h``, ``2h 05m``, ``4m 10s``; ``-`` when unknown."""
    if us is None:
        return "-"
    seconds = max(0, whole_seconds(us))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s"


def incident_for_alert(store: IncidentStore, group: AlertGroupRecord, opened_by: str, place: Place, locale: str,
                       now_us: int) -> IncidentRecord:
    """Open an incident linked to an alert group (🚨, or automatically for critical alerts)."""
    title = group.common_annotations.get("summary") or group.name
    severity = SEVERITY_OF_LABEL.get(group.severity, DEFAULT_SEVERITY)
    draft = IncidentDraft(title[:300], severity, opened_by, place, locale, alert_group=group.id)
    found = store.incident(store.create_incident(draft, now_us))
    assert found is not None
    return found
