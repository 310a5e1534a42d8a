"""A scripted week of operations, written through the store ports with known times, and the figures
a report over it must show (worked out by hand below, next to each event)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.alerting import AlertDelivery, AlertView
from bot.events import Place
from bot.incidents import IncidentDraft, IncidentEvent
from bot.jobs import JobDraft
from bot.ports import ApprovalDraft, Store, Vote

MIN = 60 * 1_000_000
HOUR = 60 * MIN
DAY = 24 * HOUR
START = int(datetime(2026, 11, 23, tzinfo=UTC).timestamp()) * 1_000_000  # a Monday, 00:00 UTC
END = START + 7 * DAY  # the next Monday: ``report now 7d`` is asked at this instant
PLACE = Place("console", "main")


def _job(store: Store, kind: str, service: str, env: str, state: str, created: int, took: int,
         approvers: tuple[str, ...] = (), requester: str = "console:dev1") -> int:
    args = {"service": service, "env": env, "version": "v2"}
    job_id = store.create_job(JobDraft(kind, args, f"{kind} {service}", requester, PLACE, "en", 600, approvers),
                              created)
    assert store.claim_job(job_id, created + MIN // 2)
    assert store.finish_job(job_id, state, {}, created + took)
    return job_id


def _approval(store: Store, service: str, env: str, created: int, expires: int) -> int:
    return store.create_approval(ApprovalDraft(
        "deploy", f"deploy {service} to {env}", {"service": service, "env": env, "version": "v2"}, "d" * 64,
        "deploy.prod", 1, frozenset({"devops"}), "console:dev1", None, PLACE, "en", created, expires))


def _alert(store: Store, key: str, name: str, service: str, starts: int, ends: int | None) -> None:
    labels = {"alertname": name, "service": service}
    status = "resolved" if ends is not None else "firing"
    delivery = AlertDelivery(key, status, {"alertname": name}, labels, {"summary": name}, "http://am",
                             (AlertView(f"fp-{key}", status, labels, {}, starts, ends),))
    assert store.save_alert_group(delivery, "console:main", starts) is not None


def script_week(store: Store) -> None:
    # Deploys: 3 in the week (web twice, api once), 2 succeeded, 1 failed → 67 %.
    _job(store, "deploy", "web", "staging", "succeeded", START - DAY, 5 * MIN)  # before the week: not counted
    _job(store, "deploy", "web", "staging", "succeeded", START + DAY + 10 * HOUR, 5 * MIN)  # lead time 5 min
    asked = START + 2 * DAY + 9 * HOUR  # production: asked, approved 30 min later, done 10 min after that
    approval = _approval(store, "web", "production", asked, asked + HOUR)
    store.cast_vote(approval, Vote("console:devops1", None, True), asked + 30 * MIN)
    assert store.transition_approval(approval, "pending", "approved")
    assert store.transition_approval(approval, "approved", "dispatched")
    _job(store, "deploy", "web", "production", "succeeded", asked + 30 * MIN, 10 * MIN,
         approvers=("console:devops1",))  # lead time from the request: 40 min
    _job(store, "deploy", "api", "staging", "failed", START + 3 * DAY, 10 * MIN)  # lead time 10 min
    # lead times 5, 40, 10 min → median 10 min
    _job(store, "restart", "db", "staging", "failed", START + 4 * DAY, 2 * MIN)  # failed jobs: deploy 1, restart 1

    # Approvals: 3; waits 30 min (approved) and 2 h (refused) → median 1 h 15 min; 1 refused, 1 expired.
    denied = _approval(store, "api", "production", START + 5 * DAY + 10 * HOUR, START + 5 * DAY + 14 * HOUR)
    store.cast_vote(denied, Vote("console:devops1", None, False), START + 5 * DAY + 12 * HOUR)
    assert store.transition_approval(denied, "pending", "denied")
    expired = _approval(store, "api", "production", START + 6 * DAY, START + 6 * DAY + HOUR)
    assert store.transition_approval(expired, "pending", "expired")

    # Incidents: 2, acknowledged after 10 and 30 min (MTTA 20 min), resolved after 1 h and 3 h (MTTR 2 h).
    first_at = START + DAY + 12 * HOUR
    first = store.create_incident(IncidentDraft("web slow", "SEV3", "console:ops1", PLACE, "en"), first_at)
    store.transition_incident(first, "acknowledged", IncidentEvent(first_at + 10 * MIN, "console:ops1", "acknowledged"))
    store.transition_incident(first, "resolved", IncidentEvent(first_at + HOUR, "console:ops1", "resolved"))
    second_at = START + 3 * DAY + 6 * HOUR  # significant: early warning sent late (30 h), notification in time (48 h)
    second = store.create_incident(IncidentDraft("db down", "SEV1", "console:ops1", PLACE, "en"), second_at)
    store.transition_incident(second, "acknowledged",
                              IncidentEvent(second_at + 30 * MIN, "console:ops1", "acknowledged"))
    store.flag_incident_significant(second, IncidentEvent(second_at + 40 * MIN, "console:ops1", "significant"))
    store.transition_incident(second, "resolved", IncidentEvent(second_at + 3 * HOUR, "console:ops1", "resolved"))
    store.add_incident_event(second, IncidentEvent(second_at + 30 * HOUR, "console:ops1", "notified", "",
                                                   "early_warning"))
    store.add_incident_event(second, IncidentEvent(second_at + 48 * HOUR, "console:ops1", "notified", "",
                                                   "notification"))
    # NIS2 deadlines met: 1 of 2

    # Alerts: HighCPU fired twice (2 h and 1 h), DiskFull once and still firing at the end (2 days).
    _alert(store, "g1", "HighCPU", "web", START + DAY, START + DAY + 2 * HOUR)
    _alert(store, "g2", "HighCPU", "web", START + 2 * DAY, START + 2 * DAY + HOUR)
    _alert(store, "g3", "DiskFull", "db", START + 5 * DAY, None)
    _alert(store, "g0", "Old", "web", START - HOUR, START - MIN)  # before the week: not counted
