"""docker-compose.yml stays valid: no Docker engine runs here, so check its shape and that every
command it runs is a real ``dihya`` subcommand."""

from pathlib import Path

import pytest
import yaml

from dihya.cli import _parser

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_of_the_multi_machine_shape(compose: dict) -> None:  # type: ignore[type-arg]
    assert {"bot", "worker", "redis", "postgres", "migrate"} <= set(compose["services"])


def test_every_dihya_command_parses(compose: dict) -> None:  # type: ignore[type-arg]
    for name, service in compose["services"].items():
        command = service.get("command", [])
        if command[:1] == ["dihya"]:
            _parser().parse_args(command[1:])  # exits on an unknown subcommand or flag
            assert service["environment"]["DIHYA_JOBS"] == "celery", name


def test_dependencies_name_existing_services(compose: dict) -> None:  # type: ignore[type-arg]
    services = set(compose["services"])
    for service in compose["services"].values():
        assert set(service.get("depends_on", {})) <= services


def test_dockerfile_copies_what_the_app_loads() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("bot", "adapters", "commands", "dihya", "locales", "content"):
        assert f"COPY {folder} " in dockerfile
