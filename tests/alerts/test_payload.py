"""Alertmanager webhook payloads: recorded real ones parse; bad JSON, wrong shape or another
version is refused with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dihya.alerts.payload import PayloadError, WebhookPayload, parse_webhook

DATA = Path(__file__).parent / "data"


def recorded(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((DATA / name).read_bytes())
    return loaded


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def reason_for(raw: bytes) -> str:
    with pytest.raises(PayloadError) as caught:
        parse_webhook(raw)
    return caught.value.reason


def test_recorded_firing_payload() -> None:
    payload = parse_webhook((DATA / "firing.json").read_bytes())
    assert isinstance(payload, WebhookPayload)
    assert (payload.version, payload.status, payload.receiver) == ("4", "firing", "dihya")
    assert payload.group_key == '{}:{alertname="InstanceDown", instance="web-01"}'
    assert payload.group_labels == {"alertname": "InstanceDown", "instance": "web-01"}
    assert payload.common_labels["severity"] == "critical"
    assert payload.common_annotations["summary"] == "web-01 is down"
    assert payload.external_url.startswith("http://127.0.0.1:")
    assert payload.truncated_alerts == 0
    [alert] = payload.alerts
    assert alert.name == "InstanceDown"
    assert alert.starts_at.tzinfo is not None
    assert alert.ends_at is None  # 0001-01-01T00:00:00Z on the wire
    assert alert.fingerprint == "75f2c7b66bc9539d"
    assert alert.generator_url.startswith("http://127.0.0.1:")
    assert payload.firing() == (alert,)
    assert payload.resolved() == ()


def test_recorded_resolved_payload() -> None:
    payload = parse_webhook((DATA / "resolved.json").read_bytes())
    [alert] = payload.resolved()
    assert payload.status == "resolved"
    assert alert.ends_at is not None
    assert alert.ends_at > alert.starts_at
    assert alert.ends_at.tzinfo == UTC


def test_payload_is_immutable() -> None:
    payload = parse_webhook((DATA / "firing.json").read_bytes())
    with pytest.raises(ValueError, match="frozen"):
        payload.status = "resolved"  # type: ignore[misc]


def test_unknown_fields_are_ignored() -> None:
    data = recorded("firing.json")
    data["newInVersion4dot1"] = {"x": 1}
    assert parse_webhook(body(data)).status == "firing"


def test_end_time_other_than_go_zero_is_kept() -> None:
    data = recorded("firing.json")
    data["alerts"][0]["endsAt"] = "2030-01-01T00:00:00Z"  # type: ignore[index]
    assert parse_webhook(body(data)).alerts[0].ends_at == datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"\xff\xfe{}", b'{"version": "4",}'])
def test_malformed_json(raw: bytes) -> None:
    assert reason_for(raw).startswith("malformed JSON")


@pytest.mark.parametrize("raw", [b"[]", b'"firing"', b"null", b"4"])
def test_not_an_object(raw: bytes) -> None:
    assert reason_for(raw) == "expected a JSON object"


@pytest.mark.parametrize("version", ["3", "5", 4, None])
def test_other_versions(version: object) -> None:
    data = recorded("firing.json")
    data["version"] = version
    assert reason_for(body(data)).startswith("unsupported payload version")


@pytest.mark.parametrize(("path", "value", "where"), [
    (("status",), "exploded", "status"),
    (("alerts",), "none", "alerts"),
    (("alerts", 0, "labels"), {"instance": 1}, "alerts.0.labels.instance"),
    (("alerts", 0, "startsAt"), "yesterday", "alerts.0.startsAt"),
    (("alerts", 0, "fingerprint"), "", "alerts.0.fingerprint"),
    (("truncatedAlerts",), -1, "truncatedAlerts"),
    (("groupLabels",), ["alertname"], "groupLabels"),
])
def test_wrong_shape_names_the_field(path: tuple[object, ...], value: object, where: str) -> None:
    data = recorded("firing.json")
    target: object = data
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    reason = reason_for(body(data))
    assert reason.startswith("wrong shape: ")
    assert f"{where}: " in reason


def test_missing_fields_are_listed_with_a_count() -> None:
    reason = reason_for(b'{"version": "4"}')
    assert reason.startswith("wrong shape: groupKey: Field required")
    assert "more)" in reason
