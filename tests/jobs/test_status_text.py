"""Issue 12, item 7: a job's summary is rendered from its kind and arguments in the reader's
language, and a job whose runner has not reported its steps says it is starting."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.events import Place
from bot.i18n import Catalogs
from bot.incidents import IncidentDraft
from bot.jobs import JobDraft, JobRecord, status_lines
from dihya.app import LOCALES_DIR, App, build_app
from dihya.settings import Settings, load_settings
from tests.helpers.apps import plain
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job

CATALOGS = Catalogs.load(LOCALES_DIR)
ENGLISH_SUMMARY = "deploy web → staging (v2.0.0)"

# locale → (how a developer asks for the deploy, "jobs", "job 1", words the translated summary holds)
ASK = {
    "en": ("deploy web to staging version v2.0.0", "jobs", "job 1", ("deploy", "web", "→", "staging", "v2.0.0")),
    "fr": ("déployer web en staging version v2.0.0", "tâches", "tâche 1", ("déployer", "web", "staging", "v2.0.0")),
    "ar": ("انشر web إلى تجريبي إصدار v2.0.0", "المهام", "مهمة 1", ("نشر", "web", "إلى", "staging", "v2.0.0")),
    "tzm": ("ⵙⵙⵓⴼⵖ web ⵖⵔ ⴰⵙⵏⵉⵍ ⵜⴰⵍⵖⴰ v2.0.0", "ⵜⵉⵡⵓⵔⵉⵡⵉⵏ", "ⵜⴰⵡⵓⵔⵉ 1",
            ("ⵙⵙⵓⴼⵖ", "web", "ⵖⵔ", "staging", "v2.0.0")),
}
STARTING_WORD = {"en": "starting", "fr": "démarre", "ar": "تبدأ", "tzm": "ⵜⴱⴷⴷⵓ"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, content_dir=content_copy(tmp_path))


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine)
    built.watcher._interval = 0.05  # edit at every transition, so the first running state is shown too
    await built.start()
    yield built
    await built.stop()


def draft(kind: str, args: dict[str, object], summary: str, locale: str) -> JobDraft:
    return JobDraft(kind, args, summary, "console:dev1", Place("console", "main"), locale, 60)


@pytest.mark.parametrize("locale", sorted(ASK))
async def test_status_jobs_and_job_read_the_summary_in_the_readers_language(
        app: App, chat: Transcript, locale: str) -> None:
    ask, jobs_word, job_word, words = ASK[locale]
    app.store.grant_role("console:dev1", "developer")
    await chat.say("dev1", ask)
    job = await wait_job(app, 1)
    assert job.state == "succeeded", job.result
    status = next(p for p in chat.posted if p.key == "job:1")
    shown = [plain(text) for text in (status.text, *status.edits)]
    listed, one = plain(await chat.say("dev1", jobs_word)), plain(await chat.say("dev1", job_word))
    for text in (*shown, listed, one):
        assert all(word in text for word in words), (words, text)
        if locale != "en":
            assert ENGLISH_SUMMARY not in text and "deploy web" not in text, text
    if locale == "en":  # English reads exactly as before
        assert ENGLISH_SUMMARY in shown[-1] and ENGLISH_SUMMARY in listed and ENGLISH_SUMMARY in one
    app.bot.flush_audit()  # the audit log keeps one English target, whatever language asked
    assert ENGLISH_SUMMARY in [r.draft.target for r in app.store.audit_records() if r.draft.action == "job:succeeded"]


@pytest.mark.parametrize("locale", sorted(ASK))
async def test_no_status_message_reads_step_0_of_0(app: App, chat: Transcript, locale: str) -> None:
    app.store.grant_role("console:ops1", "ops")
    app.store.grant_role("console:devops1", "devops")
    await chat.say("ops1", f"lang {locale}")
    await chat.say("ops1", "playbook run sleep-demo")
    await chat.react("devops1", "✅", chat.last.id)
    await wait_job(app, 1, state="running")
    await chat.say("ops1", "cancel job 1")
    await wait_job(app, 1)
    status = next(p for p in chat.posted if p.key == "job:1")
    for text in (status.text, *status.edits):
        assert "0 of 0" not in plain(text) and " 0/0" not in plain(text), text
    # Ansible takes a second or more to report its first task; the watcher edits within 50 ms.
    assert any(STARTING_WORD[locale] in text for text in (status.text, *status.edits)), status.edits


@pytest.mark.parametrize("locale", sorted(ASK))
def test_a_running_job_with_no_steps_yet_says_it_is_starting(locale: str) -> None:
    job = JobRecord(1, draft("playbook", {"name": "sleep-demo", "target": "localhost"},
                             "playbook sleep-demo on localhost", locale), "running", started_us=0)
    text = CATALOGS.render_all(status_lines(job, 3_000_000), locale)
    assert STARTING_WORD[locale] in text, text
    assert "0 of 0" not in text and "░" not in text and "…" not in text, text
    assert "3s" in text and "sleep-demo" in text
    stepping = JobRecord(1, job.draft, "running", step=1, total=4, step_name="Gathering Facts", started_us=0)
    later = CATALOGS.render_all(status_lines(stepping, 3_000_000), locale)
    assert STARTING_WORD[locale] not in later and "Gathering Facts" in later and "█" in later, later


@pytest.mark.parametrize("locale", ["ar", "tzm"])
@pytest.mark.parametrize(("kind", "args", "english"), [
    ("deploy", {"service": "web", "env": "production", "version": "v1.2.3"}, "deploy web → production (v1.2.3)"),
    ("rollback", {"service": "web", "env": "staging"}, "rollback web in staging"),
    ("restart", {"service": "web", "env": "staging"}, "restart web in staging"),
    ("scale", {"service": "web", "env": "staging", "replicas": 3}, "scale web in staging to 3"),
    ("playbook", {"name": "restart-nginx", "target": "web-01"}, "playbook restart-nginx on web-01"),
])
def test_every_kind_of_job_reads_without_english_in_arabic_and_tamazight(
        locale: str, kind: str, args: dict[str, object], english: str) -> None:
    for state in ("queued", "running", "succeeded", "failed"):
        job = JobRecord(7, draft(kind, args, english, locale), state, step=1, total=2, step_name="x",
                        started_us=0, finished_us=1_000_000)
        text = plain(CATALOGS.render_all(status_lines(job, 1_000_000), locale))
        assert english not in text and english.split(maxsplit=1)[0] not in text, text
        assert all(str(value) in text for value in args.values()), text


async def test_a_row_its_arguments_cannot_fill_shows_its_stored_summary(app: App, chat: Transcript) -> None:
    """Rows written before summaries were rendered, or of a kind this version does not know."""
    old = app.store.create_job(draft("deploy", {"service": "web"}, "deploy web → staging (v0)", "ar"), 1)
    other = app.store.create_job(draft("migrate", {"db": "main"}, "migrate main", "ar"), 2)
    app.store.grant_role("console:dev1", "developer")
    assert "deploy web → staging (v0)" in plain(await chat.say("dev1", f"job {old}"))
    assert "migrate main" in plain(await chat.say("dev1", f"job {other}"))
    listed = plain(await chat.say("dev1", "jobs"))
    assert "deploy web → staging (v0)" in listed and "migrate main" in listed


async def test_the_incident_report_names_its_jobs_in_the_readers_language(app: App, chat: Transcript) -> None:
    thread = Place("console", "main", thread="t1")
    app.store.create_incident(IncidentDraft("web down", "sev2", "console:dev1", thread, "en"), 1)
    args = {"service": "web", "env": "staging", "version": "v2.0.0"}
    app.store.create_job(JobDraft("deploy", args, ENGLISH_SUMMARY, "console:dev1", thread, "en", 60), 2)
    app.store.grant_role("console:aud1", "auditor")
    await chat.say("aud1", "حادث تقرير 1")
    report = plain(chat.uploads[-1].content.decode())
    _, _, _, timeline, jobs, *_ = report.split("## ")  # title, Summary, Impact, Timeline, Jobs, …
    for section in (timeline, jobs):
        assert "#1" in section and "نشر web إلى staging (v2.0.0)" in section, section
        assert ENGLISH_SUMMARY not in section
