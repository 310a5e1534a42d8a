"""The real Prometheus + Alertmanager stack, shared by every test in this folder (one per session)."""

from tests.servers.monitoring import alert_receiver, monitoring_stack, stack

__all__ = ["alert_receiver", "monitoring_stack", "stack"]
