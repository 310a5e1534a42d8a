"""``ReportFacts`` in memory (issue 17): what the operations report reads, from the shared tables."""

from __future__ import annotations

from bot.incidents import nis2_deadlines
from bot.memory.incidents import MemoryIncidents
from bot.memory.tables import Memory
from bot.reports import AlertFact, ApprovalFact, IncidentFact, JobFact, alert_fact, approval_fact, job_fact


class MemoryReportFacts(Memory):
    __slots__ = ()

    def job_facts(self, since_us: int, until_us: int) -> list[JobFact]:
        return [job_fact(i, r.kind, r.args, r.requester, r.approvers, r.state, r.created_us, r.finished_us)
                for i, r in sorted(self.tables.jobs.items()) if since_us <= r.created_us < until_us]

    def approval_facts(self, since_us: int, until_us: int) -> list[ApprovalFact]:
        facts = []
        for i, r in sorted(self.tables.approvals.items()):
            if since_us <= r.created_us < until_us:
                votes = [v.created_us for v in self.tables.votes.get(i, {}).values()]
                facts.append(approval_fact(i, r.command, r.args, r.requester, r.state, r.created_us,
                                           max(votes, default=None)))
        return facts

    def alert_facts(self, since_us: int, until_us: int) -> list[AlertFact]:
        return [alert_fact(r.labels, r.starts_us, r.ends_us)
                for _, r in sorted(self.tables.alerts.items()) if since_us <= r.starts_us < until_us]

    def incident_facts(self, since_us: int, until_us: int) -> list[IncidentFact]:
        incidents = MemoryIncidents(self.tables)
        found = sorted((i for i in incidents.incidents(since_us=since_us, limit=len(self.tables.incidents))
                        if i.created_us < until_us), key=lambda i: i.id)
        return [IncidentFact(i, nis2_deadlines(i, incidents.incident_events(i.id)) if i.significant else ())
                for i in found]
