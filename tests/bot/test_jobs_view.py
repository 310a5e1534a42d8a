"""``bot.jobs``: a job's status message, rebuilt from its record; and jobs as the core starts them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.events import Place
from bot.jobs import TERMINAL, TRANSITIONS, JobDraft, JobRecord, status_lines
from bot.memory import MemoryStore
from bot.ports import Store
from tests.bot.core_chat import CATALOGS, CoreChat

T0 = 1_800_000_000_000_000
JOB = JobRecord(7, JobDraft("deploy", {}, "deploy web → staging (v2)", "console:a", Place("console", "main"), "en",
                            300), "queued", created_us=T0)


def text(job: JobRecord, now_us: int = T0, locale: str = "en") -> str:
    return CATALOGS.render_all(status_lines(job, now_us), locale)


def test_the_lifecycle_allows_only_forward_moves() -> None:
    assert TRANSITIONS["queued"] == {"running", "cancelled", "failed"}
    assert TRANSITIONS["running"] == TERMINAL
    assert JOB.key == "job:7" and not JOB.finished and replace(JOB, state="timed_out").finished


def test_queued_and_running_jobs_show_their_progress() -> None:
    assert text(JOB) == "⏳ Job #7 queued: deploy web → staging (v2)"
    running = replace(JOB, state="running", step=3, total=10, step_name="pull image", started_us=T0)
    shown = text(running, T0 + 75_000_000)
    assert "███░░░░░░░ step 3 of 10: pull image (1m15s)" in shown
    # Before the runner knows how many steps there are, the job says it is starting (issue 12, item 7).
    starting = text(replace(running, step=0, total=0, step_name=""), T0)
    assert starting == "🔄 Job #7 starting: deploy web → staging (v2) (0s)"


@pytest.mark.parametrize(("state", "start"), [("succeeded", "✅"), ("failed", "❌"), ("cancelled", "🛑"),
                                              ("timed_out", "⏱")])
def test_a_finished_job_says_how_it_ended_and_how_long_it_took(state: str, start: str) -> None:
    done = replace(JOB, state=state, started_us=T0, finished_us=T0 + 42_000_000)
    assert text(done).startswith(f"{start} Job #7") and "42s" in text(done)


def test_a_failure_shows_the_step_the_reason_and_a_neutralised_log_tail() -> None:
    excerpt = "\n".join(f"line {i}" for i in range(20)) + "\nbad \x1b[31m"
    failed = replace(JOB, state="failed", result={
        "failed_step": "health check", "excerpt": excerpt,
        "message": {"msgid": "No job #{id}.", "params": {"id": 3}}})
    shown = text(failed)
    assert "Failing step: health check" in shown and "No job #3." in shown
    assert "line 11" not in shown and "line 19" in shown and "<U+001B>" in shown


def test_deploying_records_a_job_submits_it_and_posts_its_status() -> None:
    chat = CoreChat()
    turn = chat.say("admin1", "deploy web to staging version v2")
    assert turn.text == "⏳ Job #1 queued: deploy web → staging (v2)" and turn.actions[0].key == "job:1"  # type: ignore[union-attr]
    assert chat.queue.submitted == [(1, "deploy")]
    job = chat.store.job(1)
    assert job is not None and job.draft.args == {"service": "web", "env": "staging", "version": "v2"}
    assert "Unknown service api" in chat.say("admin1", "deploy api to staging").text
    assert chat.queue.submitted == [(1, "deploy")]


def test_jobs_are_listed_shown_and_cancelled() -> None:
    store: Store = MemoryStore()
    chat = CoreChat(store)
    chat.store.grant_role("console:dev1", "developer")
    chat.say("dev1", "deploy web to staging")
    chat.say("admin1", "deploy web to staging version v3")
    assert "Jobs (1):" in chat.say("dev1", "jobs mine").text
    assert "#2 queued" in chat.say("dev1", "jobs").text
    assert "queued" in chat.say("dev1", "job 1").text
    assert "Only the requester or an operator" in chat.say("dev1", "cancel job 2").text
    assert "cancelled before it started" in chat.say("dev1", "cancel job 1").text
    assert "already ended (cancelled)" in chat.say("dev1", "cancel job 1").text
    store.claim_job(2, 0)
    assert "Cancelling job #2" in chat.say("admin1", "cancel job 2").text
    job = store.job(2)
    assert job is not None and job.cancel_requested and job.state == "running"
    assert "No job #9" in chat.say("dev1", "job 9").text
