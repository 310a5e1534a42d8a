"""Pods and pod logs for the fake Kubernetes API (issue 14), kept apart from ``kube_api.py``:
``GET /api/v1/namespaces/{ns}/pods?labelSelector=`` and ``GET …/pods/{name}/log`` with ``container``,
``sinceSeconds``, ``tailLines``, ``timestamps``, ``limitBytes`` and ``follow`` (refused: never
followed here), answered as ``text/plain`` as the API server does."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes import RecordedRequest, Reply
from tests.fakes.kube_api import FakeKubernetesApi, status_error

_PODS = re.compile(r"/api/v1/namespaces/(?P<namespace>[^/]+)/pods")
_LOG = re.compile(r"/api/v1/namespaces/(?P<namespace>[^/]+)/pods/(?P<pod>[^/]+)/log")


@dataclass
class Pod:
    name: str
    labels: dict[str, str]
    logs: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)  # container -> lines


class FakeKubernetesWithLogs(FakeKubernetesApi):
    def __init__(self) -> None:
        super().__init__()
        self.pods: dict[tuple[str, str], Pod] = {}

    def add_pod(self, namespace: str, name: str, labels: dict[str, str],
                logs: dict[str, list[tuple[datetime, str]]]) -> None:
        self.pods[namespace, name] = Pod(name, labels, logs)

    def handle(self, request: RecordedRequest) -> Reply:
        if request.method == "GET" and (found := _LOG.fullmatch(request.path)):
            return self._log(request, found["namespace"], found["pod"])
        if request.method == "GET" and (found := _PODS.fullmatch(request.path)):
            return self._list(request, found["namespace"])
        return super().handle(request)

    def _list(self, request: RecordedRequest, namespace: str) -> Reply:
        wanted = dict(pair.split("=", 1) for pair in request.query.get("labelSelector", "").split(",") if pair)
        items = [_pod_object(namespace, pod) for (ns, _), pod in sorted(self.pods.items())
                 if ns == namespace and all(pod.labels.get(k) == v for k, v in wanted.items())]
        return Reply(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                           "items": items})

    def _log(self, request: RecordedRequest, namespace: str, name: str) -> Reply:
        pod = self.pods.get((namespace, name))
        if pod is None:
            return status_error(404, "NotFound", f'pods "{name}" not found')
        q = request.query
        if q.get("follow") not in (None, "false", "False", "0"):
            return status_error(400, "BadRequest", "this fake never follows")
        container = q.get("container") or next(iter(pod.logs))
        if container not in pod.logs:
            return status_error(400, "BadRequest", f"container {container} is not valid for pod {name}")
        lines = pod.logs[container]
        if "sinceSeconds" in q:
            oldest = time.time() - int(q["sinceSeconds"])
            lines = [(at, text) for at, text in lines if at.timestamp() >= oldest]
        if "tailLines" in q:
            lines = lines[-int(q["tailLines"]):]
        stamped = q.get("timestamps") in ("true", "True", "1")
        body = "".join(f"{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {text}\n" if stamped
                       else f"{text}\n" for at, text in lines).encode()
        if "limitBytes" in q:
            body = body[: int(q["limitBytes"])]
        return Reply(200, raw=body, headers={"Content-Type": "text/plain"})


def _pod_object(namespace: str, pod: Pod) -> dict[str, Any]:
    return {"metadata": {"name": pod.name, "namespace": namespace, "labels": pod.labels},
            "spec": {"containers": [{"name": c, "image": f"{c}:1"} for c in pod.logs]},
            "status": {"phase": "Running"}}
