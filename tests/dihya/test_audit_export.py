from __future__ import annotations

import csv
import io
import ipaddress
import json
from collections.abc import Mapping

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.audit import GENESIS, AuditDraft, AuditRecord, chain_hash
from bot.errors import UserError
from dihya.audit_export import (
    COLUMNS,
    ExportFilter,
    export_csv,
    export_json,
    iso_time,
    mask_pii,
    parse_since,
)
from dihya.redaction import Redactor

NOW = 1_793_491_200.0  # 2026-11-01T00:00:00Z
DAY_US = 86_400 * 1_000_000
SEPARATORS = st.sampled_from(list(" \n\t,;()[]<>\"'=:/.!"))
PROSE = st.text(st.characters(codec="utf-8", categories=("L", "Zs")), max_size=20)

PSEUDONYMS = {"slack:U0PRIVATE": "p-slack", "matrix:@bob:example.org": "p-bob", "console:admin1": "p-admin"}

PERSONAL = (
    "U0PRIVATE", "@bob:example.org", "admin1", "alice@example.com", "Alice.Martin@corp.example.dz",
    "10.1.2.3", "2001:db8::42", "+213 555 12 34 56", "0661 23 45 67", "xoxb-123456789012-secret-value",
    "hunter2-password",
)


def chain(drafts: list[AuditDraft]) -> list[AuditRecord]:
    records, prev = [], GENESIS
    for seq, draft in enumerate(drafts, start=1):
        digest = chain_hash(prev, seq, draft)
        records.append(AuditRecord(seq, draft, prev, digest))
        prev = digest
    return records


def draft(ts_us: int, action: str, target: str = "", details: Mapping[str, object] | None = None) -> AuditDraft:
    return AuditDraft(ts_us, "p-actor", action, target, "ok", "", details or {})


RECORDS = chain([
    draft(int(NOW * 1e6) - 10 * DAY_US, "command:role.grant", "slack:U0PRIVATE",
          {"args": {"who": "slack:U0PRIVATE", "role": "ops"}}),
    draft(int(NOW * 1e6) - 2 * DAY_US, "command:whoami", "console:admin1",
          {"text": "mail alice@example.com or Alice.Martin@corp.example.dz from 10.1.2.3 / 2001:db8::42",
           "place": "console:main"}),
    draft(int(NOW * 1e6) - DAY_US, "command:deploy", "web",
          {"text": "call +213 555 12 34 56 or 0661 23 45 67, ping @bob:example.org",
           "token": "xoxb-123456789012-secret-value", "password": "hunter2-password", "phone": 213555123456}),
    draft(int(NOW * 1e6), "command:audit.verify", "", {"text": "=HYPERLINK(\"http://evil\")"}),
])


def export_both(selection: ExportFilter | None = None) -> tuple[bytes, bytes]:
    selection = selection or ExportFilter()
    redactor = Redactor(["hunter2-password"])
    return (export_csv(RECORDS, selection, redactor, PSEUDONYMS.get),
            export_json(RECORDS, selection, redactor, PSEUDONYMS.get))


# -- parse_since ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("7d", int(NOW * 1e6) - 7 * DAY_US),
    ("12h", int(NOW * 1e6) - 12 * 3_600_000_000),
    ("30m", int(NOW * 1e6) - 30 * 60_000_000),
    (" 2W ", int(NOW * 1e6) - 14 * DAY_US),
    ("2026-10-01", 1_790_812_800_000_000),
    ("2026-10-01T12:00", 1_790_812_800_000_000 + 12 * 3_600_000_000),
    ("2026-10-01T12:00+01:00", 1_790_812_800_000_000 + 11 * 3_600_000_000),
    ("999999d", 0),  # before the epoch: everything
])
def test_parse_since_accepts_dates_and_durations(text: str, expected: int) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "7", "7y", "-7d", "2026-02-30", "2026/11/01", "7d ago"])
def test_parse_since_rejects_bad_input_with_a_user_error(text: str) -> None:
    with pytest.raises(UserError) as raised:
        parse_since(text, NOW)
    assert raised.value.message.params == {"value": text}
    assert "7d" in raised.value.message.msgid


def test_iso_time_is_exact_utc() -> None:
    assert iso_time(1_793_491_200_000_001) == "2026-11-01T00:00:00.000001Z"
    assert iso_time(0) == "1970-01-01T00:00:00.000000Z"


# -- mask_pii ------------------------------------------------------------------------------------
@given(st.ip_addresses(v=4), SEPARATORS, SEPARATORS, PROSE)
def test_mask_pii_never_leaves_an_ipv4_address(address: ipaddress.IPv4Address, left: str, right: str,
                                                prose: str) -> None:
    masked = mask_pii(f"{prose}{left}{address}{right}{prose}")
    assert str(address) not in masked
    assert "[IP]" in masked


@given(st.ip_addresses(v=6), SEPARATORS, SEPARATORS)
def test_mask_pii_never_leaves_an_ipv6_address(address: ipaddress.IPv6Address, left: str, right: str) -> None:
    for form in {address.compressed, address.exploded}:
        masked = mask_pii(f"from{left}{form}{right}to")
        assert form not in masked
        assert "[IP]" in masked


@given(st.emails(), SEPARATORS, SEPARATORS, PROSE)
def test_mask_pii_never_leaves_an_email_address(address: str, left: str, right: str, prose: str) -> None:
    masked = mask_pii(f"{prose}{left}{address}{right}{prose}")
    assert address not in masked
    assert address.rpartition("@")[2] not in masked  # not even the domain
    assert "[EMAIL]" in masked


