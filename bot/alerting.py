"""Alerts as the core sees them: what Alertmanager delivered, how it is routed, how its message reads.

One message per alert group (Alertmanager's ``groupKey``), posted under the key ``alert:<id>`` and
edited as its alerts fire and resolve; during a storm one summary message per channel
(``alert-storm:<id>``) stands for every group that arrives.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.clock import micros, utc_datetime
from bot.i18n import N_, Msg

KEY_PREFIX = "alert:"
STORM_PREFIX = "alert-storm:"
SHOWN_ALERTS = 10  # alerts listed in a group's message; the rest are counted
ACK, SILENCE, INCIDENT = "👀", "🔕", "🚨"


@dataclass(frozen=True, slots=True)
class AlertView:
    fingerprint: str
    status: str  # firing | resolved
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_us: int
    ends_us: int | None
    generator_url: str = ""

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "?")


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    """One webhook delivery: the current state of one alert group."""

    group_key: str
    status: str
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    external_url: str
    alerts: tuple[AlertView, ...]

    @property
    def digest(self) -> str:
        """Equal for two deliveries of the same group in the same state (Alertmanager redelivers)."""
        state = [self.status, sorted((a.fingerprint, a.status, a.starts_us, a.ends_us or 0) for a in self.alerts)]
        return hashlib.sha256(json.dumps(state).encode()).hexdigest()

    @property
    def group_hash(self) -> str:
        return hashlib.sha256(self.group_key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AlertGroupRecord:
    id: int
    group_key: str
    channel: str  # PLATFORM:CHANNEL_ID
    status: str
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    external_url: str
    created_us: int
    storm_id: int | None = None
    acked_by: str | None = None
    silence_id: str | None = None
    incident_id: int | None = None

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}{self.id}"

    @property
    def message_key(self) -> str:
        return f"{STORM_PREFIX}{self.storm_id}" if self.storm_id is not None else self.key

    @property
    def severity(self) -> str:
        return self.common_labels.get("severity", "")

    @property
    def name(self) -> str:
        return self.group_labels.get("alertname") or self.common_labels.get("alertname", "?")

    @property
    def matchers(self) -> Mapping[str, str]:
        """The labels that identify this group, for a silence."""
        return self.group_labels or self.common_labels


@dataclass(frozen=True, slots=True)
class AlertRecord:
    group_id: int
    channel: str
    alert: AlertView


@dataclass(frozen=True, slots=True)
class StormSummary:
    id: int
    channel: str
    started_us: int
    groups: int
    firing: int
    resolved: int
    names: tuple[tuple[str, int], ...]  # the most frequent alert names, with their counts


@dataclass(frozen=True, slots=True)
class Route:
    """``[[alerts.routes]]``: every ``match`` label equal and every ``match_re`` label matching."""

    channel: str
    equal: Mapping[str, str] = field(default_factory=dict)
    regex: Mapping[str, re.Pattern[str]] = field(default_factory=dict)
    locale: str | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.equal.items()) and all(
            p.fullmatch(labels.get(k, "")) is not None for k, p in self.regex.items())


def route_for(routes: Sequence[Route], labels: Mapping[str, str]) -> Route | None:
    """The first route whose matchers all hold (Alertmanager's ``continue: false``)."""
    return next((r for r in routes if r.matches(labels)), None)


def matcher_text(labels: Mapping[str, str]) -> str:
    """Labels as Alertmanager matchers (``a="x",b="y"``): JSON escapes are the quoting ``parse_matchers`` reads."""
    return ",".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(labels.items()))


# --- the group's message -----------------------------------------------------------------------


def _when(us: int) -> str:
    return f"{utc_datetime(us):%Y-%m-%d %H:%M} UTC"


def group_lines(group: AlertGroupRecord, alerts: Sequence[AlertView]) -> tuple[Msg, ...]:
    firing = [a for a in alerts if a.status == "firing"]
    resolved = len(alerts) - len(firing)
    lines = [_headline(group, bool(firing))]
    lines.extend(_annotations(group.common_annotations))
    if group.common_labels:
        lines.append(Msg(N_("Labels: {labels}"), {"labels": _labels(group.common_labels)}))
    lines.append(Msg(N_("Alerts: {firing} firing, {resolved} resolved."), {"firing": len(firing),
                                                                          "resolved": resolved}))
    lines.extend(_alert_row(a) for a in alerts[:SHOWN_ALERTS])
    if len(alerts) > SHOWN_ALERTS:
        lines.append(Msg(N_("… and {count} more (“alerts” lists them all)."), {"count": len(alerts) - SHOWN_ALERTS}))
    lines.extend(_state(group))
    if firing:
        hint = N_("React {ack} to acknowledge, {silence} to silence for 1 h, {incident} to open an incident.")
        lines.append(Msg(hint, {"ack": ACK, "silence": SILENCE, "incident": INCIDENT}))
    return tuple(lines)


