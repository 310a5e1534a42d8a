"""Silences through Alertmanager's v2 API (httpx, synchronous), and the matcher and duration text
people type in chat (``alertname=InstanceDown instance=~"web-.*"``, ``1h30m``).

Alertmanager 0.25 answers: POST /api/v2/silences → ``{"silenceID"}``; a bad matcher → 400 with a
reason; DELETE /api/v2/silence/{id} (singular) with an unknown id → 500 "silence not found", with a
malformed id → 422 (ids that are not UUIDs are refused before any request). Expiring an expired
silence is a 200, so ``expire_silence`` is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.errors import UserError
from bot.i18n import N_

CONNECT_TIMEOUT_S = 2.0
DEFAULT_COMMENT = "Silenced from chat with Dihya"  # Alertmanager's record, not a chat message
_SILENCE_ID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")

# --- errors ------------------------------------------------------------------------------------


class AlertmanagerError(UserError):
    """A silence operation that failed; ``message`` is the translated reply."""


class AlertmanagerUnavailable(AlertmanagerError):
    def __init__(self) -> None:
        super().__init__(N_("Alertmanager cannot be reached right now; try again in a moment."))


class SilenceRejected(AlertmanagerError):
    def __init__(self, reason: str) -> None:
        super().__init__(N_("Alertmanager refused the silence: {reason}"), reason=reason)
        self.reason = reason


class UnknownSilence(AlertmanagerError):
    def __init__(self, silence_id: str) -> None:
        super().__init__(N_("There is no silence with the id {id}."), id=silence_id)
        self.silence_id = silence_id


class BadMatchers(AlertmanagerError):
    def __init__(self, text: str) -> None:
        super().__init__(
            N_("“{text}” is not a list of label matchers: expected e.g. alertname=InstanceDown instance=~\"web-.*\"."),
            text=text,
        )


class BadDuration(AlertmanagerError):
    def __init__(self, text: str) -> None:
        super().__init__(N_("“{text}” is not a duration: expected e.g. 30m, 1h, 2h30m or 1d."), text=text)


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    @property
    def operator(self) -> str:
        return {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}[
            (self.is_regex, self.is_equal)]

    def __str__(self) -> str:
        return f"{self.name}{self.operator}{self.value}"

    def to_api(self) -> dict[str, object]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: str  # "active", "pending" or "expired"


# --- parsing chat text -------------------------------------------------------------------------

_MATCHER = re.compile(r'\s*,?\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|[^\s,"]*)')
_OPERATORS = {"=": (False, True), "!=": (False, False), "=~": (True, True), "!~": (True, False)}


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """Matchers separated by spaces or commas, optionally in braces; values may be "quoted"."""
    body = text.strip().removeprefix("{").removesuffix("}")
    matchers, position = [], 0
    while body[position:].strip(" \t,"):
        found = _MATCHER.match(body, position)
        if found is None:
            raise BadMatchers(text)
        name, operator, raw = found.groups()
        matchers.append(Matcher(name, _unquote(raw), *_OPERATORS[operator]))
        position = found.end()
    if not matchers:
        raise BadMatchers(text)
    return tuple(matchers)


def _unquote(raw: str) -> str:
    # Only \" and \\ are escapes, so regular expressions such as "web-\d+" keep their backslashes.
    if len(raw) < 2 or not raw.startswith('"'):
        return raw
    return re.sub(r'\\(["\\])', r"\1", raw[1:-1])


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``1h``, ``2h30m``, ``1d``, ``90s``: a positive duration of whole units."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None or not any(found.groups()):
        raise BadDuration(text)
    days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if duration <= timedelta(0):
        raise BadDuration(text)
    return duration


# --- the client --------------------------------------------------------------------------------


class AlertmanagerClient:
    """Create, list and expire silences; every failure becomes an ``AlertmanagerError``."""

    __slots__ = ("_http",)

    def __init__(self, url: str, timeout_s: float, headers: Mapping[str, str] | None = None) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v2",
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S)),
            headers=dict(headers or {}),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AlertmanagerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_silence(self, matchers: Sequence[Matcher], duration: timedelta, created_by: str,
                       comment: str = "") -> str:
        """Silence alerts matching all ``matchers`` from now for ``duration``; returns the silence id."""
        now = datetime.now(UTC)
        body = {
            "matchers": [m.to_api() for m in matchers],
            "startsAt": _rfc3339(now),
            "endsAt": _rfc3339(now + duration),
            "createdBy": created_by,
            "comment": comment.strip() or DEFAULT_COMMENT,
        }
        response = self._send("POST", "/silences", json=body)
        if response.status_code in (400, 422):
            raise SilenceRejected(_reason(response))
        return str(_json(_ok(response))["silenceID"])

    def silences(self, active_only: bool = True) -> list[Silence]:
        found = [_silence(item) for item in _json(_ok(self._send("GET", "/silences")))]
        found.sort(key=lambda s: s.ends_at)
        return [s for s in found if s.state == "active"] if active_only else found

    def expire_silence(self, silence_id: str) -> None:
        # Checked here: Alertmanager's router cleans "..%2F" paths, so an id must never shape the URL.
        if _SILENCE_ID.fullmatch(silence_id) is None:
            raise UnknownSilence(silence_id)
        response = self._send("DELETE", f"/silence/{silence_id}")
        if response.status_code == 422 or (response.status_code == 500 and "not found" in response.text):
            raise UnknownSilence(silence_id)
        _ok(response)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise AlertmanagerUnavailable() from exc


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        raise AlertmanagerUnavailable()
    return response


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise AlertmanagerUnavailable() from exc


def _reason(response: httpx.Response) -> str:
    """Alertmanager's reason: a JSON string (400) or an object with ``message`` (422)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
    text = body.get("message", "") if isinstance(body, dict) else body
    return str(text).removeprefix("silence invalid: ")


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _silence(item: Mapping[str, Any]) -> Silence:
    try:
        return Silence(
            id=str(item["id"]),
            matchers=tuple(Matcher(str(m["name"]), str(m["value"]), bool(m["isRegex"]), bool(m.get("isEqual", True)))
                           for m in item["matchers"]),
            starts_at=datetime.fromisoformat(item["startsAt"]),
            ends_at=datetime.fromisoformat(item["endsAt"]),
            created_by=str(item["createdBy"]),
            comment=str(item["comment"]),
            state=str(item["status"]["state"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AlertmanagerUnavailable() from exc