@pytest.mark.parametrize("number", [
    "+213 555 12 34 56", "+213555123456", "+33 6 12 34 56 78", "+1 (415) 555-2671", "+1 555 0100",
    "0555 12 34 56", "06 12 34 56 78", "00213 555 12 34 56",
])
def test_mask_pii_masks_phone_numbers(number: str) -> None:
    masked = mask_pii(f"call {number}.")
    assert masked == "call [PHONE]."


@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
       st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]),
       st.sampled_from([phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164]))
def test_mask_pii_masks_every_region_s_international_numbers(region: str, kind: int, style: int) -> None:
    example = phonenumbers.example_number_for_type(region, kind)
    if example is not None:
        assert mask_pii(f"call {phonenumbers.format_number(example, style)} now") == "call [PHONE] now"


@pytest.mark.parametrize(("text", "expected"), [
    ("role grant ops to slack:U0PRIVATE", "role grant ops to p-slack"),
    ("matrix:@bob:example.org.", "p-bob."),
    ("ask @bob:example.org", "ask p-bob"),
    ("ask <@U0PRIVATE|alice>", "ask p-slack"),
    ("(console:admin1)", "(p-admin)"),
    ("ping @alice_m now", "ping [ID] now"),
    ("thanks @bob.", "thanks [ID]."),
])
def test_mask_pii_pseudonymises_identities(text: str, expected: str) -> None:
    assert mask_pii(text, pseudonymise=PSEUDONYMS.get) == expected


def test_mask_pii_without_pseudonyms_masks_identities() -> None:
    assert mask_pii("grant slack:U0PRIVATE and matrix:@bob:example.org") == "grant [ID] and [ID]"


@pytest.mark.parametrize("text", [
    "deploy web to production version v1.2.3", "job 12345678 at 2026-11-01T12:00:00Z", "time 12:30:45",
    "std::vector<int>", "port 8080 pid 123456 seq 1234567890", "command:role.grant", "p-1a2b3c4d5e6f7a8b",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "déployer web en production",
    "نشر web إلى الإنتاج", "ts 1730000000123456",
])
def test_mask_pii_leaves_ordinary_operations_text_alone(text: str) -> None:
    assert mask_pii(text) == text


# -- exports -------------------------------------------------------------------------------------
def test_exports_hold_no_personal_data_or_secret_in_clear() -> None:
    for data in export_both():
        text = data.decode()
        leaked = [p for p in PERSONAL if p in text]
        assert leaked == []
        for replacement in ("p-slack", "p-admin", "p-bob", "[EMAIL]", "[IP]", "[PHONE]", "[REDACTED]"):
            assert replacement in text


def test_csv_export_has_the_columns_and_one_row_per_record() -> None:
    data, _ = export_both()
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert tuple(rows[0]) == COLUMNS
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    first = dict(zip(COLUMNS, rows[1], strict=True))
    assert first["time"] == "2026-10-22T00:00:00.000000Z"
    assert (first["actor"], first["target"]) == ("p-actor", "p-slack")
    assert json.loads(first["details"]) == {"args": {"role": "ops", "who": "p-slack"}}
    assert first["hash"] == RECORDS[0].hash
    assert data.endswith(b"\r\n")


def test_csv_export_defuses_spreadsheet_formulas() -> None:
    data, _ = export_both()
    last = list(csv.reader(io.StringIO(data.decode(), newline="")))[-1]
    assert json.loads(last[7]) == {"text": "=HYPERLINK(\"http://evil\")"}  # details is JSON text: starts with {
    row = export_csv(chain([draft(0, "x", "=cmd|' /C calc'!A0")]), ExportFilter(), Redactor()).decode()
    assert "\r\n1,1970-01-01T00:00:00.000000Z,p-actor,x,'=cmd" in row


def test_json_export_matches_the_csv_rows() -> None:
    data, blob = export_both()
    csv_rows = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    json_rows = json.loads(blob)
    assert [list(r) for r in json_rows] == [list(COLUMNS)] * 4
    assert [{**r, "seq": str(r["seq"])} for r in json_rows] == csv_rows
    details = json.loads(json_rows[2]["details"])
    assert details["token"] == details["password"] == "[REDACTED]"
    assert details["phone"] == "[PHONE]"


def test_details_under_secret_names_are_masked_whole() -> None:
    details = {"db_password": "correcthorse", "Authorization": "opaque", "apiKey": ["a", "b"], "name": "web"}
    data = export_json(chain([draft(0, "x", details=details)]), ExportFilter(), Redactor())
    assert json.loads(json.loads(data)[0]["details"]) == {
        "db_password": "[REDACTED]", "Authorization": "[REDACTED]", "apiKey": "[REDACTED]", "name": "web"}


def test_exports_are_deterministic() -> None:
    assert export_both() == export_both()


def test_filter_by_time_and_action() -> None:
    since = parse_since("3d", NOW)
    csv_data, json_data = export_both(ExportFilter(since, frozenset({"Deploy", "audit"})))
    assert [r["seq"] for r in json.loads(json_data)] == [3, 4]
    assert len(csv_data.decode().splitlines()) == 3
    by_full_name = export_json(RECORDS, ExportFilter(None, frozenset({"command:whoami"})), Redactor())
    assert [r["seq"] for r in json.loads(by_full_name)] == [2]
    assert json.loads(export_json(RECORDS, ExportFilter(int(NOW * 2e6)), Redactor())) == []
