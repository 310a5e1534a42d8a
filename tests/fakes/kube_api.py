"""A fake Kubernetes API server: read and strategic-merge-patch Deployments, with simulated rollouts.

After a spec change the generation goes up and the rollout advances one step per GET: the first
read still shows the old, complete-looking status with a stale observedGeneration (the trap that
``kubectl rollout status`` avoids), then one more replica is updated per read. Pods of images in
``failing_images`` never become ready; with ``deadline_after`` set, the Progressing condition turns
to ProgressDeadlineExceeded after that many reads.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from tests.fakes import FakeApiServer, RecordedRequest, Reply

STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
_DEPLOYMENT = re.compile(r"/apis/apps/v1/namespaces/(?P<namespace>[^/]+)/deployments/(?P<name>[^/]+)")
_DONE = 1_000_000  # reads since the last spec change of a deployment that finished rolling out long ago


def status_error(code: int, reason: str, message: str) -> Reply:
    return Reply(code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": message, "reason": reason, "code": code})


class FakeKubernetesApi(FakeApiServer):
    """``apps/v1`` Deployments: GET and PATCH (strategic merge), as far as ``KubernetesDeployer`` uses them."""

    def __init__(self) -> None:
        super().__init__()
        self.deployments: dict[tuple[str, str], dict[str, Any]] = {}
        self.failing_images: set[str] = set()
        self.deadline_after: int | None = None
        self.forbid_patches = False  # answer PATCH with 403, as for a service account without "patch"
        self._reads: dict[tuple[str, str], int] = {}  # reads since the last spec change

    def add_deployment(self, namespace: str, name: str, container: str, image: str, *, replicas: int = 3,
                       annotations: dict[str, str] | None = None) -> None:
        labels = {"app": name}
        self.deployments[namespace, name] = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "generation": 1, "annotations": annotations or {}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": container, "image": image},
                                                          {"name": "log-shipper", "image": "fluent/fluent-bit:3"}]}}},
        }
        self._reads[namespace, name] = _DONE

    def image_of(self, namespace: str, name: str, container: str) -> str:
        with self.lock:
            containers = self.deployments[namespace, name]["spec"]["template"]["spec"]["containers"]
            return str(next(c["image"] for c in containers if c["name"] == container))

    def annotations_of(self, namespace: str, name: str) -> dict[str, str]:
        with self.lock:
            return dict(self.deployments[namespace, name]["metadata"].get("annotations") or {})

    def patches(self) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == "PATCH"]

    # -- HTTP ---------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        match = _DEPLOYMENT.fullmatch(request.path)
        if match is None:
            return status_error(404, "NotFound", f"the server could not find the requested resource ({request.path})")
        key = (match["namespace"], match["name"])
        if key not in self.deployments:
            return status_error(404, "NotFound", f'deployments.apps "{key[1]}" not found')
        if request.method == "GET":
            return Reply(200, self._read(key))
        if request.method == "PATCH":
            return self._patch(key, request)
        return status_error(405, "MethodNotAllowed", f"{request.method} is not supported here")

    def _read(self, key: tuple[str, str], *, advance: bool = True) -> dict[str, Any]:
        self._reads[key] += advance
        deployment = copy.deepcopy(self.deployments[key])
        deployment["status"] = self._status(deployment, self._reads[key])
        return deployment

    def _patch(self, key: tuple[str, str], request: RecordedRequest) -> Reply:
        if request.content_type.split(";")[0] != STRATEGIC_MERGE_PATCH:
            return status_error(415, "UnsupportedMediaType", f"unexpected patch type {request.content_type!r}")
        if self.forbid_patches:
            return status_error(403, "Forbidden", f'cannot patch resource "deployments" in namespace "{key[0]}"')
        deployment = self.deployments[key]
        before = copy.deepcopy(deployment["spec"])
        strategic_merge(deployment, request.body)
        if deployment["spec"] != before:
            deployment["metadata"]["generation"] += 1
            self._reads[key] = 0
        return Reply(200, self._read(key, advance=False))

    # -- rollout simulation --------------------------------------------------------------------

    def _status(self, deployment: dict[str, Any], reads: int) -> dict[str, Any]:
        desired = deployment["spec"]["replicas"]
        generation = deployment["metadata"]["generation"]
        if reads <= 1 and generation > 1:  # the controller has not seen the change yet
            return _counts(generation - 1, desired, desired, desired, desired, _progressing("NewReplicaSetAvailable"))
        images = {c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]}
        if images & self.failing_images:
            stuck = self.deadline_after is not None and reads > self.deadline_after
            condition = _progressing("ProgressDeadlineExceeded" if stuck else "ReplicaSetUpdated")
            return _counts(generation, desired + 1, 1, desired, desired, condition)
        updated = min(reads - 1, desired)
        total = desired + 1 if updated < desired else desired
        reason = "NewReplicaSetAvailable" if updated == desired else "ReplicaSetUpdated"
        return _counts(generation, total, updated, desired, desired, _progressing(reason))


def _counts(observed: int, total: int, updated: int, ready: int, available: int,
            condition: dict[str, str]) -> dict[str, Any]:
    return {"observedGeneration": observed, "replicas": total, "updatedReplicas": updated,
            "readyReplicas": ready, "availableReplicas": available,
            "unavailableReplicas": max(total - available, 0), "conditions": [condition]}


def _progressing(reason: str) -> dict[str, str]:
    failed = reason == "ProgressDeadlineExceeded"
    message = ('ReplicaSet "web-7d9c" has timed out progressing.' if failed
               else 'ReplicaSet "web-7d9c" is progressing.')
    return {"type": "Progressing", "status": "False" if failed else "True", "reason": reason, "message": message}


def strategic_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """The part of strategic merge patch Deployments need: maps merge, null deletes, containers merge by name."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif key == "containers" and isinstance(value, list):
            _merge_by_name(target.setdefault(key, []), value)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            strategic_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _merge_by_name(items: list[dict[str, Any]], patches: list[dict[str, Any]]) -> None:
    for patch in patches:
        existing = next((item for item in items if item.get("name") == patch.get("name")), None)
        if existing is None:
            items.append(copy.deepcopy(patch))
        else:
            strategic_merge(existing, patch)
