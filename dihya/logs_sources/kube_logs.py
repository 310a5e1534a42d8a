"""Pod logs through the Kubernetes API: every pod of a deployment (found by its label selector), each
line tagged with its pod, merged in time order. ``follow=false``, ``sinceSeconds``, ``tailLines``,
``timestamps`` and ``limitBytes`` bound what the API sends."""

from __future__ import annotations

from typing import Any

from bot.errors import UserError
from bot.i18n import N_
from dihya.logs_sources.base import MAX_PODS, Fetched, LogLine, Window, split_timestamp


class KubernetesLogs:
    def __init__(self, api_client: Any, namespace: str, deployment: str, container: str | None) -> None:
        self._api = api_client
        self._namespace = namespace
        self._deployment = deployment
        self._container = container
        self.description = f"kubernetes deployment {namespace}/{deployment}"

    def fetch(self, window: Window) -> Fetched:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        core, apps = client.CoreV1Api(self._api), client.AppsV1Api(self._api)
        try:
            pods = self._pods(core, apps)
            share = max(1, window.max_bytes // max(1, len(pods)))
            found = [self._pod_lines(core, pod, window, share) for pod in pods]
        except ApiException as err:
            if err.status == 404:
                raise UserError(N_("No deployment {name} in namespace {namespace}."),
                                name=self._deployment, namespace=self._namespace) from None
            raise UserError(N_("The Kubernetes API refused the log request ({status})."), status=err.status) from None
        except (HTTPError, OSError):
            raise UserError(N_("The Kubernetes API did not answer the log request.")) from None
        lines = sorted((line for pod_lines, _ in found for line in pod_lines), key=_order)
        return Fetched(lines[-window.lines:], any(cut for _, cut in found) or len(pods) > MAX_PODS)

    def _pods(self, core: Any, apps: Any) -> list[str]:
        deployment = apps.read_namespaced_deployment(self._deployment, self._namespace)
        labels = deployment.spec.selector.match_labels or {}
        selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
        listed = core.list_namespaced_pod(self._namespace, label_selector=selector)
        return sorted(pod.metadata.name for pod in listed.items)[:MAX_PODS]

    def _pod_lines(self, core: Any, pod: str, window: Window, limit: int) -> tuple[list[LogLine], bool]:
        options: dict[str, Any] = {"since_seconds": window.since_s, "tail_lines": window.lines, "timestamps": True,
                                   "limit_bytes": limit, "follow": False, "_preload_content": False}
        if self._container:
            options["container"] = self._container
        response = core.read_namespaced_pod_log(pod, self._namespace, **options)
        try:
            raw = response.read(limit + 1)  # the raw text: the client would try to parse it as JSON
        finally:
            response.release_conn()
        cut = len(raw) >= limit
        text = raw[:limit].decode("utf-8", errors="replace")
        if cut:
            text = text.rpartition("\n")[0]
        return [_line(pod, line) for line in text.splitlines()], cut


def _line(pod: str, raw: str) -> LogLine:
    at, text = split_timestamp(raw.rstrip("\r"))
    return LogLine(at, pod, text)


def _order(line: LogLine) -> float:
    return line.at.timestamp() if line.at else 0.0