def _headline(group: AlertGroupRecord, firing: bool) -> Msg:
    severity = group.severity or "-"
    if firing:
        return Msg(N_("🔥 FIRING [{severity}] {name}"), {"severity": severity, "name": group.name})
    return Msg(N_("✅ RESOLVED [{severity}] {name}"), {"severity": severity, "name": group.name})


def _annotations(annotations: Mapping[str, str]) -> list[Msg]:
    lines = []
    if annotations.get("summary"):
        lines.append(Msg(N_("Summary: {text}"), {"text": annotations["summary"]}))
    if annotations.get("description"):
        lines.append(Msg(N_("Description: {text}"), {"text": annotations["description"]}))
    if annotations.get("runbook_url"):
        lines.append(Msg(N_("Runbook: {url}"), {"url": annotations["runbook_url"]}))
    return lines


def _labels(labels: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _alert_row(alert: AlertView) -> Msg:
    summary = alert.annotations.get("summary") or _labels(alert.labels)
    icon = "🔥" if alert.status == "firing" else "✅"
    if alert.generator_url:
        return Msg(N_("{icon} {summary} — since {since} — source: {url}"),
                   {"icon": icon, "summary": summary, "since": _when(alert.starts_us), "url": alert.generator_url})
    return Msg(N_("{icon} {summary} — since {since}"), {"icon": icon, "summary": summary,
                                                        "since": _when(alert.starts_us)})


def _state(group: AlertGroupRecord) -> list[Msg]:
    lines = []
    if group.acked_by:
        lines.append(Msg(N_("👀 Acknowledged by {who}."), {"who": group.acked_by}))
    if group.silence_id:
        lines.append(Msg(N_("🔕 Silenced (silence {id})."), {"id": group.silence_id}))
    if group.incident_id is not None:
        lines.append(Msg(N_("🚨 Incident #{id}."), {"id": group.incident_id}))
    return lines


def storm_lines(summary: StormSummary) -> tuple[Msg, ...]:
    names = ", ".join(f"{name} ×{count}" for name, count in summary.names)
    return (
        Msg(N_("⚠️ Alert storm since {since}: {groups} alert groups in this channel are summarised here."),
            {"since": _when(summary.started_us), "groups": summary.groups}),
        Msg(N_("Alerts: {firing} firing, {resolved} resolved."), {"firing": summary.firing,
                                                                  "resolved": summary.resolved}),
        Msg(N_("Most frequent: {names}"), {"names": names or "-"}),
        Msg(N_("“alerts” lists every firing alert. React {ack} to acknowledge every group here, {silence} to "
               "silence them all for 1 h."), {"ack": ACK, "silence": SILENCE}),
    )


def alert_list_line(record: AlertRecord) -> str:
    """One plain-text row of the full list (``alerts`` attaches it as a file when it is long)."""
    a = record.alert
    summary = a.annotations.get("summary", "")
    return f"#{record.group_id} {a.name} [{a.labels.get('severity', '-')}] {_labels(a.labels)} — {summary} " \
           f"(since {_when(a.starts_us)}, {record.channel})"


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Where alerts go and what they trigger: ``[alerts]`` of the TOML file plus the DIHYA_ALERT* settings."""

    routes: tuple[Route, ...] = ()
    default_channel: str | None = None  # DIHYA_ALERTS_CHANNEL
    auto_incident: frozenset[str] = frozenset()  # severity labels that open an incident by themselves
    locale: str = "en"
    storm_threshold: int = 5
    storm_window_s: int = 60

    def destination(self, labels: Mapping[str, str]) -> tuple[str | None, str]:
        """(channel address or None, locale) for a group with these common labels."""
        route = route_for(self.routes, labels)
        if route is None:
            return self.default_channel, self.locale
        return route.channel, route.locale or self.locale

    def window_start_us(self, now_us: int) -> int:
        """Where the storm window that ends now begins."""
        return now_us - micros(self.storm_window_s)

    def storming(self, messages_in_window: int) -> bool:
        """Whether a channel that got this many alert messages in the window is in a storm: a new
        group then joins the storm's summary instead of getting a message of its own."""
        return messages_in_window > self.storm_threshold

    def opens_incident(self, group: AlertGroupRecord, new: bool, status: str) -> bool:
        """Whether a delivery opens an incident by itself: a new group, firing, of a listed severity."""
        return new and status == "firing" and group.severity in self.auto_incident
