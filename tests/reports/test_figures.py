"""The report's figures over a scripted week: the in-memory facts and the SQL facts (SQLite and
PostgreSQL) are the same, and the pure figures match what the week's script works out by hand."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.memory import MemoryStore
from bot.memory.reports import MemoryReportFacts
from bot.reports import (
    AlertFact,
    ApprovalFact,
    JobFact,
    Window,
    alert_figures,
    approval_figures,
    deploy_figures,
    figures,
)
from dihya.store.engine import upgrade
from dihya.store.reports_sql import ReportFactsSql
from dihya.store.sql import SqlStore
from tests.reports.week import DAY, END, HOUR, MIN, START, script_week

WEEK = Window(START, END)


def test_sql_and_memory_read_the_same_facts(engine: Engine) -> None:
    upgrade(engine)
    sql, memory = SqlStore(engine), MemoryStore()
    script_week(sql)
    script_week(memory)
    sql_facts, memory_facts = ReportFactsSql(engine), MemoryReportFacts(memory.tables)
    for read in ("job_facts", "approval_facts", "alert_facts", "incident_facts"):
        assert getattr(sql_facts, read)(START, END) == getattr(memory_facts, read)(START, END), read
    assert figures(sql_facts, WEEK) == figures(memory_facts, WEEK)


def test_the_weeks_figures_match_the_script() -> None:
    store = MemoryStore()
    script_week(store)
    f = figures(MemoryReportFacts(store.tables), WEEK)
    assert (f.deploys.count, f.deploys.succeeded, f.deploys.failed) == (3, 2, 1)
    assert f.deploys.success_rate is not None and round(f.deploys.success_rate, 3) == 0.667
    assert f.deploys.lead_time_us == 10 * MIN
    assert f.deploys.top_services == (("web", 2), ("api", 1))
    assert (f.approvals.count, f.approvals.median_wait_us, f.approvals.refused, f.approvals.expired) == \
        (3, 75 * MIN, 1, 1)
    i = f.incidents
    assert (i.opened, i.still_open, i.mtta_us, i.mttr_us) == (2, 0, 20 * MIN, 2 * HOUR)
    assert (i.significant, i.deadlines_met, i.deadlines_due) == (1, 1, 2)
    assert f.alerts.fired == 3
    assert f.alerts.top_firing == (("DiskFull", 2 * DAY), ("HighCPU", 3 * HOUR))
    assert f.alerts.noisiest == (("HighCPU", 2), ("DiskFull", 1))
    assert (f.jobs_failed, f.failed_kinds) == (2, (("deploy", 1), ("restart", 1)))
    assert len(f.days) == 7 and [d.deploys_ok for d in f.days] == [0, 1, 1, 0, 0, 0, 0]
    assert [d.deploys_failed for d in f.days] == [0, 0, 0, 1, 0, 0, 0]
    assert [d.alerts for d in f.days] == [0, 1, 1, 0, 0, 1, 0]


def test_lead_time_starts_at_the_approval_the_deploy_waited_for() -> None:
    job = JobFact(7, "deploy", "web", "production", "console:dev1", "succeeded", True, 100 * MIN, 110 * MIN)
    other_person = ApprovalFact(1, "deploy", "web", "production", "console:dev2", "dispatched", 10 * MIN, 95 * MIN)
    other_env = ApprovalFact(2, "deploy", "web", "staging", "console:dev1", "dispatched", 20 * MIN, 95 * MIN)
    denied = ApprovalFact(3, "deploy", "web", "production", "console:dev1", "denied", 30 * MIN, 35 * MIN)
    asked = ApprovalFact(4, "deploy", "web", "production", "console:dev1", "dispatched", 60 * MIN, 100 * MIN)
    found = deploy_figures([job], [other_person, other_env, denied, asked])
    assert found.lead_time_us == 50 * MIN
    assert deploy_figures([job], [other_person, other_env, denied]).lead_time_us == 10 * MIN


def test_an_empty_week_has_no_rates_or_durations() -> None:
    assert deploy_figures([], []).success_rate is None and deploy_figures([], []).lead_time_us is None
    assert approval_figures([]).median_wait_us is None
    pending = ApprovalFact(1, "deploy", "web", "production", "console:dev1", "pending", 0, None)
    assert approval_figures([pending]).count == 1 and approval_figures([pending]).median_wait_us is None
    assert alert_figures([AlertFact("A", "web", 10, None)], 30).top_firing == (("A", 20),)
