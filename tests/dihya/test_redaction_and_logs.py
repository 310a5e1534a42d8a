"""One redaction filter for everything that leaves the process; logs are JSON lines."""

import json
import logging
from pathlib import Path

import pytest

from dihya.logs import configure
from dihya.redaction import MASK, Redactor
from dihya.settings import SettingsError, load_settings

SAMPLES = [
    "xoxb-123456789012-abcdefABCDEF",
    "123456789:AAH_abcdefghijklmnopqrstuvwxyz0123456",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----",
    "password=hunter2hunter2",
    "AKIAABCDEFGHIJKLMNOP",
]


@pytest.mark.parametrize("secret", SAMPLES)
def test_token_shapes_are_masked(secret: str) -> None:
    out = Redactor()(f"before {secret} after")
    assert MASK in out
    assert "before" in out and "after" in out


def test_known_values_are_masked_and_plain_text_untouched() -> None:
    redact = Redactor(["canary-7f3a9"])
    assert redact("deploy used canary-7f3a9 today") == f"deploy used {MASK} today"
    assert redact("deploy web to staging version v1.2.3") == "deploy web to staging version v1.2.3"


def test_logs_are_json_lines_without_secrets(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    configure("INFO", Redactor(["s3cr3t-value"]), path)
    logging.getLogger("dihya.test").info("calling with s3cr3t-value and xoxb-123456789012-abcdefABCDEF",
                                          extra={"token": "s3cr3t-value"})
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = path.read_text().splitlines()
    record = json.loads(lines[-1])
    assert record["level"] == "INFO"
    assert "s3cr3t-value" not in lines[-1]
    assert "xoxb-" not in lines[-1]


def test_bad_setting_is_named_and_secrets_hide_in_repr() -> None:
    with pytest.raises(SettingsError, match="DIHYA_JOBS"):
        load_settings(jobs="kafka")
    settings = load_settings(slack_bot_token="xoxb-should-not-show")
    assert "xoxb-should-not-show" not in repr(settings)
    assert "xoxb-should-not-show" in settings.secret_values()
