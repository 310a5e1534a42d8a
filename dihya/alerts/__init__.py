"""Alerts from Alertmanager: the webhook payload and, later, routing and incident lifecycle."""
