"""KubernetesDeployer drives the official kubernetes client against a fake API server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kubernetes.client
import pytest

from dihya.integrity import IntegrityError
from dihya.runners.base import Progress, RunnerError, RunResult
from dihya.runners.kube_deploy import PREVIOUS_IMAGE_ANNOTATION, KubernetesDeployer, KubeTarget
from tests.fakes.kube_api import STRATEGIC_MERGE_PATCH, FakeKubernetesApi

WEB = KubeTarget(namespace="shop", deployment="web", container="web", image="registry.example.org/web")
V1, V2 = "registry.example.org/web:v1", "registry.example.org/web:v2"
DIGEST = "sha256:" + "ab" * 32
INJECTIONS = ["; rm -rf /", "--kubeconfig=x", "-v", "v1\n", "v1\nrm -rf /", "{{ x }}", "v 1", "", "$(id)"]


class NeverCancelled:
    def cancelled(self) -> bool:
        return False


class CancelAfterReport:
    """Asks to cancel once the named progress report has been seen."""

    def __init__(self, progress: list[Progress], name: str) -> None:
        self._progress, self._name = progress, name

    def cancelled(self) -> bool:
        return any(p.name == self._name for p in self._progress)


@pytest.fixture
def cluster() -> Iterator[FakeKubernetesApi]:
    fake = FakeKubernetesApi()
    fake.add_deployment("shop", "web", "web", V1)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def api_client(cluster: FakeKubernetesApi) -> Iterator[kubernetes.client.ApiClient]:
    with kubernetes.client.ApiClient(kubernetes.client.Configuration(host=cluster.url)) as client:
        yield client


@pytest.fixture
def deployer(api_client: kubernetes.client.ApiClient) -> KubernetesDeployer:
    return KubernetesDeployer(api_client)


def deploy(deployer: KubernetesDeployer, version: str = "v2", target: KubeTarget = WEB,
           cancel_after: str = "", **options: Any) -> tuple[RunResult, list[Progress]]:
    progress: list[Progress] = []
    token = CancelAfterReport(progress, cancel_after) if cancel_after else NeverCancelled()
    return deployer.deploy(target, version, progress.append, token, poll_s=0.001, **options), progress


def rollback(deployer: KubernetesDeployer, **options: Any) -> tuple[RunResult, list[Progress]]:
    progress: list[Progress] = []
    return deployer.rollback(WEB, progress.append, NeverCancelled(), poll_s=0.001, **options), progress


def test_deploy_patches_the_image_and_follows_the_rollout(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer,
) -> None:
    result, progress = deploy(deployer)

    assert result.ok, result
    assert result.details["previous_image"] == V1
    assert [p.name for p in progress] == [
        "read deployment", "patch image", "roll out",
        "0 of 3 replicas updated", "1 of 3 replicas updated", "2 of 3 replicas updated", "3 of 3 replicas updated",
    ]
    assert {(p.step, p.total) for p in progress[2:]} == {(3, 3)}
    assert cluster.image_of("shop", "web", "web") == V2
    assert cluster.image_of("shop", "web", "log-shipper") == "fluent/fluent-bit:3"  # merged by name
    assert cluster.annotations_of("shop", "web") == {PREVIOUS_IMAGE_ANNOTATION: V1}


def test_deploy_sends_one_strategic_merge_patch(cluster: FakeKubernetesApi, deployer: KubernetesDeployer) -> None:
    deploy(deployer)

    [patch] = cluster.patches()
    assert patch.path == "/apis/apps/v1/namespaces/shop/deployments/web"
    assert patch.content_type == STRATEGIC_MERGE_PATCH
    assert patch.body == {
        "metadata": {"annotations": {PREVIOUS_IMAGE_ANNOTATION: V1}},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": V2}]}}},
    }


def test_stale_status_is_not_taken_for_a_finished_rollout(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer,
) -> None:
    # Right after the patch the status still shows 3/3 ready for the old generation.
    result, progress = deploy(deployer)

    assert result.ok
    reads_after_patch = cluster.calls("GET")[1:]
    assert len(reads_after_patch) == 4  # stale (old generation), then 1, 2 and 3 of 3 updated
    assert progress[3].name == "0 of 3 replicas updated"


def test_rollout_timeout_puts_the_previous_image_back(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer,
) -> None:
    cluster.failing_images.add(V2)

    result, progress = deploy(deployer, timeout_s=0.05)

    assert not result.ok
    assert result.timed_out
    assert result.failed_step == "roll out"
    assert progress[-1] == Progress(4, 4, "roll back to previous image")
    assert cluster.image_of("shop", "web", "web") == V1
    assert cluster.annotations_of("shop", "web") == {}  # the note written by the failed deploy is gone
    assert [p.body["spec"]["template"]["spec"]["containers"][0]["image"] for p in cluster.patches()] == [V2, V1]


def test_progress_deadline_exceeded_rolls_back_without_waiting_for_the_timeout(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer,
) -> None:
    cluster.failing_images.add(V2)
    cluster.deadline_after = 3

    result, _ = deploy(deployer, timeout_s=30)

    assert not result.ok
    assert not result.timed_out
    assert "ProgressDeadlineExceeded" in result.log_excerpt
    assert result.summary.params["previous"] == V1
    assert cluster.image_of("shop", "web", "web") == V1


def test_failed_deploy_keeps_an_earlier_note(cluster: FakeKubernetesApi, deployer: KubernetesDeployer) -> None:
    assert deploy(deployer)[0].ok
    cluster.failing_images.add("registry.example.org/web:v3")

    result, _ = deploy(deployer, "v3", timeout_s=0.05)

    assert not result.ok
    assert cluster.image_of("shop", "web", "web") == V2
    assert cluster.annotations_of("shop", "web") == {PREVIOUS_IMAGE_ANNOTATION: V1}


def test_forbidden_patch_is_reported_and_changes_nothing(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer,
) -> None:
    cluster.forbid_patches = True

    result, _ = deploy(deployer)

    assert not result.ok
    assert result.failed_step == "patch image"
    assert result.log_excerpt == "HTTP 403 Forbidden"
    assert cluster.image_of("shop", "web", "web") == V1


def test_cancel_during_the_rollout_rolls_back(cluster: FakeKubernetesApi, deployer: KubernetesDeployer) -> None:
    result, progress = deploy(deployer, cancel_after="1 of 3 replicas updated")

    assert result.cancelled
    assert not result.ok
    assert progress[-1].name == "roll back to previous image"
    assert cluster.image_of("shop", "web", "web") == V1


def test_cancel_before_the_patch_changes_nothing(cluster: FakeKubernetesApi, deployer: KubernetesDeployer) -> None:
    result, _ = deploy(deployer, cancel_after="read deployment")

    assert result.cancelled
    assert cluster.patches() == []


def test_rollback_goes_to_the_recorded_image_and_back_again(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer,
) -> None:
    assert deploy(deployer)[0].ok

    result, progress = rollback(deployer)

    assert result.ok, result
    assert progress[-1].name == "3 of 3 replicas updated"
    assert cluster.image_of("shop", "web", "web") == V1
    assert cluster.annotations_of("shop", "web") == {PREVIOUS_IMAGE_ANNOTATION: V2}
    assert rollback(deployer)[0].ok
    assert cluster.image_of("shop", "web", "web") == V2


def test_redeploying_the_running_version_keeps_the_way_back(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer,
) -> None:
    assert deploy(deployer)[0].ok
    assert deploy(deployer)[0].ok  # same version again: nothing to roll out, the note must survive

    assert rollback(deployer)[0].ok
    assert cluster.image_of("shop", "web", "web") == V1


def test_rollback_without_a_recorded_image_is_refused(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer,
) -> None:
    with pytest.raises(RunnerError):
        rollback(deployer)

    assert cluster.patches() == []


def test_rollback_refuses_a_tampered_note(cluster: FakeKubernetesApi, deployer: KubernetesDeployer) -> None:
    cluster.add_deployment("shop", "web", "web", V1, annotations={PREVIOUS_IMAGE_ANNOTATION: "evil; rm -rf /"})

    with pytest.raises(RunnerError):
        rollback(deployer)

    assert cluster.patches() == []


def test_rollback_that_does_not_roll_out_fails(cluster: FakeKubernetesApi, deployer: KubernetesDeployer) -> None:
    assert deploy(deployer)[0].ok
    cluster.failing_images.add(V1)

    result, _ = rollback(deployer, timeout_s=0.05)

    assert not result.ok
    assert result.timed_out
    assert result.failed_step == "roll out"


def test_missing_deployment_or_container_is_refused(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer,
) -> None:
    with pytest.raises(RunnerError):
        deploy(deployer, target=KubeTarget("shop", "api", "api", WEB.image))
    with pytest.raises(RunnerError):
        deploy(deployer, target=KubeTarget("shop", "web", "api", WEB.image))

    assert cluster.patches() == []


def test_allowed_digests_pin_the_image(cluster: FakeKubernetesApi, api_client: kubernetes.client.ApiClient) -> None:
    deployer = KubernetesDeployer(api_client, {V2: DIGEST}.get)

    result, _ = deploy(deployer)

    assert result.ok
    assert cluster.image_of("shop", "web", "web") == f"{V2}@{DIGEST}"
    with pytest.raises(IntegrityError):
        deploy(deployer, "v3")
    assert len(cluster.patches()) == 1


@pytest.mark.parametrize("version", [*INJECTIONS, "a" * 129])
def test_hostile_version_is_refused_before_any_request(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer, version: str,
) -> None:
    with pytest.raises(RunnerError):
        deploy(deployer, version)

    assert cluster.requests == []


@pytest.mark.parametrize("field", ["namespace", "deployment", "container", "image"])
@pytest.mark.parametrize("value", [*INJECTIONS, "Web", "web.", "web\u200b"])
def test_hostile_target_is_refused_before_any_request(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer, field: str, value: str,
) -> None:
    assert_refused_before_any_request(cluster, deployer, _replace(WEB, field, value))


@pytest.mark.parametrize(("field", "value"), [("namespace", "a" * 64), ("container", "a" * 64),
                                              ("deployment", "a" * 254)])
def test_overlong_names_are_refused_before_any_request(
    cluster: FakeKubernetesApi, deployer: KubernetesDeployer, field: str, value: str,
) -> None:
    assert_refused_before_any_request(cluster, deployer, _replace(WEB, field, value))


def assert_refused_before_any_request(cluster: FakeKubernetesApi, deployer: KubernetesDeployer,
                                      target: KubeTarget) -> None:
    with pytest.raises(RunnerError):
        deploy(deployer, target=target)
    with pytest.raises(RunnerError):
        deployer.rollback(target, lambda p: None, NeverCancelled())
    assert cluster.requests == []


def _replace(target: KubeTarget, field: str, value: str) -> KubeTarget:
    values = {"namespace": target.namespace, "deployment": target.deployment,
              "container": target.container, "image": target.image, field: value}
    return KubeTarget(**values)


def test_restart_rolls_every_pod_like_kubectl(cluster: FakeKubernetesApi, deployer: KubernetesDeployer) -> None:
    progress: list[Progress] = []
    result = deployer.restart(WEB, progress.append, NeverCancelled(), poll_s=0.001)
    assert result.ok, result
    [patch] = cluster.patches()
    assert "kubectl.kubernetes.io/restartedAt" in str(patch.body)
    assert cluster.image_of("shop", "web", "web") == V1  # the image does not change
    assert progress[-1].name == "3 of 3 replicas updated"


def test_scale_sets_the_replicas_and_follows_the_rollout(cluster: FakeKubernetesApi,
                                                         deployer: KubernetesDeployer) -> None:
    progress: list[Progress] = []
    result = deployer.scale(WEB, 5, progress.append, NeverCancelled(), poll_s=0.001)
    assert result.ok, result
    assert cluster.deployments["shop", "web"]["spec"]["replicas"] == 5
    assert progress[-1].name == "5 of 5 replicas updated"


def test_scale_refuses_absurd_counts_before_any_request(cluster: FakeKubernetesApi,
                                                        deployer: KubernetesDeployer) -> None:
    with pytest.raises(RunnerError):
        deployer.scale(WEB, 100_000, lambda p: None, NeverCancelled())
    assert cluster.patches() == []
