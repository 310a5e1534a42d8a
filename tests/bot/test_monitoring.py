"""``bot.monitoring``: which Prometheus instance and Grafana dashboard a server maps to."""

from __future__ import annotations

from bot.monitoring import MonitoringConfig


def test_a_server_maps_to_its_instance_or_its_own_name() -> None:
    config = MonitoringConfig(instances={"web-01": "10.0.0.5:9100"})
    assert config.instance("web-01") == "10.0.0.5:9100" and config.instance("db-01") == "db-01"


def test_a_dashboard_link_needs_grafana_and_a_path() -> None:
    assert MonitoringConfig(dashboards={"*": "d/node"}).dashboard_url("web-01") is None
    assert MonitoringConfig(grafana_url="https://g").dashboard_url("web-01") is None
    config = MonitoringConfig(grafana_url="https://g/", instances={"web-01": "10.0.0.5:9100"},
                              dashboards={"*": "/d/node", "db-01": "d/pg?orgId=1"})
    assert config.dashboard_url("web-01") == "https://g/d/node?var-instance=10.0.0.5%3A9100"
    assert config.dashboard_url("db-01") == "https://g/d/pg?orgId=1&var-instance=db-01"
