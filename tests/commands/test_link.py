"""Issue 4 (shared): ``link`` connects identities of one person across platforms; roles follow."""

from __future__ import annotations

import re

from bot.events import Place, Reaction, Sender
from commands.link import code_hash
from dihya.app import App
from tests.helpers.compliance import say_direct
from tests.helpers.transcript import Transcript

CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}")


async def issue_code(chat: Transcript, user: str) -> str:
    found = CODE.search(await say_direct(chat, user, "link"))
    assert found
    return found[0]


async def test_link_gives_the_other_identity_the_persons_roles_and_is_audited(app: App, chat: Transcript) -> None:
    slack = Transcript(app, platform="slack")
    code = await issue_code(chat, "admin1")
    assert "guest" in await say_direct(slack, "U42", "whoami")
    assert "Linked" in await say_direct(slack, "U42", f"link {code}")
    assert "admin" in await say_direct(slack, "U42", "whoami")
    admin, linked = app.store.identity("console:admin1"), app.store.identity("slack:U42")
    assert admin and linked and admin.person_id == linked.person_id
    app.bot.flush_audit()
    rows = [r for r in app.store.audit_records() if r.draft.action == "command:link"]
    assert [r.draft.outcome for r in rows] == ["code_issued", "ok"]
    assert rows[-1].draft.actor == linked.pseudonym and rows[-1].draft.target == admin.pseudonym
    assert code.replace("-", "") not in str([r.draft for r in rows])  # the code is private


async def test_a_code_works_once_only_from_another_identity_and_only_in_time(app: App, chat: Transcript) -> None:
    slack = Transcript(app, platform="slack")
    assert "direct message" in await chat.say("admin1", "link")  # a code seen in a channel is unsafe
    code = await issue_code(chat, "admin1")
    assert "other platform" in await say_direct(chat, "admin1", f"link {code}")
    code = await issue_code(chat, "admin1")
    assert "Linked" in await say_direct(slack, "U7", f"link {code.lower()}")
    assert "unknown, used or expired" in await say_direct(slack, "U8", f"link {code}")
    app.store.link_code_put(code_hash("ABCDEFGH"), "console:admin1", expires_us=1)
    assert "unknown, used or expired" in await say_direct(slack, "U9", "link ABCD-EFGH")
    assert app.store.identity("slack:U9") is None


async def test_linking_merges_roles_of_both_identities(app: App, chat: Transcript) -> None:
    slack = Transcript(app, platform="slack")
    app.store.grant_role("console:dev5", "developer")
    app.store.grant_role("slack:U5", "auditor")
    code = await issue_code(chat, "dev5")
    await say_direct(slack, "U5", f"link {code}")
    for key in ("console:dev5", "slack:U5"):
        record = app.store.identity(key)
        assert record is not None and record.roles == {"developer", "auditor"}
    code = await issue_code(chat, "dev5")
    assert "already linked" in await say_direct(slack, "U5", f"link {code}")


async def test_a_linked_identity_cannot_approve_its_own_persons_request(app: App, chat: Transcript) -> None:
    slack = Transcript(app, platform="slack")
    app.store.grant_role("console:admin2", "admin")
    code = await issue_code(chat, "admin1")
    await say_direct(slack, "U1", f"link {code}")
    assert "Approval needed" in await chat.say("admin1", "role grant user5 admin")
    request = chat.last.id
    vote = Reaction("r-linked", Sender("slack", "U1"), Place("console", chat.channel), request, "✅")
    before = len(chat.posted)
    await app.runtime.dispatch(vote)
    assert "cannot approve your own request" in chat.posted[before].text
    app.bot.flush_audit()
    refused = [r for r in app.store.audit_records() if r.draft.action == "approval:vote"]
    assert [r.draft.outcome for r in refused] == ["refused"]
    assert app.store.identity("console:user5") is None
