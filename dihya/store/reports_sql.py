"""The operations report over SQL (issue 17): the facts it reads (``bot.reports.ReportFacts``) and
the archive of generated reports (``ops_reports``)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from bot.incidents import IncidentEvent, nis2_deadlines
from bot.reports import AlertFact, ApprovalFact, IncidentFact, JobFact, alert_fact, approval_fact, job_fact
from dihya.store.alerts_sql import _incident
from dihya.store.engine import readers
from dihya.store.models import ApprovalRequestRow, ApprovalVote, JobRow
from dihya.store.models_alerts import AlertRow, IncidentEventRow, IncidentRow
from dihya.store.models_reports import OpsReportRow


class ReportFactsSql:
    __slots__ = ("reader",)

    def __init__(self, engine: Engine) -> None:
        self.reader = readers(engine)

    def job_facts(self, since_us: int, until_us: int) -> list[JobFact]:
        query = (select(JobRow.id, JobRow.kind, JobRow.args, JobRow.requester, JobRow.approvers, JobRow.state,
                        JobRow.created_us, JobRow.finished_us)
                 .where(JobRow.created_us >= since_us, JobRow.created_us < until_us).order_by(JobRow.id))
        with self.reader.connect() as conn:
            rows = conn.execute(query).all()
        return [job_fact(r.id, r.kind, r.args, r.requester, r.approvers, r.state, r.created_us, r.finished_us)
                for r in rows]

    def approval_facts(self, since_us: int, until_us: int) -> list[ApprovalFact]:
        decided = (select(ApprovalVote.request_id, func.max(ApprovalVote.created_us).label("last_vote"))
                   .group_by(ApprovalVote.request_id).subquery())
        query = (select(ApprovalRequestRow.id, ApprovalRequestRow.command, ApprovalRequestRow.args,
                        ApprovalRequestRow.requester, ApprovalRequestRow.state, ApprovalRequestRow.created_us,
                        decided.c.last_vote)
                 .outerjoin(decided, decided.c.request_id == ApprovalRequestRow.id)
                 .where(ApprovalRequestRow.created_us >= since_us, ApprovalRequestRow.created_us < until_us)
                 .order_by(ApprovalRequestRow.id))
        with self.reader.connect() as conn:
            rows = conn.execute(query).all()
        return [approval_fact(r.id, r.command, r.args, r.requester, r.state, r.created_us, r.last_vote)
                for r in rows]

    def alert_facts(self, since_us: int, until_us: int) -> list[AlertFact]:
        query = (select(AlertRow.labels, AlertRow.starts_us, AlertRow.ends_us)
                 .where(AlertRow.starts_us >= since_us, AlertRow.starts_us < until_us).order_by(AlertRow.id))
        with self.reader.connect() as conn:
            return [alert_fact(json.loads(r.labels), r.starts_us, r.ends_us) for r in conn.execute(query)]

    def incident_facts(self, since_us: int, until_us: int) -> list[IncidentFact]:
        query = (select(IncidentRow).where(IncidentRow.created_us >= since_us, IncidentRow.created_us < until_us)
                 .order_by(IncidentRow.id))
        facts = []
        with self.reader.connect() as conn:
            for row in conn.execute(query).all():
                record = _incident(row)
                if not record.significant:
                    facts.append(IncidentFact(record, ()))
                    continue
                events = [IncidentEvent(e.ts_us, e.actor, e.kind, e.text, e.ref) for e in conn.execute(
                    select(IncidentEventRow).where(IncidentEventRow.incident_id == record.id)
                    .order_by(IncidentEventRow.ts_us, IncidentEventRow.id))]
                facts.append(IncidentFact(record, nis2_deadlines(record, events)))
        return facts


@dataclass(frozen=True, slots=True)
class SavedReport:
    id: int
    channel: str
    locale: str
    trigger: str
    since_us: int
    until_us: int
    created_us: int


@dataclass(frozen=True, slots=True)
class ReportFiles:
    markdown: str
    png: bytes


_LISTED = (OpsReportRow.id, OpsReportRow.channel, OpsReportRow.locale, OpsReportRow.trigger, OpsReportRow.since_us,
           OpsReportRow.until_us, OpsReportRow.created_us)


class ReportArchiveSql:
    __slots__ = ("engine", "reader")

    def __init__(self, engine: Engine) -> None:
        self.engine, self.reader = engine, readers(engine)

    def add(self, report: SavedReport, files: ReportFiles, period_key: str | None = None) -> int | None:
        """Keep a report; None when ``period_key`` was reported already (by this or another replica)."""
        values = {"channel": report.channel, "locale": report.locale, "trigger": report.trigger,
                  "period_key": period_key, "since_us": report.since_us, "until_us": report.until_us,
                  "created_us": report.created_us, "markdown": files.markdown, "png": files.png}
        try:
            with self.engine.begin() as conn:
                return int(conn.execute(insert(OpsReportRow).values(**values).returning(OpsReportRow.id)).scalar_one())
        except IntegrityError:
            return None

    def reported(self, period_key: str) -> bool:
        with self.reader.connect() as conn:
            return conn.scalar(select(OpsReportRow.id).where(OpsReportRow.period_key == period_key)) is not None

    def reports(self, limit: int = 50, before_id: int | None = None) -> list[SavedReport]:
        query = select(*_LISTED).order_by(OpsReportRow.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(OpsReportRow.id < before_id)
        with self.reader.connect() as conn:
            return [SavedReport(*r) for r in conn.execute(query)]

    def report(self, report_id: int) -> tuple[SavedReport, ReportFiles] | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(*_LISTED, OpsReportRow.markdown, OpsReportRow.png)
                               .where(OpsReportRow.id == report_id)).first()
        if row is None:
            return None
        return SavedReport(*row[:7]), ReportFiles(row.markdown, bytes(row.png))
