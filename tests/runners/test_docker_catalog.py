"""A Docker service's catalog entry: what the first deploy creates a container with, and what it can do."""

from __future__ import annotations

import pytest

from dihya.config_file import service_catalog
from dihya.settings import SettingsError


def shop(**extra: object) -> dict[str, object]:
    spec = {"runner": "docker", "container": "shop", "image": "registry.example.org/shop", **extra}
    return {"services": {"shop": {"staging": spec}}}


def test_env_and_ports_are_read_as_lists() -> None:
    entry = service_catalog(shop(env=["DB_URL=postgres://db/shop", "EMPTY="], ports=["8080:80", "127.0.0.1:53:53/udp"]))
    found = entry.deployment("shop", "staging")
    assert found.env == ("DB_URL=postgres://db/shop", "EMPTY=")
    assert found.ports == ("8080:80", "127.0.0.1:53:53/udp")
    assert "env" not in found.params and "ports" not in found.params


@pytest.mark.parametrize("extra", [{"env": "A=1"}, {"env": ["A"]}, {"env": ["1A=x"]}, {"env": ["A=1\nB=2"]},
                                   {"ports": ["80"]}, {"ports": [8080]}, {"ports": ["80:80/sctp"]}])
def test_malformed_env_or_ports_stop_the_start(extra: dict[str, object]) -> None:
    with pytest.raises(SettingsError, match=next(iter(extra))):
        service_catalog(shop(**extra))


@pytest.mark.parametrize(("runner", "kind", "supported"), [
    ("docker", "deploy", True), ("docker", "restart", True), ("docker", "rollback", True), ("docker", "scale", False),
    ("kubernetes", "scale", True),
])
def test_what_each_container_runner_supports(runner: str, kind: str, supported: bool) -> None:
    entry = service_catalog({"services": {"s": {"e": {"runner": runner}}}}).deployment("s", "e")
    assert entry.supports(kind) is supported


def test_an_ansible_entry_supports_the_kinds_it_has_playbooks_for() -> None:
    entry = service_catalog({"services": {"s": {"e": {"runner": "ansible", "playbook": "d.yml",
                                                      "restart_playbook": "r.yml"}}}}).deployment("s", "e")
    assert [k for k in ("deploy", "rollback", "restart", "scale") if entry.supports(k)] == ["deploy", "restart"]
