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


# -- issue 16: two bot replicas, two workers, an optional RabbitMQ ---------------------------------
def test_two_bot_replicas_and_two_workers(compose: dict) -> None:  # type: ignore[type-arg]
    services = compose["services"]
    assert services["bot"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    first, last = services["bot"]["ports"][0].split(":")[0].split("-")
    assert int(last) - int(first) + 1 >= services["bot"]["deploy"]["replicas"]  # no two replicas on one host port


def test_the_bot_healthcheck_asks_for_readiness(compose: dict) -> None:  # type: ignore[type-arg]
    assert "/readyz" in " ".join(compose["services"]["bot"]["healthcheck"]["test"])


def test_rabbitmq_is_optional_and_needs_a_longer_delivery_timeout(compose: dict) -> None:  # type: ignore[type-arg]
    rabbitmq = compose["services"]["rabbitmq"]
    assert rabbitmq["profiles"] == ["rabbitmq"]  # started only with --profile rabbitmq
    assert "consumer_timeout" in rabbitmq["environment"]["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]
    for name in ("bot", "worker"):  # Redis stays required (nudges, delivery ids); RabbitMQ does not
        assert "rabbitmq" not in compose["services"][name].get("depends_on", {})
    assert {"redis-data", "postgres-data", "rabbitmq-data"} <= set(compose["volumes"])
