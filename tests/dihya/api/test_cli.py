"""Issue 13: ``dihya token create|list|revoke`` — the token alone on standard output, its id on
standard error; revocation refuses it from the next request; every action audited, never the token."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from dihya.api.verdict import Authenticated, Reason, Rejected
from dihya.api.wiring import authenticator, role_claim, token_issuer
from dihya.cli import main
from dihya.logs import RedactingJsonFormatter
from dihya.settings import SettingsError, load_settings
from dihya.store.engine import make_engine, upgrade
from dihya.store.sql import SqlStore
from dihya.vault import generate_key
from tests.helpers.compliance import cells_containing


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DIHYA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DIHYA_SECRET_KEY", generate_key())
    yield tmp_path
    root = logging.getLogger()  # main() adds its JSON log handler: take it away again
    for handler in [h for h in root.handlers if isinstance(h.formatter, RedactingJsonFormatter)]:
        root.removeHandler(handler)
        handler.close()


def store_of(data: Path) -> SqlStore:
    engine = make_engine(f"sqlite:///{data / 'dihya.sqlite3'}")
    upgrade(engine)
    return SqlStore(engine)


def test_create_prints_the_token_alone_and_revoke_ends_it(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "--identity", "console:admin1", "--ttl", "1h", "--name", "ci"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert out == f"{token}\n" and token.count(".") == 2
    store = store_of(env)
    [record] = store.api_tokens()
    assert record.id in err and token not in err and "dihya token revoke" in err
    assert (record.name, record.identity, record.expires_us - record.created_us) == ("ci", "console:admin1", 3600e6)
    auth = authenticator(load_settings(), store, {})
    assert auth.authenticate(f"Bearer {token}") == Authenticated("console:admin1", "dihya", record.id)

    assert main(["token", "list"]) == 0
    listing = capsys.readouterr().out
    assert record.id in listing and "console:admin1" in listing and "active" in listing and token not in listing

    assert main(["token", "revoke", record.id]) == 0
    assert "revoked" in capsys.readouterr().out
    assert auth.authenticate(f"Bearer {token}") == Rejected(Reason.REVOKED)
    assert main(["token", "revoke", record.id]) == 0
    assert "already revoked" in capsys.readouterr().out
    assert main(["token", "revoke", "0000000000000000"]) == 1
    assert "no API token" in capsys.readouterr().err

    actions = [(r.draft.action, r.draft.target) for r in store.audit_records()]
    assert actions == [("cli:token.create", record.id), ("cli:token.revoke", record.id)]
    assert not cells_containing(store.engine, token.rsplit(".", 1)[1])
    assert token.rsplit(".", 1)[1] not in (env / "dihya.log").read_text(encoding="utf-8")


@pytest.mark.parametrize(("argv", "problem"), [
    (["--identity", "admin1"], "is not an identity"),
    (["--identity", "console:a", "--ttl", "soon"], "duration"),
    (["--identity", "console:a", "--ttl", "91d"], "duration"),
    (["--identity", "console:a", "--name", "two words"], "name"),
])
def test_bad_input_is_explained_and_issues_nothing(env: Path, capsys: pytest.CaptureFixture[str],
                                                   argv: list[str], problem: str) -> None:
    assert main(["token", "create", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and problem in err
    assert store_of(env).api_tokens() == []


def test_the_list_says_when_there_is_nothing(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "list"]) == 0
    assert "No API tokens" in capsys.readouterr().out


def test_without_a_secret_key_a_generated_key_is_kept_in_the_store(tmp_path: Path) -> None:
    store = store_of(tmp_path)
    settings = load_settings(data_dir=tmp_path)
    token = token_issuer(settings, store).issue("console:ann", "ci").token
    assert isinstance(authenticator(settings, store, {}).verify(token), Authenticated)  # as after a restart
    other = load_settings(data_dir=tmp_path, secret_key=generate_key())  # a secret key configured later
    assert authenticator(other, store, {}).verify(token) == Rejected(Reason.UNKNOWN_KEY)


def test_the_provider_needs_an_audience_and_roles_need_known_roles(tmp_path: Path) -> None:
    store = store_of(tmp_path)
    with pytest.raises(SettingsError, match="DIHYA_API_OIDC_AUDIENCE"):
        authenticator(load_settings(data_dir=tmp_path, api_oidc_issuer="https://id.example"), store, {})
    claim = role_claim({"api": {"oidc": {"roles_claim": "groups", "roles": {"ops-team": "ops"}}}})
    assert claim.roles_in({"groups": ["ops-team", "x"]}) == {"ops"}
    assert claim.roles_in({"groups": "ops-team"}) == {"ops"}  # a space-separated string, as in "scope"
    assert role_claim({}).roles_in({"groups": ["ops-team"]}) == frozenset()
    for bad in ({"roles_claim": "groups", "roles": {"ops-team": "root"}}, {"roles": {"a": "ops"}},
                {"roles_claim": 3}):
        with pytest.raises(SettingsError, match=r"\[api\.oidc"):
            role_claim({"api": {"oidc": bad}})
