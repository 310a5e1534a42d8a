"""Builds the webhook sender from the settings file and the encrypted secrets (issue 17)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from bot.ports import Clock
from dihya.compliance.secrets import SecretBox
from dihya.store.webhooks_sql import WebhookDeliveriesSql
from dihya.webhooks.config import webhook_config
from dihya.webhooks.delivery import WebhookSender


def build_webhooks(config: dict[str, Any], engine: Engine, box: SecretBox, clock: Clock) -> WebhookSender:
    def secret(name: str) -> str | None:
        return box.value(name) if box.configured else None

    sender = WebhookSender(webhook_config(config), WebhookDeliveriesSql(engine), secret, clock)
    if sender.config.subscriptions:
        sender.store.start_cursor()  # before the first chat message, whose rows must be delivered
    return sender
