"""``[reports]`` in the TOML settings file: which channels get the operations report, when, in which language.

    [reports]
    schedule = "0 8 * * 1"          # cron (UTC): Mondays at 08:00, the default
    days = 7                        # the period each report covers, ending at the scheduled time
    catch_up_hours = 12             # a run missed while no replica led is still made this long after
    [[reports.channels]]
    channel = "slack:C0123"         # PLATFORM:CHANNEL_ID
    locale = "fr"                   # the channel's language (en, fr, ar, tzm)
    schedule = "0 7 * * 1-5"        # optional: this channel's own cron and days
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.clock import micros
from bot.i18n import LOCALES
from dihya.settings import SettingsError

DEFAULT_SCHEDULE = "0 8 * * 1"


@dataclass(frozen=True, slots=True)
class ReportChannel:
    address: str  # platform:channel
    locale: str
    schedule: str  # cron, UTC
    days: int

    def last_fire_us(self, now_s: float) -> int:
        """The latest scheduled time at or before ``now_s`` (microseconds)."""
        from croniter import croniter  # loaded only when reports are configured: the embedded default stays small

        start = datetime.fromtimestamp(now_s, UTC)
        fired = croniter(self.schedule, start).get_prev(datetime)
        if croniter.match(self.schedule, start) and start.second == 0 and start.microsecond == 0:
            fired = start  # exactly on time: this minute's run, not the previous one
        return micros(int(fired.timestamp()))

    def period_key(self, fire_us: int) -> str:
        return f"{self.address}@{fire_us}"


@dataclass(frozen=True, slots=True)
class ReportsConfig:
    channels: tuple[ReportChannel, ...] = ()
    catch_up_s: float = 12 * 3600
    check_seconds: float = 30.0

    def channel(self, address: str) -> ReportChannel | None:
        return next((c for c in self.channels if c.address == address), None)


def reports_config(config: dict[str, Any]) -> ReportsConfig:
    section = config.get("reports")
    if section is None:
        return ReportsConfig()
    if not isinstance(section, dict):
        raise SettingsError("[reports] must be a table")
    schedule = _cron("reports.schedule", section.get("schedule", DEFAULT_SCHEDULE))
    days = _days("reports.days", section.get("days", 7))
    channels = tuple(_channel(n, spec, schedule, days) for n, spec in enumerate(section.get("channels", [])))
    if len({c.address for c in channels}) != len(channels):
        raise SettingsError("[[reports.channels]]: a channel is listed twice")
    catch_up = section.get("catch_up_hours", 12)
    check = section.get("check_seconds", 30.0)
    if not isinstance(catch_up, int | float) or not 0 < catch_up <= 168:
        raise SettingsError("reports.catch_up_hours must be a number of hours from 1 to 168")
    if not isinstance(check, int | float) or not 0 < check <= 3600:
        raise SettingsError("reports.check_seconds must be from 0 to 3600 seconds")
    return ReportsConfig(channels, float(catch_up) * 3600, float(check))


def _channel(n: int, spec: object, schedule: str, days: int) -> ReportChannel:
    where = f"reports.channels[{n}]"
    if not isinstance(spec, dict):
        raise SettingsError(f"{where} must be a table with channel and locale")
    address = str(spec.get("channel", ""))
    platform, sep, channel = address.partition(":")
    if not (platform and sep and channel):
        raise SettingsError(f"{where}.channel {address!r} must be PLATFORM:CHANNEL_ID, e.g. slack:C0123")
    locale = str(spec.get("locale", "en"))
    if locale not in LOCALES:
        raise SettingsError(f"{where}.locale {locale!r} must be one of {', '.join(LOCALES)}")
    return ReportChannel(address, locale, _cron(f"{where}.schedule", spec.get("schedule", schedule)),
                         _days(f"{where}.days", spec.get("days", days)))


def _cron(where: str, value: object) -> str:
    from croniter import croniter

    if not isinstance(value, str) or len(value.split()) != 5 or not croniter.is_valid(value):
        raise SettingsError(f"{where} {value!r} must be a five-field cron expression, e.g. \"0 8 * * 1\"")
    return value


def _days(where: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 90:
        raise SettingsError(f"{where} must be a whole number of days from 1 to 90")
    return value
