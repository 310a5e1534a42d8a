"""End to end: a scrape target going down fires InstanceDown through Prometheus and Alertmanager
to our webhook receiver, and coming back up resolves it; both bodies pass ``parse_webhook``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dihya.alerts.payload import WebhookPayload, parse_webhook
from tests.servers.monitoring import INSTANCE, RUNBOOK_URL, WEBHOOK_TOKEN, AlertReceiver, Delivery, MonitoringStack

DELIVERY_SECONDS = 20.0  # measured ~2 s; generous for a loaded CI machine


def instance_down(status: str) -> Callable[[Delivery], bool]:
    def matches(delivery: Delivery) -> bool:
        payload = parse_webhook(delivery.body)
        return payload.status == status and payload.common_labels.get("instance") == INSTANCE

    return matches


@pytest.mark.slow
def test_target_down_fires_and_back_up_resolves(stack: MonitoringStack, alert_receiver: AlertReceiver) -> None:
    mark = alert_receiver.mark()
    stack.target_down()
    try:
        fired = alert_receiver.wait_for(instance_down("firing"), mark, DELIVERY_SECONDS)
    finally:
        mark = alert_receiver.mark()
        stack.target_up()
    assert fired.path == "/hooks/alertmanager"
    assert fired.headers["authorization"] == f"Bearer {WEBHOOK_TOKEN}"
    firing = parse_webhook(fired.body)
    _check_firing(firing, stack)

    resolved_delivery = alert_receiver.wait_for(instance_down("resolved"), mark, DELIVERY_SECONDS)
    resolved = parse_webhook(resolved_delivery.body)
    [alert] = resolved.alerts
    assert alert.status == "resolved"
    assert alert.fingerprint == firing.alerts[0].fingerprint
    assert alert.ends_at is not None
    assert alert.ends_at > alert.starts_at


def _check_firing(payload: WebhookPayload, stack: MonitoringStack) -> None:
    assert payload.version == "4"
    assert payload.receiver == "dihya"
    assert payload.group_labels == {"alertname": "InstanceDown", "instance": INSTANCE}
    assert payload.external_url == stack.alertmanager_url
    [alert] = payload.firing()
    assert alert.name == "InstanceDown"
    assert alert.labels == {"alertname": "InstanceDown", "instance": INSTANCE, "job": "node", "severity": "critical"}
    assert alert.annotations["summary"] == f"{INSTANCE} is down"
    assert alert.annotations["runbook_url"] == RUNBOOK_URL
    assert alert.ends_at is None  # Go's zero time on the wire
    assert alert.generator_url.startswith(stack.prometheus_url)
    assert alert.fingerprint
