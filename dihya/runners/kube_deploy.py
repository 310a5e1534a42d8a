"""Deploy an image to a Kubernetes Deployment: patch the container image, follow the rollout, roll back.

The image the container ran before is written to the ``dihya.io/previous-image`` annotation in the
same patch, so ``rollback`` knows where to go back to. The rollout is followed the way
``kubectl rollout status`` does: the controller must have seen the new generation, and every
replica must be updated, ready and available. Values are checked against allow patterns and sent
as request data; nothing goes through a shell.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes.client import ApiClient, AppsV1Api, V1Deployment, V1DeploymentCondition
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from bot.i18n import N_, Msg
from dihya.integrity import IntegrityError
from dihya.runners.base import CancelToken, ProgressSink, RunnerError, RunResult
from dihya.runners.steps import (
    DIGEST,
    MAX_EXCERPT,
    REPOSITORY,
    REPOSITORY_RE,
    VERSION,
    Cancelled,
    DigestLookup,
    StepFailed,
    Steps,
    excerpt,
    require,
    stopped,
)

PREVIOUS_IMAGE_ANNOTATION = "dihya.io/previous-image"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"  # what `kubectl rollout restart` sets
MAX_REPLICAS = 1000
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"

_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_LABEL = re.compile(_DNS_LABEL)
_SUBDOMAIN = re.compile(rf"(?=.{{1,253}}$){_DNS_LABEL}(?:\.{_DNS_LABEL})*")
_IMAGE_REF = re.compile(rf"{REPOSITORY}(?::[A-Za-z0-9][A-Za-z0-9._-]{{0,127}})?(?:@sha256:[a-f0-9]{{64}})?")

# Faults of the API call itself: HTTP errors, the connection, or a response the models cannot read.
_API_FAULTS = (ApiException, HTTPError, OSError, ValueError)

READ, PATCH, ROLLOUT, ROLL_BACK = "read deployment", "patch image", "roll out", "roll back to previous image"


@dataclass(frozen=True, slots=True)
class KubeTarget:
    namespace: str
    deployment: str
    container: str  # name of the container in the pod template
    image: str  # repository without tag, e.g. "registry.example.org/web"

    def ref(self, version: str) -> str:
        return f"{self.image}:{version}"


@dataclass(frozen=True, slots=True)
class RolloutStatus:
    desired: int
    updated: int  # 0 until the controller has observed the latest generation
    complete: bool
    deadline_exceeded: str  # the condition's message when the progress deadline passed, else ""


def check_target(target: KubeTarget) -> None:
    """Refuse anything that is not a plain Kubernetes name or image repository, before any request."""
    require(_LABEL, target.namespace, N_("namespace"))
    require(_SUBDOMAIN, target.deployment, N_("deployment name"))
    require(_LABEL, target.container, N_("container name"))
    require(REPOSITORY_RE, target.image, N_("image repository"))


def check_version(version: str) -> None:
    require(VERSION, version, N_("version"))





class KubernetesDeployer:
    """Sets a Deployment's container image and follows the rollout; puts the old image back on failure.

    With ``allowed_digest`` (image ref → expected ``sha256:`` digest, None when not allowed), only
    listed versions deploy, and the image is pinned as ``repo:tag@digest`` so the kubelet checks it.
    """

    __slots__ = ("_allowed_digest", "_apps")

    def __init__(self, api_client: ApiClient, allowed_digest: DigestLookup | None = None) -> None:
        self._apps = AppsV1Api(api_client)
        self._allowed_digest = allowed_digest

    def deploy(
        self, target: KubeTarget, version: str, progress: ProgressSink, cancel: CancelToken,
        *, timeout_s: float = 600.0, poll_s: float = 2.0,
    ) -> RunResult:
        check_target(target)
        check_version(version)
        image = self._image_to_deploy(target.ref(version))
        steps = Steps([READ, PATCH, ROLLOUT], progress, cancel)
        try:
            steps.begin(READ)
            deployment = self._read(target)
            current = _container_image(deployment, target.container)
            earlier_note = _annotations(deployment).get(PREVIOUS_IMAGE_ANNOTATION)
            steps.begin(PATCH)
            # Redeploying the running image must not make rollback a no-op: keep the older note then.
            self._set_image(target, image, previous=current if current != image else earlier_note)
        except Cancelled:
            return _deploy_result(N_("Deploy of {image} to {deployment} cancelled; nothing was changed"),
                                  target, image, cancelled=True)
        except _API_FAULTS as exc:
            return _deploy_result(N_("Deploy of {image} to {deployment} failed at step {step}; nothing was changed"),
                                  target, image, step=steps.current, excerpt=excerpt(exc))
        try:
            self._follow_rollout(target, steps, timeout_s, poll_s)
        except (Cancelled, StepFailed, *_API_FAULTS) as exc:
            return self._undo(target, image, current, earlier_note, steps, exc)
        return _deploy_result(N_("Deployed {image} to {deployment}"), target, image, ok=True,
                              details={"previous_image": current})

    def rollback(
        self, target: KubeTarget, progress: ProgressSink, cancel: CancelToken,
        *, timeout_s: float = 600.0, poll_s: float = 2.0,
    ) -> RunResult:
        """Go back to the image recorded at the last deploy; the image left behind becomes the new note."""
        check_target(target)
        steps = Steps([READ, PATCH, ROLLOUT], progress, cancel)
        try:
            steps.begin(READ)
            deployment = self._read(target)
            current = _container_image(deployment, target.container)
            previous = _recorded_previous(deployment, target)
            steps.begin(PATCH)
            self._set_image(target, previous, previous=current)
            self._follow_rollout(target, steps, timeout_s, poll_s)
        except (Cancelled, StepFailed, *_API_FAULTS) as exc:
            summary = (Msg(N_("Rollback of {deployment} cancelled"), {"deployment": target.deployment})
                       if isinstance(exc, Cancelled) else
                       Msg(N_("Rollback of {deployment} failed at step {step}"),
                           {"deployment": target.deployment, "step": steps.current}))
            return stopped(exc, steps.current, summary)
        return RunResult(ok=True, summary=Msg(N_("Deployment {deployment} rolled back to {image}"),
                                              {"deployment": target.deployment, "image": previous}))

    # -- steps --------------------------------------------------------------------------------

    def _image_to_deploy(self, ref: str) -> str:
        if self._allowed_digest is None:
            return ref
        digest = self._allowed_digest(ref)
        if digest is None or DIGEST.fullmatch(digest) is None:
            raise IntegrityError(Msg(N_("{ref} is not in the list of allowed images"), {"ref": ref}))
        return f"{ref}@{digest}"  # the kubelet pulls by digest and checks it

    def restart(
        self, target: KubeTarget, progress: ProgressSink, cancel: CancelToken,
        *, timeout_s: float = 600.0, poll_s: float = 2.0,
    ) -> RunResult:
        """Roll every pod, as ``kubectl rollout restart`` does: a new pod-template annotation."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: stamp}}}}}
        return self._change(target, body, N_("Restarted {deployment}"), progress, cancel, timeout_s, poll_s)

    def scale(
        self, target: KubeTarget, replicas: int, progress: ProgressSink, cancel: CancelToken,
        *, timeout_s: float = 600.0, poll_s: float = 2.0,
    ) -> RunResult:
        if not 0 <= replicas <= MAX_REPLICAS:
            raise RunnerError(Msg(N_("Invalid {what}: {value}"), {"what": Msg(N_("number of replicas")),
                                                                   "value": replicas}))
        return self._change(target, {"spec": {"replicas": replicas}}, N_("Scaled {deployment}"),
                            progress, cancel, timeout_s, poll_s)

    def _change(self, target: KubeTarget, body: dict[str, Any], done: str, progress: ProgressSink,
                cancel: CancelToken, timeout_s: float, poll_s: float) -> RunResult:
        """Patch the deployment and follow the rollout; a failure is reported, nothing is undone."""
        check_target(target)
        steps = Steps([READ, PATCH, ROLLOUT], progress, cancel)
        try:
            steps.begin(READ)
            self._read(target)
            steps.begin(PATCH)
            self._apps.patch_namespaced_deployment(target.deployment, target.namespace, body,
                                                   _content_type=STRATEGIC_MERGE_PATCH)
            self._follow_rollout(target, steps, timeout_s, poll_s)
        except (Cancelled, StepFailed, *_API_FAULTS) as exc:
            summary = (N_("Change of {deployment} cancelled at step {step}") if isinstance(exc, Cancelled)
                       else N_("Change of {deployment} failed at step {step}"))
            return stopped(exc, steps.current, _params(summary, target, "", steps.current))
        return _deploy_result(done, target, "", ok=True)

    def _read(self, target: KubeTarget) -> V1Deployment:
        try:
            return self._apps.read_namespaced_deployment(target.deployment, target.namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise RunnerError(Msg(N_("There is no deployment {deployment} in namespace {namespace}"),
                                      {"deployment": target.deployment, "namespace": target.namespace})) from None
            raise

    def _set_image(self, target: KubeTarget, image: str, *, previous: str | None) -> None:
        # Strategic merge: containers merge by name, and a null annotation removes the key.
        body = {
            "metadata": {"annotations": {PREVIOUS_IMAGE_ANNOTATION: previous}},
            "spec": {"template": {"spec": {"containers": [{"name": target.container, "image": image}]}}},
        }
        self._apps.patch_namespaced_deployment(target.deployment, target.namespace, body,
                                               _content_type=STRATEGIC_MERGE_PATCH)

    def _follow_rollout(self, target: KubeTarget, steps: Steps, timeout_s: float, poll_s: float) -> None:
        steps.begin(ROLLOUT)
        deadline = time.monotonic() + timeout_s
        reported: tuple[int, int] | None = None
        while True:
            status = rollout_status(self._read(target))
            if reported != (status.updated, status.desired):
                reported = (status.updated, status.desired)
                steps.detail(f"{status.updated} of {status.desired} replicas updated")
            if status.complete:
                return
            if status.deadline_exceeded:
                raise StepFailed(f"ProgressDeadlineExceeded: {status.deadline_exceeded}")
            if time.monotonic() >= deadline:
                raise StepFailed(f"rollout not complete after {timeout_s:g}s", timed_out=True)
            steps.check_cancel()
            time.sleep(poll_s)

    def _undo(
        self, target: KubeTarget, image: str, current: str, earlier_note: str | None, steps: Steps,
        cause: BaseException,
    ) -> RunResult:
        """Put the previous image (and the previous note) back after a failed or cancelled rollout."""
        failed_step = steps.current
        try:
            steps.begin(ROLL_BACK, cancellable=False)
            self._set_image(target, current, previous=earlier_note)
        except _API_FAULTS as exc:
            summary = N_("Deploy of {image} to {deployment} failed at step {step} and rolling back "
                         "to {previous} failed too")
            log = f"{excerpt(cause)}; rollback: {excerpt(exc)}"[:MAX_EXCERPT]
        else:
            summary = (N_("Deploy of {image} to {deployment} cancelled; rolled back to {previous}")
                       if isinstance(cause, Cancelled)
                       else N_("Deploy of {image} to {deployment} failed at step {step}; rolled back to {previous}"))
            log = excerpt(cause)
        return _deploy_result(summary, target, image, step=failed_step, excerpt=log, previous=current,
                              cancelled=isinstance(cause, Cancelled),
                              timed_out=isinstance(cause, StepFailed) and cause.timed_out)


def rollout_status(deployment: V1Deployment) -> RolloutStatus:
    """Where a rollout stands, read as ``kubectl rollout status`` reads it."""
    spec, status = deployment.spec, deployment.status
    desired = spec.replicas if spec.replicas is not None else 1
    generation = deployment.metadata.generation if deployment.metadata else None
    observed = status is not None and (status.observed_generation or 0) >= (generation or 0)
    if status is None or not observed:
        return RolloutStatus(desired, 0, complete=False, deadline_exceeded="")
    updated = status.updated_replicas or 0
    counts = (updated, status.ready_replicas or 0, status.available_replicas or 0, status.replicas or 0)
    return RolloutStatus(desired, updated, complete=all(n == desired for n in counts),
                         deadline_exceeded=_deadline_exceeded(status.conditions or []))


def _deadline_exceeded(conditions: list[V1DeploymentCondition]) -> str:
    for condition in conditions:
        if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
            return condition.message or "progress deadline exceeded"
    return ""


def _container_image(deployment: V1Deployment, container: str) -> str:
    pod_spec = deployment.spec.template.spec
    for candidate in pod_spec.containers if pod_spec else []:
        if candidate.name == container and candidate.image:
            return str(candidate.image)
    name = deployment.metadata.name if deployment.metadata else ""
    raise RunnerError(Msg(N_("Deployment {deployment} has no container {container}"),
                          {"deployment": name, "container": container}))


def _annotations(deployment: V1Deployment) -> Mapping[str, str]:
    return (deployment.metadata.annotations if deployment.metadata else None) or {}


def _recorded_previous(deployment: V1Deployment, target: KubeTarget) -> str:
    previous = _annotations(deployment).get(PREVIOUS_IMAGE_ANNOTATION)
    if previous is None:
        raise RunnerError(Msg(N_("Deployment {deployment} has no previous image to roll back to"),
                              {"deployment": target.deployment}))
    if _IMAGE_REF.fullmatch(previous) is None:  # annotations are editable by anyone who can edit the deployment
        raise RunnerError(Msg(N_("Refused the recorded previous image {image}: it is not a plain image reference"),
                              {"image": previous}))
    return previous


def _deploy_result(
    summary: str, target: KubeTarget, image: str, *, ok: bool = False, step: str = "", excerpt: str = "",
    previous: str = "", cancelled: bool = False, timed_out: bool = False, details: Mapping[str, object] | None = None,
) -> RunResult:
    return RunResult(ok=ok, summary=_params(summary, target, image, step, previous), failed_step=step,
                     log_excerpt=excerpt,
                     cancelled=cancelled, timed_out=timed_out, details=details or {})


def _params(summary: str, target: KubeTarget, image: str, step: str, previous: str = "") -> Msg:
    return Msg(summary, {"image": image, "deployment": target.deployment, "step": step, "previous": previous})
