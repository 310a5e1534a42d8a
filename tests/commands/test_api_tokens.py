"""Issue 13: ``api token`` in chat — only in a direct message, shown only there, never audited or
logged; ``api tokens`` lists one's own; ``api token revoke`` ends one's own (admins: anyone's)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.i18n import LOCALES
from dihya.api.auth import Authenticator
from dihya.api.verdict import Authenticated, Reason, Rejected
from dihya.api.wiring import authenticator
from dihya.app import App
from dihya.logs import RedactingJsonFormatter, configure
from dihya.settings import Settings, load_settings
from dihya.vault import generate_key
from tests.helpers.compliance import cells_containing, say_direct
from tests.helpers.transcript import Transcript

JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, secret_key=generate_key(), log_file=tmp_path / "dihya.log",
                         api_token_ttl="2h")


@pytest.fixture
def log_file(app: App, settings: Settings) -> Iterator[Path]:
    """The app's redacting JSON log at DEBUG, as ``dihya`` configures it, for this test only."""
    assert settings.log_file is not None
    configure("DEBUG", app.redactor, settings.log_file)
    yield settings.log_file
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h.formatter, RedactingJsonFormatter)]:
        root.removeHandler(handler)
        handler.close()


@pytest.fixture
def auth(app: App, settings: Settings) -> Authenticator:
    return authenticator(settings, app.store, {})


async def get_token(chat: Transcript, user: str) -> str:
    reply = await say_direct(chat, user, "api token")
    found = JWT.findall(reply)
    assert len(found) == 1, reply
    return found[0]


def verdict_for(auth: Authenticator, token: str) -> Authenticated | Rejected:
    return auth.authenticate(f"Bearer {token}")


async def test_a_token_is_given_only_in_a_direct_message(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:dev1", "developer")
    reply = await chat.say("dev1", "api token")
    assert "direct message" in reply and not JWT.search(reply)
    assert app.store.api_tokens() == []
    assert "not allowed" in await say_direct(chat, "guest1", "api token")  # guests get none


async def test_the_token_names_its_owner_and_reaches_no_log_nor_table(app: App, chat: Transcript, auth: Authenticator,
                                                                      log_file: Path) -> None:
    app.store.grant_role("console:dev1", "developer")
    token = await get_token(chat, "dev1")
    [record] = app.store.api_tokens()
    assert verdict_for(auth, token) == Authenticated("console:dev1", "dihya", record.id)
    assert record.expires_us - record.created_us == 2 * 3600 * 1_000_000  # DIHYA_API_TOKEN_TTL
    app.bot.flush_audit()
    signature = token.rsplit(".", 1)[1]
    assert not cells_containing(app.engine, signature)  # neither the audit log nor the token records
    [row] = [r for r in app.store.audit_records() if r.draft.action == "command:api.token"]
    assert (row.draft.target, row.draft.outcome, row.draft.details["name"]) == (record.id, "issued", "chat")
    logging.getLogger("dihya.test").warning("a careless line: Authorization %s", token)  # even then
    text = log_file.read_text(encoding="utf-8")
    assert "a careless line" in text and signature not in text


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_token_survives_the_reply_redaction_in_every_language(app: App, chat: Transcript,
                                                                        auth: Authenticator, locale: str) -> None:
    app.store.grant_role("console:ops1", "ops")
    await say_direct(chat, "ops1", f"lang {locale}")
    assert isinstance(verdict_for(auth, await get_token(chat, "ops1")), Authenticated)


async def test_tokens_are_listed_and_revoked_by_their_owner(app: App, chat: Transcript, auth: Authenticator) -> None:
    app.store.grant_role("console:dev1", "developer")
    app.store.grant_role("console:dev2", "developer")
    mine, theirs = await get_token(chat, "dev1"), await get_token(chat, "dev2")
    [my_record] = app.store.api_tokens(["console:dev1"])
    [their_record] = app.store.api_tokens(["console:dev2"])
    listing = await chat.say("dev1", "api tokens")
    assert my_record.id in listing and their_record.id not in listing and "active" in listing
    assert mine not in listing
    assert "no API token with id" in await chat.say("dev1", f"api token revoke {their_record.id}")
    assert isinstance(verdict_for(auth, theirs), Authenticated)  # someone else's: untouched
    assert "revoked" in await chat.say("dev1", f"api token revoke {my_record.id}")
    assert verdict_for(auth, mine) == Rejected(Reason.REVOKED)  # from the next request on
    assert "already revoked" in await chat.say("dev1", f"api token revoke {my_record.id}")
    assert "revoked" in await chat.say("dev1", "api tokens")
    app.store.grant_role("console:dev3", "developer")
    assert "no API tokens" in await chat.say("dev3", "api tokens")


async def test_an_admin_revokes_anyones_token(app: App, chat: Transcript, auth: Authenticator) -> None:
    app.store.grant_role("console:dev2", "developer")
    theirs = await get_token(chat, "dev2")
    [record] = app.store.api_tokens()
    assert "revoked" in await chat.say("admin1", f"api token revoke {record.id}")
    assert verdict_for(auth, theirs) == Rejected(Reason.REVOKED)
    [row] = [r for r in app.store.audit_records() if r.draft.action == "command:api.token.revoke"]
    assert row.draft.target == record.id and row.draft.details["args"] == {"id": "[withheld]"}


async def test_a_pasted_token_is_not_echoed_nor_audited(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:dev1", "developer")
    token = await get_token(chat, "dev1")
    reply = await chat.say("dev1", f"api token revoke {token}")  # the token instead of its id
    assert token.rsplit(".", 1)[1] not in reply  # the refusal quotes a clipped start, never the signature
    app.bot.flush_audit()
    assert not cells_containing(app.engine, token[:60])  # an audited attempt would hold its clipped start


async def test_a_provider_identity_can_be_granted_roles_in_chat(app: App, chat: Transcript) -> None:
    await chat.say("admin1", "role grant oidc:ci-bot ops")
    found = app.store.identity("oidc:ci-bot")
    assert found is not None and found.roles == {"ops"}
