"""The operations report's figures (issue 17): pure functions over facts read through ``ReportFacts``.

A report covers a window ``[since, until)``: what was asked in it (deploy jobs, approvals, incidents
created in it) and what fired in it (alerts whose firing started in it). Durations are medians for
deploys and approvals (a few slow ones should not hide the usual wait) and means for MTTA/MTTR (as
``incident stats`` shows them).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.clock import US_PER_S
from bot.incidents import Deadline, IncidentRecord, IncidentStats, stats

DAY_US = 86_400 * US_PER_S
TOP = 3  # services, alerts and kinds listed per heading
FAILED_STATES = frozenset({"failed", "timed_out", "lost"})
ENDED_STATES = frozenset({"succeeded", *FAILED_STATES})  # a deploy that ran to an end (not refused or cancelled)
DECIDED_STATES = frozenset({"approved", "dispatched", "denied"})


@dataclass(frozen=True, slots=True)
class Window:
    since_us: int
    until_us: int

    @classmethod
    def ending(cls, until_us: int, days: int) -> Window:
        return cls(until_us - days * DAY_US, until_us)

    def holds(self, us: int) -> bool:
        return self.since_us <= us < self.until_us

    @property
    def days(self) -> int:
        return max(1, -(-(self.until_us - self.since_us) // DAY_US))


@dataclass(frozen=True, slots=True)
class JobFact:
    id: int
    kind: str
    service: str
    env: str
    requester: str
    state: str
    approved: bool  # it ran after an approval
    created_us: int
    finished_us: int | None


@dataclass(frozen=True, slots=True)
class ApprovalFact:
    id: int
    command: str
    service: str
    env: str
    requester: str
    state: str  # pending | approved | dispatched | denied | expired
    created_us: int
    decided_us: int | None  # the vote that decided it (approved, dispatched, denied)


@dataclass(frozen=True, slots=True)
class AlertFact:
    name: str  # alertname
    service: str  # the service, job or instance label
    starts_us: int
    ends_us: int | None


@dataclass(frozen=True, slots=True)
class IncidentFact:
    record: IncidentRecord
    deadlines: tuple[Deadline, ...]  # NIS2 notices of a significant incident, else ()


class ReportFacts(Protocol):
    """What a report reads, each created (or, for alerts, started firing) in ``[since_us, until_us)``."""

    def job_facts(self, since_us: int, until_us: int) -> list[JobFact]: ...
    def approval_facts(self, since_us: int, until_us: int) -> list[ApprovalFact]: ...
    def alert_facts(self, since_us: int, until_us: int) -> list[AlertFact]: ...
    def incident_facts(self, since_us: int, until_us: int) -> list[IncidentFact]: ...


@dataclass(frozen=True, slots=True)
class DeployFigures:
    count: int
    succeeded: int
    failed: int
    success_rate: float | None  # of the deploys that ran to an end
    lead_time_us: int | None  # median, from the request (the approval asked, else the job) to the end
    top_services: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class ApprovalFigures:
    count: int
    median_wait_us: int | None  # from the request to the deciding vote
    refused: int
    expired: int


@dataclass(frozen=True, slots=True)
class IncidentFigures:
    opened: int
    still_open: int
    mtta_us: int | None
    mttr_us: int | None
    significant: int
    deadlines_met: int
    deadlines_due: int  # NIS2 notices sent or already due by the window's end


@dataclass(frozen=True, slots=True)
class AlertFigures:
    fired: int
    top_firing: tuple[tuple[str, int], ...]  # alert name → microseconds firing within the window
    noisiest: tuple[tuple[str, int], ...]  # alert name → times it started firing


@dataclass(frozen=True, slots=True)
class Day:
    start_us: int
    deploys_ok: int
    deploys_failed: int
    alerts: int


@dataclass(frozen=True, slots=True)
class OpsFigures:
    window: Window
    deploys: DeployFigures
    approvals: ApprovalFigures
    incidents: IncidentFigures
    alerts: AlertFigures
    jobs_failed: int
    failed_kinds: tuple[tuple[str, int], ...]
    days: tuple[Day, ...]


def figures(facts: ReportFacts, window: Window) -> OpsFigures:
    jobs = facts.job_facts(window.since_us, window.until_us)
    approvals = facts.approval_facts(window.since_us, window.until_us)
    alerts = facts.alert_facts(window.since_us, window.until_us)
    deploys = [j for j in jobs if j.kind == "deploy"]
    failed = [j for j in jobs if j.state in FAILED_STATES]
    return OpsFigures(window, deploy_figures(deploys, approvals), approval_figures(approvals),
                      incident_figures(facts.incident_facts(window.since_us, window.until_us), window.until_us),
                      alert_figures(alerts, window.until_us), len(failed), _top(j.kind for j in failed),
                      daily(window, deploys, alerts))


def deploy_figures(deploys: Sequence[JobFact], approvals: Sequence[ApprovalFact]) -> DeployFigures:
    ok = sum(1 for d in deploys if d.state == "succeeded")
    bad = sum(1 for d in deploys if d.state in FAILED_STATES)
    leads = [d.finished_us - requested_at(d, approvals) for d in deploys
             if d.state in ENDED_STATES and d.finished_us is not None]
    return DeployFigures(len(deploys), ok, bad, ok / (ok + bad) if ok + bad else None, _median(leads),
                         _top(d.service for d in deploys))


def requested_at(job: JobFact, approvals: Sequence[ApprovalFact]) -> int:
    """When the deploy was asked for: the approval it waited for (same requester, service and
    environment, dispatched, asked before the job), else the job's creation."""
    if not job.approved:
        return job.created_us
    asked = [a.created_us for a in approvals if a.command == job.kind and a.state == "dispatched"
             and a.requester == job.requester and a.service == job.service and a.env == job.env
             and a.created_us <= job.created_us]
    return max(asked, default=job.created_us)


