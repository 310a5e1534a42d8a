"""``[webhooks]`` in the TOML settings file: subscriptions, the address allow-list and retry timing.

    [webhooks]
    allow_addresses = ["127.0.0.1"]      # private, loopback, link-local… targets allowed only if listed
    retry_base_seconds = 2.0             # first retry after ~2 s, doubling (with jitter) up to retry_max
    [webhooks.subscriptions.ops]
    url = "https://hooks.example.org/dihya"
    events = ["approval", "job"]         # command, approval, job, alert, incident, audit_anchor
    secret = "ops-hook"                  # name of an encrypted secret (``secret set``): the HMAC key
    services = ["web"]                   # optional filters: services, environments, severities
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.addresses import STRICT, AddressPolicy
from dihya.config_file import address_policy
from dihya.settings import SettingsError

EVENTS = ("command", "approval", "job", "alert", "incident", "audit_anchor")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class Subscription:
    name: str
    url: str
    events: frozenset[str]
    secret: str
    services: frozenset[str] = frozenset()
    environments: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    subscriptions: tuple[Subscription, ...] = ()
    addresses: AddressPolicy = STRICT
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 600.0
    expire_seconds: float = 86400.0
    timeout_seconds: float = 10.0
    poll_seconds: float = 1.0

    def subscription(self, name: str) -> Subscription | None:
        return next((s for s in self.subscriptions if s.name == name), None)


def webhook_config(config: dict[str, Any]) -> WebhookConfig:
    section = config.get("webhooks", {})
    if not isinstance(section, dict):
        raise SettingsError("DIHYA_CONFIG_FILE: [webhooks] must be a table")
    allowed = address_policy({"inventory": {"allow_addresses": section.get("allow_addresses", [])}})
    timing = {key: _seconds(section, key) for key in ("retry_base_seconds", "retry_max_seconds", "expire_seconds",
                                                      "timeout_seconds", "poll_seconds") if key in section}
    tables = section.get("subscriptions", {})
    if not isinstance(tables, dict):
        raise SettingsError("DIHYA_CONFIG_FILE: [webhooks.subscriptions] must be a table")
    subs = tuple(_subscription(name, spec) for name, spec in tables.items())
    return WebhookConfig(subs, allowed, **timing)


def _seconds(section: dict[str, Any], key: str) -> float:
    value = section[key]
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise SettingsError(f"DIHYA_CONFIG_FILE: [webhooks] {key} must be a positive number")
    return float(value)


def _subscription(name: str, spec: object) -> Subscription:
    where = f"DIHYA_CONFIG_FILE: [webhooks.subscriptions.{name[:64]}]"
    if not _NAME.fullmatch(name) or not isinstance(spec, dict):
        raise SettingsError(f"{where} must be a table named with letters, digits, “.”, “-” or “_”")
    url = spec.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise SettingsError(f"{where} url must be an http:// or https:// URL")
    events = spec.get("events", [])
    if not isinstance(events, list) or not events or not set(events) <= set(EVENTS):
        raise SettingsError(f"{where} events must be a list from {', '.join(EVENTS)}")
    secret = spec.get("secret")
    if not isinstance(secret, str) or not secret:
        raise SettingsError(f"{where} secret must name an encrypted secret (secret set NAME VALUE)")
    filters = {key: _strings(where, spec, key) for key in ("services", "environments", "severities")}
    return Subscription(name, url, frozenset(events), secret, **filters)


def _strings(where: str, spec: dict[str, Any], key: str) -> frozenset[str]:
    value = spec.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{where} {key} must be a list of strings")
    return frozenset(value)
