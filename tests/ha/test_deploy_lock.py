"""One production change per service at a time (issue 16): a second request is told which job holds
the lock, in its own language, and nothing is queued; the store's check holds between replicas."""

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.events import Place
from bot.jobs import JobDraft, JobLocked
from bot.memory import MemoryStore
from bot.ports import Store
from dihya.app import App, build_app
from dihya.settings import load_settings
from tests.helpers.apps import plain
from tests.helpers.transcript import Transcript

PLACE = Place("console", "main")


def draft(kind: str = "deploy", service: str = "web", env: str = "production") -> JobDraft:
    args: dict[str, object] = {"service": service, "env": env, "version": "v1"}
    return JobDraft(kind, args, f"{kind} {service}", "console:dev9", PLACE, "en", 60)


@pytest.mark.parametrize(("ask", "said"), [
    ("deploy web to production version v2", "is already changing web in production"),
    ("déployer web en prod version v2", "modifie déjà web en production"),
    ("انشر web إلى إنتاج إصدار v2", "تعدّل web في production حاليًا"),
])
async def test_a_second_production_change_is_told_which_job_holds_the_lock(app: App, chat: Transcript,
                                                                           ask: str, said: str) -> None:
    app.store.grant_role("console:dev1", "developer")
    holder = app.store.create_job(draft(), 1)
    answer = plain(await chat.say("dev1", ask))
    assert f"#{holder}" in answer and said in answer, answer
    assert app.store.pending_approvals() == []  # not queued behind the lock, nor put to a vote
    assert [j.id for j in app.store.jobs()] == [holder]


async def test_rollback_restart_and_scale_share_the_lock(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:ops1", "devops")
    holder = app.store.create_job(draft("restart"), 1)
    for ask in ("rollback web in production", "scale web in production to 3"):
        assert f"Job #{holder}" in plain(await chat.say("ops1", ask))
    assert app.store.pending_approvals() == []


async def test_the_lock_is_checked_again_when_an_approved_job_is_recorded(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:dev1", "developer")
    app.store.grant_role("console:devops1", "devops")
    await chat.say("dev1", "deploy web to production version v2")
    request = chat.last.id
    holder = app.store.create_job(draft("rollback"), 1)  # another replica started one meanwhile
    await chat.react("devops1", "✅", request)
    assert any(f"Job #{holder}" in plain(p.current) for p in chat.posted), [p.current for p in chat.posted]
    assert [j.id for j in app.store.jobs()] == [holder]
    # Nothing ran, so the request is closed as refused, not left "dispatched" with no job.
    [asked] = [r for r in (app.store.approval(n) for n in range(1, 5)) if r is not None]
    assert asked.state == "refused"
    assert plain(chat.by_id(request).current).startswith("⛔ Not run"), chat.by_id(request).current


@pytest.fixture(params=["sql", "memory"])
def store(request: pytest.FixtureRequest, engine: Engine, tmp_path: Path) -> Store:
    if request.param == "memory":
        return MemoryStore()
    app = build_app(load_settings(data_dir=tmp_path), engine=engine)
    app.runtime.close()
    return app.store


def test_only_active_jobs_of_the_same_service_in_production_hold_it(store: Store) -> None:
    first = store.create_job(draft(), 1)
    with pytest.raises(JobLocked) as refused:
        store.create_job(draft("scale"), 2)
    assert refused.value.holder == first
    store.create_job(draft(service="api"), 3)  # another service
    store.create_job(draft(env="staging"), 4)  # not production
    store.create_job(JobDraft("playbook", {"name": "p", "target": "web"}, "p", "u", PLACE, "en", 9), 5)
    assert store.claim_job(first, 6)
    with pytest.raises(JobLocked):
        store.create_job(draft("rollback"), 7)  # running holds it too
    assert store.finish_job(first, "succeeded", {}, 8)
    assert store.create_job(draft("rollback"), 9) > first  # released when it ended


def test_replicas_racing_for_one_service_record_one_job(engine: Engine, tmp_path: Path) -> None:
    """Eight requests, each on its own database connection as on eight replicas, at the same instant;
    ten rounds, one service each, so an unguarded check-then-insert would be caught interleaving."""
    app = build_app(load_settings(data_dir=tmp_path), engine=engine)
    app.runtime.close()
    store = app.store
    for round_ in range(10):
        service = f"svc{round_}"
        start = threading.Barrier(8)
        created: list[int] = []
        refused: list[int] = []

        def ask(service: str = service, start: threading.Barrier = start,
                created: list[int] = created, refused: list[int] = refused) -> None:
            start.wait()
            try:
                created.append(store.create_job(draft(service=service), 1))
            except JobLocked as locked:
                refused.append(locked.holder)

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(created) == 1, (service, created)
        assert refused == [created[0]] * 7
    assert len(store.jobs(limit=100)) == 10