def approval_figures(approvals: Sequence[ApprovalFact]) -> ApprovalFigures:
    waits = [a.decided_us - a.created_us for a in approvals
             if a.state in DECIDED_STATES and a.decided_us is not None]
    return ApprovalFigures(len(approvals), _median(waits), sum(1 for a in approvals if a.state == "denied"),
                           sum(1 for a in approvals if a.state == "expired"))


def incident_figures(incidents: Sequence[IncidentFact], until_us: int) -> IncidentFigures:
    summary: IncidentStats = stats([i.record for i in incidents])
    deadlines = [d for i in incidents for d in i.deadlines if d.sent_us is not None or d.due_us <= until_us]
    return IncidentFigures(summary.count, summary.still_open, summary.mtta_us, summary.mttr_us,
                           sum(1 for i in incidents if i.record.significant), sum(1 for d in deadlines if d.met()),
                           len(deadlines))


def alert_figures(alerts: Sequence[AlertFact], until_us: int) -> AlertFigures:
    firing: Counter[str] = Counter()
    for a in alerts:
        firing[a.name] += min(a.ends_us if a.ends_us is not None else until_us, until_us) - a.starts_us
    top = tuple(sorted(firing.items(), key=lambda item: (-item[1], item[0]))[:TOP])
    return AlertFigures(len(alerts), top, _top(a.name for a in alerts))


def daily(window: Window, deploys: Sequence[JobFact], alerts: Sequence[AlertFact]) -> tuple[Day, ...]:
    def day_of(us: int) -> int:
        return (us - window.since_us) // DAY_US

    days = []
    for n in range(window.days):
        mine = [d for d in deploys if day_of(d.created_us) == n]
        days.append(Day(window.since_us + n * DAY_US, sum(1 for d in mine if d.state == "succeeded"),
                        sum(1 for d in mine if d.state in FAILED_STATES),
                        sum(1 for a in alerts if day_of(a.starts_us) == n)))
    return tuple(days)


def _top(values: Iterable[str]) -> tuple[tuple[str, int], ...]:
    counts = Counter(values)
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP])


def _median(values: Sequence[int]) -> int | None:
    return int(statistics.median(values)) if values else None


# -- facts from stored rows (arguments and labels as the stores keep them: JSON) ---------------------
def job_fact(job_id: int, kind: str, args: str, requester: str, approvers: str, state: str, created_us: int,
             finished_us: int | None) -> JobFact:
    values = json.loads(args)
    return JobFact(job_id, kind, str(values.get("service", "-")), str(values.get("env", "-")), requester, state,
                   bool(json.loads(approvers)), created_us, finished_us)


def approval_fact(request_id: int, command: str, args: str, requester: str, state: str, created_us: int,
                  last_vote: int | None) -> ApprovalFact:
    values = json.loads(args)
    return ApprovalFact(request_id, command, str(values.get("service", "-")), str(values.get("env", "-")),
                        requester, state, created_us,
                        last_vote if state in ("approved", "dispatched", "denied") else None)


def alert_fact(labels: dict[str, str], starts_us: int, ends_us: int | None) -> AlertFact:
    service = labels.get("service") or labels.get("job") or labels.get("instance") or "-"
    return AlertFact(labels.get("alertname", "-"), service, starts_us, ends_us)
