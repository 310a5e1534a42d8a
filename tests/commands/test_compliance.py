"""Issue 6: audit coverage, tamper evidence (chain + anchors), exports, GDPR export and erase."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update

from dihya.app import App, build_app
from dihya.audit_anchor import latest_anchor
from dihya.cli_text import CliText
from dihya.compliance import cli_tools
from dihya.settings import Settings, load_settings
from dihya.signing import check_sha256sum, generate_keypair, verify
from dihya.store.models import AuditEvent, AuditHead, Pseudonym
from tests.helpers.compliance import cells_containing, say_direct
from tests.helpers.transcript import Transcript

KEYS = generate_keypair()
APPROVALS_TOML = '[approvals."audit.export"]\nquorum = 1\napprovers = ["admin"]\n'


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, audit_anchor_file=tmp_path / "anchors" / "audit.jsonl",
                         audit_channel="console:audit-log", audit_anchor_seconds=0.05,
                         audit_signing_key=KEYS.private_pem.decode())


def commands_audited(app: App) -> list[tuple[str, str]]:
    app.bot.flush_audit()
    rows = app.store.audit_records()
    return [(r.draft.action, r.draft.outcome) for r in rows if r.draft.action.startswith("command:")]


SESSION = [
    ("admin1", "whoami"), ("admin1", "help"), ("admin1", "role grant dev1 developer"),
    ("admin1", "role grant aud1 auditor"), ("admin1", "servers add web-01 10.0.0.5 staging"),
    ("admin1", "servers add db-01 10.0.0.6 production"), ("admin1", "servers list"), ("dev1", "whoami"),
    ("dev1", "servers list"), ("dev1", "servers add x-01 10.0.0.9 test"), ("stranger", "servers list"),
    ("stranger", "whoami"), ("stranger", "deploy web to staging"), ("stranger", "blorp"),
    ("dev1", "lang fr"), ("dev1", "qui suis-je"), ("dev1", "lang auto"), ("aud1", "audit verify"),
    ("aud1", "servers list"), ("aud1", "role list"), ("admin1", "role list"), ("admin1", "servers show web-01"),
    ("admin1", "servers remove db-01"), ("dev1", "jobs"), ("admin1", "jobs mine"), ("stranger", "jobs"),
    ("stranger", "secrets"), ("admin1", "secrets"), ("admin1", "secret set api_key leaked-in-channel"),
    ("admin1", "link"), ("stranger", "link ZZZZ-ZZZZ"), ("aud1", "gdpr export"), ("stranger", "gdpr erase dev1"),
    ("admin1", "role revoke dev1 developer"), ("admin1", "role grant dev1 developer"), ("dev1", "ping"),
    ("admin1", "servers add"), ("admin1", "lang xx"), ("aud1", "audit export json"), ("dev1", "audit export"),
    ("admin1", "deploy nowhere to staging"), ("admin1", "help deploy"), ("dev1", "help"), ("aud1", "whoami"),
    ("admin1", "servers list"), ("admin1", "whoami"), ("stranger", "role grant stranger admin"),
    ("admin1", "role grant aud1 ops"), ("admin1", "role revoke aud1 ops"), ("admin1", "audit verify"),
]


async def wait_for_anchor(app: App, path: Path) -> None:
    for _ in range(200):
        head, anchor = app.store.audit_head(), latest_anchor(path)
        if head and anchor and anchor.hash == head.hash:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the background task never anchored the head")


async def test_fifty_commands_are_each_audited_and_tail_deletion_is_detected(
        app: App, chat: Transcript, settings: Settings) -> None:
    assert len(SESSION) == 50
    for user, text in SESSION:
        assert await chat.say(user, text), text
    audited = commands_audited(app)
    assert len(audited) == 50
    assert {"ok", "denied", "invalid", "approval_requested"} <= {outcome for _, outcome in audited}
    assert "Tail check passed" in await chat.say("aud1", "audit verify")
    assert settings.audit_anchor_file is not None
    await wait_for_anchor(app, settings.audit_anchor_file)
    assert any("Audit anchor" in p.text for p in chat.posted)  # the audit channel got the head too

    last = app.store.audit_head()
    assert last is not None
    with app.engine.begin() as conn:  # delete the last 3 rows
        conn.execute(delete(AuditEvent).where(AuditEvent.seq > last.last_seq - 3))
    assert "TAMPERED" in await chat.say("aud1", "audit verify")
    with app.engine.begin() as conn:  # ... and make the head agree: only the anchor can tell now
        # (the row of the verification above is gone too: it was written after the deleted ones)
        conn.execute(delete(AuditEvent).where(AuditEvent.seq > last.last_seq - 3))
        prev = conn.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc())).first()
        assert prev is not None
        conn.execute(update(AuditHead).values(count=prev.seq, last_seq=prev.seq, hash=prev.hash))
    reply = await chat.say("aud1", "audit verify")
    assert "TAMPERED at its end" in reply and "deleted" in reply
    if app.engine.dialect.name == "sqlite":  # the CLI reads DIHYA_DATABASE_URL: the same file here
        err = io.StringIO()
        assert cli_tools.audit_verify(settings, CliText(app.bot.services.catalogs, "fr", err=err)) == 1
        assert "Journal d’audit ALTÉRÉ à sa fin" in err.getvalue()  # in the operator's language


async def test_refused_and_invalid_commands_are_audited_without_private_values(app: App, chat: Transcript) -> None:
    await chat.say("stranger", "secret set api_key hunter2-canary")
    await chat.say("admin1", "secret set api_key")  # wrong arguments: the text is not kept either
    await chat.say("admin1", "secret set api_key hunter2-canary")
    app.bot.flush_audit()
    assert not cells_containing(app.engine, "hunter2-canary")
    rows = [r for r in app.store.audit_records() if r.draft.action == "command:secret.set"]
    assert [r.draft.outcome for r in rows] == ["denied", "invalid", "invalid"]


# -- exports ------------------------------------------------------------------------------------
PII = ("console:alice-77", "alice-77", "bob@example.org", "10.9.8.7", "192.168.44.21", "+33 6 12 34 56 78")


async def exported(app: App, chat: Transcript, fmt: str) -> tuple[bytes, str, bytes]:
    before = len(chat.uploads)
    await chat.say("admin1", f"audit export {fmt}")
    files = {u.filename.rsplit(".", 1)[-1]: u for u in chat.uploads[before:]}
    return files[fmt].content, files["sha256"].content.decode(), files["sig"].content


@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_exports_hold_no_personal_data_and_their_checks_verify(app: App, chat: Transcript, fmt: str) -> None:
    await chat.say("admin1", "role grant alice-77 developer")
    await chat.say("alice-77", "servers add web-02 10.9.8.7 staging")
    await chat.say("alice-77", "please call bob@example.org or +33 6 12 34 56 78 from 192.168.44.21")
    await chat.say("alice-77", "role grant alice-77 admin")
    content, sha_line, signature = await exported(app, chat, fmt)
    text = content.decode()
    assert "servers.add" in text and "[IP]" in text
    assert not [item for item in PII if item in text]
    name = chat.uploads[-3].filename
    assert check_sha256sum(content, sha_line, name)
    assert verify(content, signature, KEYS.public_pem)
    tampered = bytearray(content)
    tampered[len(tampered) // 2] ^= 0x01
    assert not check_sha256sum(bytes(tampered), sha_line, name)
    assert not verify(bytes(tampered), signature, KEYS.public_pem)
    app.bot.flush_audit()
    export_rows = [r for r in app.store.audit_records() if r.draft.action == "command:audit.export"]
    assert export_rows[-1].draft.details["sha256"] == sha_line.split()[0]  # exporting is audited


async def test_export_filters_by_action_and_since(app: App, chat: Transcript) -> None:
    await chat.say("admin1", "servers add web-03 10.0.0.3 staging")
    await chat.say("admin1", "whoami")
    await exported(app, chat, "json")
    rows = json.loads(chat.uploads[-3].content)
    assert rows
    before = len(chat.uploads)
    await chat.say("admin1", "audit export json since 1h action servers")
    rows = json.loads(chat.uploads[before].content)
    assert {r["action"] for r in rows} == {"command:servers.add"}
    assert "not a date" in await chat.say("admin1", "audit export json since yesterday")


async def test_export_needs_approval_when_configured(tmp_path: Path, settings: Settings, engine: Engine) -> None:
    config = tmp_path / "approvals.toml"
    config.write_text(APPROVALS_TOML, encoding="utf-8")
    app = build_app(settings.model_copy(update={"config_file": config}), engine=engine)
    await app.start()
    try:
        chat = Transcript(app)
        app.store.grant_role("console:aud1", "auditor")
        app.store.grant_role("console:admin2", "admin")
        assert "Approval needed" in await chat.say("aud1", "audit export csv")
        request = chat.last.id
        assert not chat.uploads
        assert "Audit export" in await chat.react("admin2", "✅", request)
        assert chat.uploads[0].filename.endswith(".csv")
    finally:
        await app.stop()


# -- GDPR -----------------------------------------------------------------------------------------
async def test_gdpr_export_gives_a_person_their_own_data_in_a_direct_message(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:zed-3", "developer")
    await chat.say("zed-3", "whoami")
    assert "direct message" in await chat.say("zed-3", "gdpr export")
    assert "only your own data" in await say_direct(chat, "zed-3", "gdpr export admin1")
    assert "everything I hold" in await say_direct(chat, "zed-3", "gdpr export")
    data = json.loads(chat.uploads[-1].content)
    assert data["identities"] == ["console:zed-3"] and data["roles"] == ["developer"]
    assert {r["action"] for r in data["audit"]} >= {"command:whoami", "command:gdpr.export"}
    assert "everything I hold" in await say_direct(chat, "admin1", "gdpr export zed-3")


async def test_gdpr_erase_after_two_admins_leaves_a_valid_chain_and_no_link(app: App, chat: Transcript) -> None:
    who = "zoe-q7"
    for admin in ("admin2", "admin3"):
        app.store.grant_role(f"console:{admin}", "admin")
    app.store.grant_role(f"console:{who}", "developer")
    for text in ("whoami", "lang fr", "servers list", "deploy web to production version v1", "role list",
                 "incident open sev2 Disk full on db-01", "incident ack", f"incident assign {who}",
                 "incident update looking into it"):
        await chat.say(who, text)
    await say_direct(chat, who, "link")
    pseudonym = app.store.find_pseudonym(f"console:{who}")
    assert pseudonym
    assert "Approval needed" in await chat.say("admin1", f"gdpr erase {who}")
    request = chat.last.id
    assert "cannot approve your own" in await chat.react("admin1", "✅", request)
    await chat.react("admin2", "✅", request)
    assert app.store.identity(f"console:{who}") is not None  # one approval is not enough
    assert "Erased" in await chat.react("admin3", "👍", request)

    assert app.store.identity(f"console:{who}") is None
    assert "intact" in await chat.say("admin1", "audit verify")
    assert not cells_containing(app.engine, who)  # no identity key, user id or name left anywhere
    with app.engine.connect() as conn:
        assert conn.scalar(select(Pseudonym.subject).where(Pseudonym.pseudonym == pseudonym)) is None
    app.bot.flush_audit()
    assert any(r.draft.actor == pseudonym for r in app.store.audit_records())  # rows stay, unlinkable


# -- settings changes -------------------------------------------------------------------------------
async def test_settings_changes_are_audited_at_start(app: App, settings: Settings) -> None:
    first = [r for r in app.store.audit_records() if r.draft.action == "settings:change"]
    assert len(first) == 1
    changed = settings.model_copy(update={"rate_limit_burst": 7})
    again = build_app(changed, engine=app.engine)
    await again.start()
    await again.stop()
    rows = [r for r in app.store.audit_records() if r.draft.action == "settings:change"]
    assert rows[-1].draft.details["changed"] == ["rate_limit_burst"]
    assert rows[-1].draft.outcome == "changed"
