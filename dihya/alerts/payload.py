"""Alertmanager's webhook payload, version 4, as immutable pydantic models.

``payload_of`` is what ``POST /hooks/alertmanager`` calls on the JSON the shared ingress decoded
(``parse_webhook`` does both steps): a body of the wrong shape or another payload version raise
``PayloadError`` with a reason the HTTP layer answers with 400.
Alertmanager writes Go's zero time (``0001-01-01T00:00:00Z``) as ``endsAt`` of a firing alert
whose end is unknown; the models turn it into ``None``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dihya import bounded_json

SUPPORTED_VERSION = "4"
MAX_REASONS = 3

Status = Literal["firing", "resolved"]


class _Model(BaseModel):
    # Extra keys are ignored: Alertmanager may add fields within version 4.
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class Alert(_Model):
    status: Status
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(min_length=1)

    @field_validator("ends_at", mode="after")
    @classmethod
    def _zero_time_is_unknown(cls, value: datetime | None) -> datetime | None:
        return None if value is not None and value.year == 1 else value

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")


class WebhookPayload(_Model):
    version: Literal["4"]
    group_key: str = Field(alias="groupKey")
    status: Status
    receiver: str
    group_labels: dict[str, str] = Field(alias="groupLabels")
    common_labels: dict[str, str] = Field(alias="commonLabels")
    common_annotations: dict[str, str] = Field(alias="commonAnnotations")
    external_url: str = Field(alias="externalURL")
    alerts: tuple[Alert, ...]
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")

    def firing(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.status == "firing")

    def resolved(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.status == "resolved")


class PayloadError(ValueError):
    """The body is not an Alertmanager version 4 webhook payload; ``reason`` says why (for the 400)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_webhook(body: bytes) -> WebhookPayload:
    try:
        data = bounded_json.loads(body)
    except bounded_json.MalformedJson as exc:
        raise PayloadError(str(exc)) from exc
    return payload_of(data)


def payload_of(data: object) -> WebhookPayload:
    if not isinstance(data, dict):
        raise PayloadError("expected a JSON object")
    if "version" in data and data["version"] != SUPPORTED_VERSION:
        raise PayloadError(f"unsupported payload version {str(data['version'])[:20]!r}, expected {SUPPORTED_VERSION!r}")
    try:
        return WebhookPayload.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(_shape_reason(exc)) from exc


def _shape_reason(error: ValidationError) -> str:
    reasons = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()[:MAX_REASONS]]
    more = error.error_count() - len(reasons)
    return "wrong shape: " + "; ".join(reasons) + (f" (and {more} more)" if more > 0 else "")
