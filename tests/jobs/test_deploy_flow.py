"""Issue 3 end to end on the local queue: approval → job → live status edits → audit."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from tests.helpers.apps import plain, trail
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, content_dir=content_copy(tmp_path))


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine)
    built.watcher._interval = 0.2  # edit often enough to see each step in a short playbook
    await built.start()
    yield built
    await built.stop()


@pytest.mark.parametrize(("ask", "jobs_word"), [
    ("deploy web to production version v1.2.3", "jobs"),
    ("déployer web en prod version v1.2.3", "tâches"),
    ("انشر web إلى إنتاج إصدار v1.2.3", "المهام"),
])
async def test_production_deploy_needs_another_persons_approval_then_runs(
        app: App, chat: Transcript, settings: Settings, ask: str, jobs_word: str) -> None:
    app.store.grant_role("console:dev1", "developer")
    app.store.grant_role("console:devops1", "devops")
    assert "(#1)" in plain(await chat.say("dev1", ask))
    request = chat.last.id
    assert await chat.react("dev1", "✅", request)  # refused: own request
    assert await chat.react("guest1", "✅", request)  # refused: no approver role
    assert app.store.jobs() == []
    await chat.react("devops1", "✅", request)
    status = next(p for p in chat.posted if p.key == "job:1")
    job = await wait_job(app, 1)
    assert job.state == "succeeded", job.result
    assert (settings.data_dir / "deployed" / "web-production.txt").read_text() == "v1.2.3"
    assert any("█" in edit and "4" in edit for edit in status.edits), status.edits  # the progress bar, of 4 steps
    assert "✅" in status.current and "#1" in plain(status.current)
    assert "#1" in plain(await chat.say("devops1", jobs_word))
    rows = trail(app)
    for row in [("command:deploy", "approval_requested"), ("approval:vote", "refused"), ("approval:vote", "approve"),
                ("command:deploy", "ok"), ("job:running", "running"), ("job:succeeded", "succeeded")]:
        assert row in rows, row
    assert job.draft.approvers == ("console:devops1",)


async def test_staging_deploy_runs_without_approval(app: App, chat: Transcript, settings: Settings) -> None:
    app.store.grant_role("console:dev1", "developer")
    await chat.say("dev1", "deploy web to staging version v2.0.0")
    assert (await wait_job(app, 1)).state == "succeeded"
    assert (settings.data_dir / "deployed" / "web-staging.txt").read_text() == "v2.0.0"


async def test_changed_playbook_is_refused_audited_and_nothing_runs(app: App, chat: Transcript,
                                                                   settings: Settings) -> None:
    playbook = settings.content_dir / "playbooks" / "deploy_web.yml"
    playbook.write_text(playbook.read_text() + "\n# changed after the manifest was made\n")
    app.store.grant_role("console:dev1", "developer")
    await chat.say("dev1", "deploy web to staging version v9")
    job = await wait_job(app, 1)
    assert job.state == "refused"  # a refusal, not a failure: nothing ran
    status = next(p for p in chat.posted if p.key == "job:1")
    assert "refused" in status.current and "failed" not in status.current
    assert "Integrity" in status.current or "manifest" in status.current
    assert not (settings.data_dir / "deployed").exists()
    assert ("job:refused", "refused") in trail(app)


async def test_cancel_stops_a_running_playbook(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:ops1", "ops")
    app.store.grant_role("console:devops1", "devops")
    await chat.say("ops1", "playbook run sleep-demo")
    await chat.react("devops1", "✅", chat.last.id)
    await wait_job(app, 1, state="running")
    assert "Cancelling job #1" in await chat.say("ops1", "cancel job 1")
    job = await wait_job(app, 1)
    assert job.state == "cancelled"
    status = next(p for p in chat.posted if p.key == "job:1")
    assert "cancelled" in status.current


async def test_unknown_service_lists_the_known_ones(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:dev1", "developer")
    reply = await chat.say("dev1", "deploy shop to staging")
    assert "Unknown service" in reply
    assert "web" in reply
    assert app.store.jobs() == []


@pytest.mark.parametrize("value", ["; rm -rf /", "--kubeconfig=/etc/x", "{{ lookup('env','HOME') }}", "-v"])
async def test_injection_in_arguments_is_rejected_before_any_job(app: App, chat: Transcript, value: str) -> None:
    app.store.grant_role("console:dev1", "developer")
    await chat.say("dev1", f"deploy web to staging version {value}")
    await chat.say("dev1", f"deploy {value} to staging")
    assert app.store.jobs() == []


async def test_queue_unavailable_answers_at_once_and_dispatches_nothing(tmp_path: Path, engine: Engine) -> None:
    settings = load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                             jobs="celery", redis_url="redis://127.0.0.1:1/0")
    app = build_app(settings, engine=engine)
    chat = Transcript(app)
    app.store.grant_role("console:dev1", "developer")
    reply = await chat.say("dev1", "deploy web to staging version v1")
    assert "queue is unavailable" in reply
    assert [j.state for j in app.store.jobs()] == ["failed"]
    app.close()


async def test_rollback_returns_to_the_version_before_the_current_one(app: App, chat: Transcript,
                                                                      settings: Settings) -> None:
    app.store.grant_role("console:dev1", "developer")
    assert "Nothing to roll back to" in await chat.say("dev1", "rollback web in staging")
    for n, version in enumerate(("v1", "v2"), start=1):
        await chat.say("dev1", f"deploy web to staging version {version}")
        assert (await wait_job(app, n)).state == "succeeded"
    await chat.say("dev1", "rollback web in staging")
    job = await wait_job(app, 3)
    assert job.state == "succeeded", job.result
    assert job.draft.args["version"] == "v1"
    assert (settings.data_dir / "deployed" / "web-staging.txt").read_text() == "v1"


async def test_restart_and_scale_need_approval_then_run(app: App, chat: Transcript, settings: Settings) -> None:
    app.store.grant_role("console:dev1", "developer")
    app.store.grant_role("console:ops1", "ops")
    app.store.grant_role("console:devops1", "devops")
    await chat.say("dev1", "deploy web to staging version v5")
    await wait_job(app, 1)
    assert "not allowed" in await chat.say("dev1", "restart web in staging")
    await chat.say("ops1", "restart web in staging")
    await chat.react("devops1", "✅", chat.last.id)
    assert (await wait_job(app, 2)).state == "succeeded"
    assert '"action": "restart"' in (settings.data_dir / "deployed" / "history-web.jsonl").read_text()
    await chat.say("ops1", "scale web in staging to 4")
    await chat.react("devops1", "👍", chat.last.id)
    assert (await wait_job(app, 3)).state == "succeeded"
    assert (settings.data_dir / "deployed" / "web-staging.replicas").read_text() == "4"
