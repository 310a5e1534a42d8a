"""DockerDeployer drives the real docker SDK against a fake Docker Engine API.

Only what a real engine cannot show is tested here: which requests were (not) sent, and Docker's
own ways of saying "no healthcheck" (Podman's is tested for real in test_docker_engine.py, with
the deploy, restart and rollback flow and every failure the engine can produce).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest

from dihya.integrity import IntegrityError
from dihya.runners.base import Progress, RunnerError
from dihya.runners.docker_deploy import STOP_GRACE_S, DockerDeployer, DockerTarget
from tests.fakes.docker_api import FakeDockerEngine, digest_of

WEB = DockerTarget(container="web", image="registry.example.org/web")
V1, V2 = "registry.example.org/web:v1", "registry.example.org/web:v2"
PORTS = {"8080/tcp": [{"HostIp": "", "HostPort": "80"}]}
INJECTIONS = ["; rm -rf /", "--kubeconfig=x", "-v", "v1\n", "v1\nrm -rf /", "{{ x }}", "v 1", "", "$(id)", "a" * 129]


class NeverCancelled:
    def cancelled(self) -> bool:
        return False


class CancelAfterStep:
    """Asks to cancel once the named step has been reported."""

    def __init__(self, progress: list[Progress], step: str) -> None:
        self._progress, self._step = progress, step

    def cancelled(self) -> bool:
        return any(p.name == self._step for p in self._progress)


@pytest.fixture
def engine() -> Iterator[FakeDockerEngine]:
    fake = FakeDockerEngine()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def client(engine: FakeDockerEngine) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=engine.url)
    engine.clear_requests()  # the client asked for /version while connecting
    yield client
    client.close()


@pytest.fixture
def old_id(engine: FakeDockerEngine) -> str:
    engine.load(V1, env=["PATH=/usr/bin", "APP_VERSION=1"], labels={"org.opencontainers.image.version": "1"})
    return engine.run_container("web", V1, env=["PATH=/usr/bin", "APP_VERSION=1", "DB_URL=postgres://db/web",
                                                "HOSTNAME=0123456789ab"],  # the engine writes HOSTNAME
                                labels={"org.opencontainers.image.version": "1", "team": "ops"},
                                port_bindings=PORTS, binds=["/srv/web:/data:rw"])


@pytest.fixture
def allowed(engine: FakeDockerEngine) -> dict[str, str]:
    return {}


@pytest.fixture
def deployer(client: docker.DockerClient, allowed: dict[str, str]) -> DockerDeployer:
    return DockerDeployer(client, allowed.get)


def publish_allowed(engine: FakeDockerEngine, allowed: dict[str, str], ref: str, **options: Any) -> str:
    allowed[ref] = engine.publish(ref, env=["PATH=/usr/bin", "APP_VERSION=2"], **options)
    return allowed[ref]


def deploy(deployer: DockerDeployer, version: str = "v2", **options: Any) -> tuple[Any, list[Progress]]:
    progress: list[Progress] = []
    cancel = options.pop("cancel_after", None)
    token = CancelAfterStep(progress, cancel) if cancel else NeverCancelled()
    result = deployer.deploy(WEB, version, progress.append, token, poll_s=0.001, **options)
    return result, progress


def live(engine: FakeDockerEngine, name: str = "web") -> dict[str, Any]:
    container = engine.container(name)
    assert container is not None, f"no container {name}"
    return container


def test_deploy_asks_the_engine_in_order(
    engine: FakeDockerEngine, deployer: DockerDeployer, allowed: dict[str, str], old_id: str,
) -> None:
    publish_allowed(engine, allowed, V2)

    deploy(deployer)

    pulls = [r for r in engine.requests if r.path.endswith("/images/create")]
    assert [(r.query["fromImage"], r.query["tag"]) for r in pulls] == [("registry.example.org/web", "v2")]
    steps = [(m, p.split("/", 2)[2]) for m, p in engine.mutations()]
    new_id = live(engine)["Id"]
    assert steps == [
        ("POST", f"containers/{old_id}/stop"),
        ("POST", f"containers/{old_id}/rename"),
        ("POST", "containers/create"),
        ("POST", f"containers/{new_id}/start"),
    ]
    stop = next(r for r in engine.requests if r.path.endswith("/stop"))
    assert stop.query == {"t": str(STOP_GRACE_S)}  # explicit: an engine's StopTimeout may be 0
    create = next(r for r in engine.requests if r.path.endswith("/containers/create"))
    assert create.query == {"name": "web"}
    assert create.body["Env"] == ["DB_URL=postgres://db/web"]  # neither the image's env nor HOSTNAME


@pytest.mark.parametrize("status", [None, "none"])
def test_docker_s_ways_of_saying_no_healthcheck_mean_ready_when_running(
    engine: FakeDockerEngine, deployer: DockerDeployer, allowed: dict[str, str], old_id: str, status: str | None,
) -> None:
    engine.no_healthcheck_status = status
    publish_allowed(engine, allowed, V2, healthcheck=False)

    result, _ = deploy(deployer, timeout_s=5)

    assert result.ok, result
    assert live(engine)["State"].get("Health") == (None if status is None else {"Status": status})


@pytest.mark.parametrize(("env", "ports"), [(("BAD NAME=x",), ()), (("A=1\nB=2",), ()), (("=x",), ()),
                                            ((), ("80",)), ((), ("80:80/sctp",)), ((), ("-p 80:80",))])
def test_hostile_catalog_env_or_ports_are_refused_before_any_request(
    engine: FakeDockerEngine, deployer: DockerDeployer, allowed: dict[str, str],
    env: tuple[str, ...], ports: tuple[str, ...],
) -> None:
    allowed[V2] = digest_of("anything")

    with pytest.raises(RunnerError):
        deployer.deploy(DockerTarget("web", WEB.image, env, ports), "v2", lambda p: None, NeverCancelled())

    assert engine.requests == []


def test_digest_mismatch_is_refused_and_no_container_is_touched(
    engine: FakeDockerEngine, deployer: DockerDeployer, allowed: dict[str, str], old_id: str,
) -> None:
    engine.publish(V2, digest_of("what the registry serves today"))
    allowed[V2] = digest_of("what was reviewed")

    with pytest.raises(IntegrityError) as refused:
        deploy(deployer)

    assert refused.value.message.params["expected"] == allowed[V2]
    assert engine.mutations() == []
    assert live(engine)["Id"] == old_id
    assert live(engine)["State"]["Running"] is True


def test_image_not_in_the_allowed_list_is_refused_before_any_request(
    engine: FakeDockerEngine, deployer: DockerDeployer, old_id: str,
) -> None:
    engine.publish(V2)

    with pytest.raises(IntegrityError) as refused:
        deploy(deployer)

    assert refused.value.message.params == {"ref": V2}
    assert engine.requests == []


def test_malformed_allowed_digest_is_refused_before_any_request(
    engine: FakeDockerEngine, deployer: DockerDeployer, allowed: dict[str, str], old_id: str,
) -> None:
    allowed[V2] = "sha256:not-a-digest"

    with pytest.raises(IntegrityError):
        deploy(deployer)

    assert engine.requests == []


def test_cancel_before_replacing_changes_nothing(
    engine: FakeDockerEngine, deployer: DockerDeployer, allowed: dict[str, str], old_id: str,
) -> None:
    publish_allowed(engine, allowed, V2)

    result, progress = deploy(deployer, cancel_after="verify digest")

    assert result.cancelled
    assert not result.ok
    assert [p.name for p in progress] == ["pull image", "verify digest"]
    assert engine.mutations() == []


def test_rollback_without_a_previous_container_is_refused(
    engine: FakeDockerEngine, deployer: DockerDeployer, old_id: str,
) -> None:
    with pytest.raises(RunnerError):
        deployer.rollback(WEB, lambda p: None, NeverCancelled())

    assert engine.mutations() == []
    assert live(engine)["State"]["Running"] is True


@pytest.mark.parametrize("version", INJECTIONS)
def test_hostile_version_is_refused_before_any_request(
    engine: FakeDockerEngine, deployer: DockerDeployer, allowed: dict[str, str], version: str,
) -> None:
    allowed[f"{WEB.image}:{version}"] = digest_of("anything")  # even a listed ref must be well formed

    with pytest.raises(RunnerError):
        deployer.deploy(WEB, version, lambda p: None, NeverCancelled())

    assert engine.requests == []


@pytest.mark.parametrize("name", INJECTIONS)
def test_hostile_container_name_is_refused_before_any_request(
    engine: FakeDockerEngine, deployer: DockerDeployer, allowed: dict[str, str], name: str,
) -> None:
    allowed[V2] = digest_of("anything")
    target = DockerTarget(container=name, image=WEB.image)

    with pytest.raises(RunnerError):
        deployer.deploy(target, "v2", lambda p: None, NeverCancelled())
    with pytest.raises(RunnerError):
        deployer.rollback(target, lambda p: None, NeverCancelled())

    assert engine.requests == []


@pytest.mark.parametrize("image", ["registry.example.org/web;rm", "-v", "Registry/Web", "web:v1", "web@sha256:1",
                                   "registry.example.org/web\n", "{{ x }}"])
def test_hostile_image_repository_is_refused_before_any_request(
    engine: FakeDockerEngine, deployer: DockerDeployer, allowed: dict[str, str], image: str,
) -> None:
    allowed[f"{image}:v2"] = digest_of("anything")

    with pytest.raises(RunnerError):
        deployer.deploy(DockerTarget(container="web", image=image), "v2", lambda p: None, NeverCancelled())

    assert engine.requests == []


def test_restart_of_a_missing_container_is_refused(deployer: DockerDeployer) -> None:
    with pytest.raises(RunnerError, match="no container"):
        deployer.restart(WEB, lambda p: None, NeverCancelled(), poll_s=0.001)
