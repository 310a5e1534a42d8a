"""Monitoring and alerting parts built from settings (issue 5), for the composition root."""

from __future__ import annotations

from collections.abc import Mapping

from bot.alerting import KEY_PREFIX, STORM_PREFIX
from bot.context import ReactionHandler
from bot.monitoring import Metrics, Silences
from commands.alerts import alert_reaction, storm_reaction
from dihya.monitoring.port import AlertmanagerPort, PrometheusPort
from dihya.settings import Settings

REACTIONS: Mapping[str, ReactionHandler] = {KEY_PREFIX: alert_reaction, STORM_PREFIX: storm_reaction}


def build_metrics(settings: Settings) -> Metrics | None:
    if not settings.prometheus_url:
        return None
    return PrometheusPort(settings.prometheus_url, settings.prometheus_timeout_seconds)


def build_silences(settings: Settings) -> Silences | None:
    if not settings.alertmanager_url:
        return None
    return AlertmanagerPort(settings.alertmanager_url, settings.alertmanager_timeout_seconds)
