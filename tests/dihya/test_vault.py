from __future__ import annotations

import pickle
import traceback

import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from dihya.vault import SecretVault, VaultError, fernet_key, generate_key

OLD, NEW = generate_key(), generate_key()
SECRETS = {"slack_bot_token": "xoxb-1234-abcd", "db_password": "p@ss wörd ✓", "empty": ""}


def test_round_trip() -> None:
    vault = SecretVault([OLD])
    token = vault.encrypt("slack_bot_token", "xoxb-1234-abcd")
    assert b"xoxb" not in token
    assert vault.decrypt(token) == "xoxb-1234-abcd"
    assert vault.decrypt(token, "slack_bot_token") == "xoxb-1234-abcd"


@settings(max_examples=50)
@given(st.text(), st.text())
def test_round_trip_of_any_text(name: str, value: str) -> None:
    vault = SecretVault([OLD])
    assert vault.decrypt(vault.encrypt(name, value), name) == value


def test_a_token_is_bound_to_its_name() -> None:
    vault = SecretVault([OLD])
    token = vault.encrypt("db_password", "hunter2")
    with pytest.raises(VaultError):
        vault.decrypt(token, "slack_bot_token")


def test_rotation_keeps_every_secret_readable() -> None:
    tokens = {name: SecretVault([OLD]).encrypt(name, value) for name, value in SECRETS.items()}
    both = SecretVault([NEW, OLD])
    assert {n: both.decrypt(t, n) for n, t in tokens.items()} == SECRETS  # readable before rotating
    rotated = dict(zip(tokens, both.rotate(tokens.values()), strict=True))
    assert {n: SecretVault([NEW]).decrypt(t, n) for n, t in rotated.items()} == SECRETS
    assert {n: both.decrypt(t, n) for n, t in rotated.items()} == SECRETS
    for token in rotated.values():
        with pytest.raises(VaultError):
            SecretVault([OLD]).decrypt(token)


def test_rotating_a_token_no_key_reads_fails() -> None:
    foreign = SecretVault([generate_key()]).encrypt("x", "y")
    with pytest.raises(VaultError):
        SecretVault([NEW, OLD]).rotate([foreign])


def test_passphrases_are_stretched_into_stable_keys() -> None:
    key = fernet_key("correct horse battery staple")
    assert key == fernet_key("correct horse battery staple")
    assert key != fernet_key("correct horse battery stapler")
    Fernet(key)  # a usable Fernet key
    assert fernet_key(OLD) == OLD.encode()
    token = SecretVault(["correct horse battery staple"]).encrypt("n", "v")
    assert SecretVault([SecretStr(OLD), "correct horse battery staple"]).decrypt(token) == "v"


def test_damaged_and_foreign_tokens_raise_vault_errors() -> None:
    vault = SecretVault([OLD])
    token = vault.encrypt("db_password", "hunter2")
    for bad in (token[:-2] + b"AA", b"garbage", Fernet(OLD.encode()).encrypt(b"not json")):
        with pytest.raises(VaultError):
            vault.decrypt(bad)


def test_no_key_or_an_empty_key_is_refused() -> None:
    with pytest.raises(VaultError):
        SecretVault([])
    with pytest.raises(VaultError):
        SecretVault([""])


def test_values_and_keys_never_show() -> None:
    vault = SecretVault([SecretStr(NEW), OLD])
    token = vault.encrypt("db_password", "hunter2")
    assert repr(vault) == str(vault) == "SecretVault(<2 keys>)"
    with pytest.raises(VaultError) as raised:
        SecretVault([generate_key()]).decrypt(token)
    shown = "".join(traceback.format_exception(raised.value))
    for hidden in ("hunter2", NEW, OLD):
        assert hidden not in shown
    assert "InvalidToken" not in shown  # the cryptography error is not chained into logs either
    with pytest.raises(TypeError):
        pickle.dumps(vault)
