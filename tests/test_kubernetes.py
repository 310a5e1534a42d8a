"""``deploy/kubernetes/`` (issue 16): Kubernetes does not run here, so the manifests are validated
offline against the API schemas ``kubernetes-validate`` ships, then checked against each other and
against Dihya itself (its CLI, its settings, its HTTP routes)."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kv

from dihya.app import App
from dihya.cli import _parser
from dihya.http import build_http
from dihya.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUBERNETES = "1.30"
Doc = dict[str, Any]


@pytest.fixture(scope="module")
def docs() -> list[Doc]:
    found = [d for path in sorted(MANIFESTS.glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]
    assert found
    return found


def one(docs: list[Doc], kind: str, name: str) -> Doc:
    [found] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_every_manifest_is_valid_for_the_kubernetes_api(docs: list[Doc]) -> None:
    for doc in docs:
        kv.validate(doc, KUBERNETES, strict=True)  # raises on an unknown field or a wrong type


def test_the_validator_refuses_a_broken_manifest(docs: list[Doc]) -> None:
    """The check above is real: a misspelt field or a wrong type is refused, offline."""
    broken = copy.deepcopy(one(docs, "Deployment", "dihya-bot"))
    broken["spec"]["replica"] = 2
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, KUBERNETES, strict=True)
    broken = copy.deepcopy(one(docs, "Deployment", "dihya-bot"))
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eighty"
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, KUBERNETES, strict=True)


def test_the_kinds_dihya_needs(docs: list[Doc]) -> None:
    assert {(d["kind"], d["metadata"]["name"]) for d in docs} >= {
        ("Deployment", "dihya-bot"), ("Deployment", "dihya-worker"), ("Service", "dihya-bot"),
        ("PodDisruptionBudget", "dihya-bot"), ("ConfigMap", "dihya-settings"), ("Secret", "dihya-secrets")}


def test_two_bot_replicas_probed_on_health_and_readiness(docs: list[Doc], app: App) -> None:
    bot = one(docs, "Deployment", "dihya-bot")
    assert bot["spec"]["replicas"] == 2
    [container] = bot["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert named[container["readinessProbe"]["httpGet"]["port"]] == int(
        one(docs, "ConfigMap", "dihya-settings")["data"]["DIHYA_HTTP_PORT"])
    routes = {getattr(route, "path", None) for route in build_http(app).routes}
    assert {"/healthz", "/readyz"} <= routes


def test_every_container_command_exists_in_the_cli(docs: list[Doc]) -> None:
    commands = [c["command"] for d in docs if d["kind"] == "Deployment"
                for c in d["spec"]["template"]["spec"]["containers"]]
    assert ["dihya", "serve"] in commands
    for command in commands:
        assert command[0] == "dihya"
        _parser().parse_args(command[1:])  # exits on an unknown subcommand or flag


def test_settings_are_dihya_settings_and_pods_read_them(docs: list[Doc]) -> None:
    known = {f"DIHYA_{name.upper()}" for name in Settings.model_fields}
    config, secret = one(docs, "ConfigMap", "dihya-settings"), one(docs, "Secret", "dihya-secrets")
    assert set(config["data"]) <= known
    assert set(secret["stringData"]) <= known
    assert config["data"]["DIHYA_JOBS"] == "celery"  # replicas share their jobs through the queue
    assert not {"DIHYA_DATABASE_URL", "DIHYA_SECRET_KEY"} & set(config["data"])  # secrets stay in the Secret
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
            assert sources == {"dihya-settings", "dihya-secrets"}


def test_the_service_and_the_disruption_budget_select_the_bot_pods(docs: list[Doc]) -> None:
    pods = one(docs, "Deployment", "dihya-bot")["spec"]["template"]["metadata"]["labels"]
    service, budget = one(docs, "Service", "dihya-bot"), one(docs, "PodDisruptionBudget", "dihya-bot")
    assert service["spec"]["selector"].items() <= pods.items()
    assert budget["spec"]["selector"]["matchLabels"].items() <= pods.items()
    assert budget["spec"]["minAvailable"] < one(docs, "Deployment", "dihya-bot")["spec"]["replicas"]
    worker = one(docs, "Deployment", "dihya-worker")["spec"]["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= worker.items()  # workers serve no HTTP
