"""One redaction filter for everything that leaves the process; logs are JSON lines."""

import json
import logging
import re
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dihya.logs import configure
from dihya.redaction import MASK, TOKEN_SHAPES, Redactor, TokenShape, fold
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


# -- the cheap trigger search must never let a shape's match through -------------------------------
@pytest.mark.parametrize("shape", TOKEN_SHAPES, ids=lambda shape: shape.triggers[0])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_match_of_a_shape_holds_one_of_its_triggers(shape: TokenShape, data: st.DataObject) -> None:
    found = data.draw(st.from_regex(shape.pattern, fullmatch=False))
    match = shape.pattern.search(found)
    assume(match is not None)
    assert any(trigger in fold(match.group()) for trigger in shape.triggers)
    assert MASK in Redactor()(found)


def test_folding_keeps_every_case_insensitive_spelling_of_a_letter() -> None:
    # re.IGNORECASE lets some non-ASCII letters ("ſ", "K" (Kelvin), "ı") match ASCII ones.
    any_letter = re.compile("[a-z]", re.IGNORECASE)
    for code in range(0x110000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF or any_letter.fullmatch(char) is None:
            continue
        for letter in string.ascii_lowercase:
            if re.fullmatch(letter, char, re.IGNORECASE):
                assert letter in fold(char), (hex(code), letter)


def test_a_long_reply_without_secrets_is_left_as_is() -> None:
    text = "Deployment of web v1.2.3 to production finished; 12 hosts updated: healthy. " * 40
    assert Redactor()(text) is text


def test_hole_2_the_log_file_rotates_by_size(tmp_path: Path) -> None:
    """A flood of log lines (one per refused request, say) keeps at most ``backups`` + 1 files of
    about ``max_bytes`` each."""
    path = tmp_path / "dihya.log"
    configure("INFO", Redactor(), path, max_bytes=4096, backups=2)
    root = logging.getLogger()
    try:
        for n in range(2000):
            logging.getLogger("dihya.ingress").info("webhook request refused", extra={"path": "/x", "n": n})
    finally:
        for handler in [h for h in root.handlers if h.formatter.__class__.__name__ == "RedactingJsonFormatter"]:
            handler.close()
            root.removeHandler(handler)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["dihya.log", "dihya.log.1", "dihya.log.2"]
    assert all((tmp_path / name).stat().st_size <= 4096 for name in files)
    assert json.loads((tmp_path / "dihya.log").read_text().splitlines()[-1])["n"] == 1999
