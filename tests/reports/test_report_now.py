"""``report now 7d`` after a scripted week (frozen clock) posts a report whose figures match the store,
in French in a channel configured as French (issue 17, acceptance 3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import Engine

from bot.actions import Upload
from dihya.app import App, build_app
from dihya.settings import load_settings
from tests.helpers.transcript import Transcript
from tests.reports.week import END, START, script_week

FRENCH_MAIN = '''
[reports]
[[reports.channels]]
channel = "console:main"
locale = "fr"
'''


@asynccontextmanager
async def reporting_app(tmp_path: Path, engine: Engine, config: str = FRENCH_MAIN,
                        now: float = END / 1e6) -> AsyncIterator[tuple[App, Transcript]]:
    path = tmp_path / "dihya.toml"
    path.write_text(config)
    settings = load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                             identity_cache_seconds=0, config_file=path)
    app = build_app(settings, engine=engine, clock=lambda: now)
    await app.start()
    try:
        yield app, Transcript(app)
    finally:
        await app.stop()


def _files(chat: Transcript) -> dict[str, bytes]:
    return {u.filename: u.content for u in chat.uploads if isinstance(u, Upload) and isinstance(u.content, bytes)}


async def test_report_now_after_a_scripted_week_posts_the_stores_figures_in_french(tmp_path: Path,
                                                                                   engine: Engine) -> None:
    async with reporting_app(tmp_path, engine) as (app, chat):
        script_week(app.store)
        answer = await chat.say("admin1", "report now 7d")
        # the same figures, counted from the store's own ports
        jobs = [j for j in app.store.jobs(limit=100) if START <= j.created_us < END]
        deploys = [j for j in jobs if j.draft.kind == "deploy"]
        incidents = [i for i in app.store.incidents(since_us=START) if i.created_us < END]
        failed = [j for j in jobs if j.state == "failed"]
        audit = [r for r in app.store.audit_records() if r.draft.action == "command:report.now"]
    assert (len(deploys), len(incidents), len(failed)) == (3, 2, 2)
    assert answer == ("Rapport d’exploitation n°1 (2026-11-23 00:00 UTC → 2026-11-30 00:00 UTC) : 3 déploiements, "
                      "2 incidents, 3 alertes déclenchées, 2 tâches en échec.")
    files = _files(chat)
    assert sorted(files) == ["ops-report-1.md", "ops-report-1.png"]
    assert files["ops-report-1.png"].startswith(b"\x89PNG\r\n\x1a\n")
    text = files["ops-report-1.md"].decode()
    for line in (
        "# Rapport d’exploitation : console:main",
        "Période : 2026-11-23 00:00 UTC → 2026-11-30 00:00 UTC",
        "- Déploiements : 3 (2 réussis, 1 en échec)",
        "- Taux de réussite : 67%",
        "- Délai de la demande à la fin (médiane) : 10m 00s",
        "- Services les plus déployés : web (2), api (1)",
        "- Demandes : 3, attente médiane 1h 15m",
        "- Refusées : 1, expirées : 1",
        "- Ouverts : 2 (0 encore ouverts)",
        "- MTTA 20m 00s, MTTR 2h 00m",
        "- Échéances NIS2 respectées : 1 sur 2 (1 incidents significatifs)",
        "- Alertes déclenchées : 3",
        "- Les plus longtemps actives (durée) : DiskFull (2d 0h), HighCPU (3h 00m)",
        "- Les plus bruyantes (déclenchements) : HighCPU (2), DiskFull (1)",
        "- Tâches en échec : 2 (deploy (1), restart (1))",
    ):
        assert line in text.splitlines(), line
    assert len(audit) == 1 and audit[0].draft.outcome == "ok" and audit[0].draft.details["days"] == 7


async def test_report_now_needs_the_permission_and_a_valid_period(tmp_path: Path, engine: Engine) -> None:
    async with reporting_app(tmp_path, engine, config="") as (app, chat):
        app.store.grant_role("console:dev1", "developer")
        app.store.grant_role("console:ops1", "ops")
        assert "reports.run" in await chat.say("dev1", "report now")
        assert "duration" in await chat.say("ops1", "report now soon")
        assert chat.uploads == []
        answer = await chat.say("ops1", "report now 2d")  # no channel language configured: the asker's
        assert answer.startswith("Operations report #1 (2026-11-28 00:00 UTC → 2026-11-30 00:00 UTC): 0 deploys")
        assert app.reports is not None and [r.id for r in app.reports.archive.reports()] == [1]
        await chat.say("ops1", "lang ar")
        assert (await chat.say("ops1", "تقرير الآن 1d")).startswith("تقرير العمليات رقم \u20682\u2069 (")
