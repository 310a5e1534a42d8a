"""A request approved by a process that stopped before running it (issue 16, fault 3) is closed as
not run when the bot starts again: its row says so, its thread is told, and it never runs late."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Engine

from dihya.app import build_app
from dihya.settings import Settings
from tests.helpers.transcript import Transcript


async def test_an_approved_request_left_by_a_dead_process_is_closed_not_run(settings: Settings, engine: Engine,
                                                                            tmp_path: Path) -> None:
    first = build_app(settings, engine=engine)
    await first.start()
    chat = Transcript(first)
    first.store.grant_role("console:dev1", "developer")
    await chat.say("dev1", "deploy web to production version v7.0.0")
    assert chat.last.key == "approval:1"
    # the quorum was met and then the process died, before the request moved on to "dispatched"
    assert first.store.transition_approval(1, "pending", "approved")
    await first.stop()

    again = build_app(settings, engine=engine)
    await again.start()
    chat.app = again  # the same chat, now served by the restarted bot
    again.runtime.attach(chat)
    before = len(chat.posted)
    try:
        for _ in range(50):
            if len(chat.posted) > before:
                break
            await asyncio.sleep(0.1)
        [told] = chat.posted[before:]
        assert "Request #1 was approved, but the bot stopped before running it: nothing was run." in told.text
        request_message = next(p for p in chat.posted if p.key == "approval:1")
        assert request_message.current.startswith("⛔ Not run (#1)")  # the request itself says so
        request = again.store.approval(1)
        assert request is not None and request.state == "refused"
        assert again.store.jobs() == []
        rows = [(r.draft.action, r.draft.outcome, r.draft.ref) for r in again.store.audit_records()]
        assert ("command:deploy", "interrupted", "approval:1") in rows
    finally:
        await again.stop()
