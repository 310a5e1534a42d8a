"""The report schedule: a cron per channel, each period reported once — by one replica of two that
share the database and Redis, and not again after a restart (issue 17, acceptance 3)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from bot.i18n import Catalogs
from dihya.app import LOCALES_DIR, App, build_app
from dihya.reports.config import ReportChannel, reports_config
from dihya.reports.service import OpsReports
from dihya.settings import SettingsError, load_settings
from dihya.store.engine import upgrade
from dihya.store.reports_sql import ReportArchiveSql, ReportFactsSql
from dihya.store.sql import SqlStore
from tests.helpers.redis_db import clean_redis
from tests.helpers.transcript import Transcript
from tests.reports.week import END, script_week

REDIS_URL = "redis://127.0.0.1:6379/14"
MONDAY_8 = datetime(2026, 11, 30, 8, tzinfo=UTC).timestamp()  # END + 8 h: the default schedule fires
SCHEDULED = '''
[reports]
check_seconds = 0.1
[[reports.channels]]
channel = "console:main"
locale = "fr"
'''


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    with clean_redis(REDIS_URL) as r:
        yield r


def test_the_schedule_setting_is_checked_and_per_channel() -> None:
    config = reports_config({"reports": {"schedule": "30 6 * * *", "days": 1, "channels": [
        {"channel": "slack:C1", "locale": "ar"}, {"channel": "matrix:!r:x", "schedule": "0 8 * * 1", "days": 7}]}})
    assert config.channels == (ReportChannel("slack:C1", "ar", "30 6 * * *", 1),
                               ReportChannel("matrix:!r:x", "en", "0 8 * * 1", 7))
    assert reports_config({}).channels == ()
    for bad in ({"schedule": "every monday"}, {"schedule": "61 * * * *"}, {"days": 0},
                {"channels": [{"channel": "C1"}]}, {"channels": [{"channel": "slack:C1", "locale": "de"}]},
                {"channels": [{"channel": "slack:C1"}, {"channel": "slack:C1"}]}):
        with pytest.raises(SettingsError):
            reports_config({"reports": bad})


def test_the_last_fire_time_is_the_latest_scheduled_minute() -> None:
    weekly = ReportChannel("slack:C1", "en", "0 8 * * 1", 7)
    assert weekly.last_fire_us(MONDAY_8) == int(MONDAY_8) * 1_000_000  # exactly on time
    assert weekly.last_fire_us(MONDAY_8 + 59) == int(MONDAY_8) * 1_000_000
    assert weekly.last_fire_us(MONDAY_8 - 1) == int(MONDAY_8 - 7 * 86400) * 1_000_000


def _reports(engine: Engine, now: Callable[[], float]) -> OpsReports:
    config = reports_config({"reports": {"channels": [{"channel": "console:main", "locale": "fr"}]}})
    return OpsReports(config, ReportFactsSql(engine), ReportArchiveSql(engine), Catalogs.load(LOCALES_DIR), now)


def test_each_period_is_reported_once_by_whoever_claims_it_first(engine: Engine) -> None:
    upgrade(engine)
    script_week(SqlStore(engine))
    clock = [MONDAY_8 + 5]
    one, two = _reports(engine, lambda: clock[0]), _reports(engine, lambda: clock[0])
    assert [c.address for c, _ in one.due()] == ["console:main"] == [c.address for c, _ in two.due()]
    made = one.run_due()
    assert len(made) == 1 and two.run_due() == []  # the other replica finds the period claimed
    assert _reports(engine, lambda: clock[0]).run_due() == []  # and so does a restarted one
    report = made[0][1]
    assert (report.saved.since_us, report.saved.until_us) == (END - 7 * 86400 * 10**6 + 8 * 3600 * 10**6,
                                                              END + 8 * 3600 * 10**6)
    assert report.saved.locale == "fr" and "# Rapport d’exploitation : console:main" in report.files.markdown
    clock[0] = MONDAY_8 + 7 * 86400 + 1  # next week's run
    assert len(two.run_due()) == 1 and one.run_due() == []
    assert [r.trigger for r in one.archive.reports()] == ["schedule", "schedule"]


def test_a_run_missed_for_longer_than_the_catch_up_is_not_made_late(engine: Engine) -> None:
    upgrade(engine)
    assert _reports(engine, lambda: MONDAY_8 + 13 * 3600).due() == []  # 12 h by default
    assert len(_reports(engine, lambda: MONDAY_8 + 11 * 3600).due()) == 1


async def _until(check: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_a_scheduled_report_fires_once_with_two_replicas(client: redis.Redis, tmp_path: Path,
                                                               engine: Engine) -> None:
    (tmp_path / "dihya.toml").write_text(SCHEDULED)

    def replica(name: str) -> App:
        return build_app(load_settings(data_dir=tmp_path / name, jobs="celery", redis_url=REDIS_URL,
                                       leader_lease_seconds=1, config_file=tmp_path / "dihya.toml"),
                         engine=engine, clock=lambda: MONDAY_8 + 30)

    first, second = replica("first"), replica("second")
    chats = [Transcript(first), Transcript(second)]
    script_week(first.store)
    await first.start()
    await second.start()
    try:
        await _until(lambda: any(c.uploads for c in chats), "one replica posts the report")
        await asyncio.sleep(1.0)  # both replicas keep checking the schedule
        leader, follower = (first, second) if chats[0].uploads else (second, first)
        await leader.stop()  # the lease is given up: the other replica leads now
        await _until(lambda: "reports" in follower.leadership.duties(), "the other replica takes the duty over")
        await asyncio.sleep(1.0)
    finally:
        await first.stop()
        await second.stop()
    sends = [p.text for c in chats for p in c.posted]
    assert len(sends) == 1 and sends[0].startswith("Rapport d’exploitation n°1 (2026-11-23 08:00 UTC")
    assert sorted(u.filename for c in chats for u in c.uploads) == ["ops-report-1.md", "ops-report-1.png"]
    assert [r.trigger for r in ReportArchiveSql(engine).reports()] == ["schedule"]
