"""DockerDeployer against a real Docker Engine API (Podman 4.3) pulling from a real registry.

Images without a healthcheck (``v1``…``v3``) are ready once running; ``h1``…``h3`` declare one that
passes after ``READY_AFTER`` seconds; ``sick``, ``crash``, ``nostart`` and ``slow`` fail in the ways
the engine itself reports (see tests/servers/podman.py). Timeouts are short so a regression fails
in seconds rather than the runner's default two minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from dihya.integrity import IntegrityError
from dihya.runners.base import Progress, RunnerError, RunResult
from dihya.runners.docker_deploy import DEPLOY_STEPS, ROLLBACK_STEPS, DockerDeployer, DockerTarget
from tests.helpers.ports import free_port
from tests.servers.podman import PodmanEngine

pytestmark = pytest.mark.slow

ENV = ("DB_URL=postgres://db/web",)
TIMEOUT_S = 8.0  # a container is running (or healthy: h2 after ~1.5 s) well within this
GRACE_S = 5


class NeverCancelled:
    def cancelled(self) -> bool:
        return False


class CancelAfterStep:
    def __init__(self, progress: list[Progress], step: str) -> None:
        self._progress, self._step = progress, step

    def cancelled(self) -> bool:
        return any(p.name == self._step for p in self._progress)


@pytest.fixture
def client(podman: PodmanEngine) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=podman.url)
    yield client
    client.close()


@pytest.fixture
def allowed(podman: PodmanEngine) -> dict[str, str]:
    return dict(podman.digests)  # the manifest allows exactly what was pushed


@pytest.fixture
def deployer(client: docker.DockerClient, allowed: dict[str, str]) -> DockerDeployer:
    return DockerDeployer(client, allowed.get, stop_grace_s=GRACE_S)


@pytest.fixture
def target(podman: PodmanEngine) -> DockerTarget:
    return DockerTarget("web", podman.repository, ENV)


def deploy(deployer: DockerDeployer, target: DockerTarget, version: str, *, timeout_s: float = TIMEOUT_S,
           cancel_after: str = "") -> tuple[RunResult, list[Progress]]:
    progress: list[Progress] = []
    token = CancelAfterStep(progress, cancel_after) if cancel_after else NeverCancelled()
    return deployer.deploy(target, version, progress.append, token, timeout_s=timeout_s, poll_s=0.1), progress


def run_by_hand(client: docker.DockerClient, podman: PodmanEngine, tag: str) -> Container:
    """A container an operator started before Dihya deployed anything (as ``docker run`` does)."""
    client.images.pull(podman.repository, tag=tag)
    data = podman.directory / "data"
    data.mkdir(exist_ok=True)
    return client.containers.run(podman.ref(tag), name="web", detach=True, environment=list(ENV),
                                 labels={"team": "ops"}, restart_policy={"Name": "unless-stopped"},
                                 volumes={str(data): {"bind": "/data", "mode": "rw"}})


def inspect(client: docker.DockerClient, name: str) -> dict[str, Any]:
    return client.api.inspect_container(name)  # type: ignore[no-any-return]


def env_of(attrs: dict[str, Any]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in attrs["Config"]["Env"])


def names(client: docker.DockerClient) -> set[str]:
    return {c.name for c in client.containers.list(all=True)}


def image_id(client: docker.DockerClient, podman: PodmanEngine, tag: str) -> str:
    return str(client.images.get(f"{podman.repository}@{podman.digests[podman.ref(tag)]}").id)


# -- the flow --------------------------------------------------------------------------------------


def test_first_deploy_creates_the_container_from_the_catalog(
    client: docker.DockerClient, deployer: DockerDeployer, podman: PodmanEngine,
) -> None:
    port = free_port()  # Podman holds published ports even without a network
    target = DockerTarget("web", podman.repository, ENV, (f"127.0.0.1:{port}:8080",))

    result, progress = deploy(deployer, target, "v1")

    assert result.ok, result
    assert [p.name for p in progress] == list(DEPLOY_STEPS)
    web = inspect(client, "web")
    assert web["State"]["Running"]
    assert web["Image"] == image_id(client, podman, "v1")  # pulled by digest from the registry
    assert env_of(web)["DB_URL"] == "postgres://db/web"
    assert env_of(web)["APP_VERSION"] == "v1"
    assert web["HostConfig"]["PortBindings"] == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert web["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert names(client) == {"web"}
    assert result.details["previous_image"] == ""


def test_deploy_of_an_image_without_healthcheck_succeeds_once_running(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget, podman: PodmanEngine,
) -> None:
    old = run_by_hand(client, podman, "v1")
    assert inspect(client, "web")["State"]["Health"]["Status"] == ""  # what Podman says for "no healthcheck"

    result, _ = deploy(deployer, target, "v2")

    assert result.ok, result
    web = inspect(client, "web")
    assert web["Id"] != old.id
    assert web["Image"] == image_id(client, podman, "v2")
    assert env_of(web)["APP_VERSION"] == "v2"
    assert env_of(web)["DB_URL"] == "postgres://db/web"
    assert web["Config"]["Labels"]["team"] == "ops"
    assert [b.split(":")[:2] for b in web["HostConfig"]["Binds"]] == [[str(podman.directory / "data"), "/data"]]
    assert web["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    previous = inspect(client, "web-previous")
    assert previous["Id"] == old.id
    assert not previous["State"]["Running"]


def test_the_replaced_container_is_stopped_with_a_grace_period(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget, podman: PodmanEngine,
) -> None:
    run_by_hand(client, podman, "v1")

    assert deploy(deployer, target, "v2")[0].ok

    previous = inspect(client, "web-previous")
    assert previous["State"]["ExitCode"] == 0  # 137 when it is SIGKILLed at once
    assert b"stopping gracefully" in client.containers.get("web-previous").logs()


def test_the_engine_written_hostname_is_not_copied_to_the_new_container(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget, podman: PodmanEngine,
) -> None:
    old = inspect(client, run_by_hand(client, podman, "v1").id)
    assert env_of(old)["HOSTNAME"] == old["Config"]["Hostname"]

    assert deploy(deployer, target, "v2")[0].ok

    new = inspect(client, "web")
    assert new["Config"]["Hostname"] != old["Config"]["Hostname"]
    assert env_of(new).get("HOSTNAME") in {None, new["Config"]["Hostname"]}


def test_restart_waits_for_the_running_container_and_stops_it_gracefully(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget, podman: PodmanEngine,
) -> None:
    old = run_by_hand(client, podman, "v1")
    progress: list[Progress] = []

    result = deployer.restart(target, progress.append, NeverCancelled(), timeout_s=TIMEOUT_S, poll_s=0.1)

    assert result.ok, result
    assert [p.name for p in progress] == ["restart container", "wait for health"]
    web = inspect(client, "web")
    assert web["Id"] == old.id
    assert web["State"]["Running"]
    assert client.containers.get("web").logs().count(b"stopping gracefully") == 1


def test_rollback_brings_the_previous_container_back(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget, podman: PodmanEngine,
) -> None:
    assert deploy(deployer, target, "v1")[0].ok
    first = inspect(client, "web")["Id"]
    assert deploy(deployer, target, "v2")[0].ok
    progress: list[Progress] = []

    result = deployer.rollback(target, progress.append, NeverCancelled(), timeout_s=TIMEOUT_S, poll_s=0.1)

    assert result.ok, result
    assert [p.name for p in progress] == list(ROLLBACK_STEPS)
    web = inspect(client, "web")
    assert web["Id"] == first
    assert web["State"]["Running"]
    assert env_of(web)["APP_VERSION"] == "v1"
    assert names(client) == {"web"}


def test_a_digest_that_does_not_match_the_manifest_is_refused_before_anything_changes(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget, podman: PodmanEngine,
    allowed: dict[str, str],
) -> None:
    assert deploy(deployer, target, "v1")[0].ok
    before = inspect(client, "web")
    allowed[podman.ref("v2")] = podman.digests[podman.ref("v3")]  # reviewed v3; the registry's v2 is not it

    with pytest.raises(IntegrityError) as refused:
        deploy(deployer, target, "v2")

    assert refused.value.message.params["expected"] == podman.digests[podman.ref("v3")]
    assert refused.value.message.params["actual"] == podman.digests[podman.ref("v2")]
    after = inspect(client, "web")
    assert after["Id"] == before["Id"]
    assert after["State"]["Running"]
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"]
    assert names(client) == {"web"}


def test_the_flow_with_a_healthcheck(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget, podman: PodmanEngine,
) -> None:
    assert deploy(deployer, target, "h1")[0].ok
    first = inspect(client, "web")["Id"]

    result, _ = deploy(deployer, target, "h2")  # healthy about a second after it starts

    assert result.ok, result
    assert inspect(client, "web")["State"]["Health"]["Status"] == "healthy"
    assert deployer.restart(target, lambda p: None, NeverCancelled(), timeout_s=TIMEOUT_S, poll_s=0.1).ok
    assert deployer.rollback(target, lambda p: None, NeverCancelled(), timeout_s=TIMEOUT_S, poll_s=0.1).ok
    web = inspect(client, "web")
    assert web["Id"] == first
    assert web["State"]["Health"]["Status"] == "healthy"


def test_deploy_replaces_an_older_previous_container(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget, podman: PodmanEngine,
) -> None:
    for version in ("v1", "v2"):
        assert deploy(deployer, target, version)[0].ok
    second = inspect(client, "web")["Id"]

    assert deploy(deployer, target, "v3")[0].ok

    assert inspect(client, "web-previous")["Id"] == second
    assert names(client) == {"web", "web-previous"}


# -- failures the engine reports -----------------------------------------------------------------


@pytest.mark.parametrize(("version", "step", "reason", "timed_out"), [
    ("sick", "wait for health", "unhealthy", False),
    ("crash", "wait for health", "restarted by its restart policy", False),
    ("nostart", "start new container", "no-such-program", False),
    ("slow", "wait for health", "not healthy after", True),
])
def test_a_failing_new_container_is_removed_and_the_previous_one_restored(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget, podman: PodmanEngine,
    version: str, step: str, reason: str, timed_out: bool,
) -> None:
    assert deploy(deployer, target, "v1")[0].ok
    first = inspect(client, "web")["Id"]

    result, _ = deploy(deployer, target, version, timeout_s=3.0)

    assert not result.ok
    assert result.failed_step == step
    assert reason in result.log_excerpt
    assert result.timed_out is timed_out
    assert result.summary.msgid.endswith("the previous container is running again")
    web = inspect(client, "web")
    assert web["Id"] == first
    assert web["State"]["Running"]
    assert names(client) == {"web"}


def test_a_failed_first_deploy_leaves_no_container(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget,
) -> None:
    result, _ = deploy(deployer, target, "sick")

    assert not result.ok
    assert result.summary.msgid.endswith("the new container was removed")
    assert names(client) == set()


def test_a_tag_the_registry_does_not_have_fails_at_pull_and_changes_nothing(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget, podman: PodmanEngine,
    allowed: dict[str, str],
) -> None:
    assert deploy(deployer, target, "v1")[0].ok
    first = inspect(client, "web")["Id"]
    allowed[podman.ref("v9")] = podman.digests[podman.ref("v2")]

    result, _ = deploy(deployer, target, "v9")

    assert not result.ok
    assert result.failed_step == "pull image"
    assert "manifest unknown" in result.log_excerpt
    assert result.summary.msgid.endswith("nothing was changed")
    assert inspect(client, "web")["Id"] == first
    assert names(client) == {"web"}


def test_cancel_after_starting_the_new_container_restores_the_previous_one(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget,
) -> None:
    assert deploy(deployer, target, "v1")[0].ok
    first = inspect(client, "web")["Id"]

    result, progress = deploy(deployer, target, "h3", cancel_after="start new container")

    assert result.cancelled
    assert progress[-1].name == "start new container"
    assert inspect(client, "web")["Id"] == first
    assert inspect(client, "web")["State"]["Running"]
    assert names(client) == {"web"}


def test_rollback_without_a_previous_container_is_refused(
    client: docker.DockerClient, deployer: DockerDeployer, target: DockerTarget,
) -> None:
    assert deploy(deployer, target, "v1")[0].ok

    with pytest.raises(RunnerError):
        deployer.rollback(target, lambda p: None, NeverCancelled())

    assert inspect(client, "web")["State"]["Running"]
