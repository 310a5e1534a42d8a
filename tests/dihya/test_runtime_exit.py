"""The runtime's one exit (issue 12): whatever is published — a reply, a job's progress edit, an
alert, a retracted message's notice — is redacted there and its key remembered, whoever called."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.actions import Edit, Retract, Send
from dihya.app import App
from dihya.settings import Settings, load_settings
from tests.helpers.transcript import Transcript

SECRET = "m3tr1cs-Tok3n-Zq9fKx3LmW2pR8tY"  # a configured secret: the exit must never let it out


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, metrics_token=SECRET)


async def test_a_published_message_and_its_edit_leave_redacted_and_the_edit_finds_it_by_key(
        app: App, chat: Transcript) -> None:
    await app.runtime.publish("console", [Send("main", f"deploy web: token {SECRET}", key="job:99")])
    await app.runtime.publish("console", [Edit("main", "job:99", f"deploy web: done {SECRET}")])  # as the watcher does
    posted = chat.posted[-1]
    assert posted.key == "job:99" and len(posted.edits) == 1
    assert SECRET not in posted.text and SECRET not in posted.current
    assert posted.text.startswith("deploy web: token ") and posted.current.startswith("deploy web: done ")
    assert app.store.message_id("job:99") == ("main", posted.id)


async def test_a_retracted_messages_notice_leaves_redacted(app: App, chat: Transcript) -> None:
    await app.runtime.publish("console", [Retract("main", "u7", f"removed {SECRET}", f"kept {SECRET}", "u7")])
    assert [r.message_id for r in chat.retracts] == ["u7"]
    notice = chat.posted[-1]
    assert notice.text.startswith("kept ") and SECRET not in notice.text and notice.thread == "u7"


async def test_nothing_leaves_for_a_platform_without_an_adapter(app: App, chat: Transcript) -> None:
    await app.runtime.publish("nowhere", [Send("main", "hello")])
    assert chat.posted == []
