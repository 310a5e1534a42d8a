"""GitLab CI (gitlab.com or self-managed): trigger with a pipeline trigger token, then follow,
cancel and retry with an API token (``PRIVATE-TOKEN``), as GitLab's pipeline API requires."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from bot.pipelines import PipelineSpec, Stage
from dihya.pipelines.http import ApiClient, json_object
from dihya.pipelines.port import RunHandle, RunStatus
from dihya.pipelines.states import pipeline_state


class GitLabCI:
    def __init__(self, api: ApiClient, trigger_token: str) -> None:
        self._api = api
        self._trigger_token = trigger_token

    def close(self) -> None:
        self._api.close()

    def trigger(self, spec: PipelineSpec, ref: str, params: Mapping[str, str],
                correlation: str) -> RunHandle:  # noqa: ARG002 - GitLab returns the pipeline it made
        form = {"token": self._trigger_token, "ref": ref, **{f"variables[{k}]": v for k, v in params.items()}}
        found = json_object(self._api.send("POST", f"{_project(spec)}/trigger/pipeline", data=form,
                                           expect=frozenset({201}), what="pipeline trigger"), "GitLab")
        return RunHandle(str(found["id"]), str(found.get("web_url") or ""))

    def status(self, spec: PipelineSpec, handle: RunHandle) -> RunStatus:
        base = f"{_project(spec)}/pipelines/{quote(handle.run_id, safe='')}"
        pipeline = json_object(self._api.send("GET", base, what="pipeline"), "GitLab")
        jobs = self._api.send("GET", f"{base}/jobs", params={"per_page": 100}, what="pipeline jobs").json()
        stages = tuple(_stage(j) for j in jobs if isinstance(j, dict)) if isinstance(jobs, list) else ()
        status = str(pipeline.get("status") or "")
        return RunStatus(RunHandle(handle.run_id, str(pipeline.get("web_url") or handle.url)),
                         pipeline_state(status), status, stages, str(pipeline.get("sha") or ""))

    def cancel(self, spec: PipelineSpec, handle: RunHandle) -> None:
        self._api.send("POST", f"{_project(spec)}/pipelines/{quote(handle.run_id, safe='')}/cancel",
                       what="cancel")

    def retry(self, spec: PipelineSpec, handle: RunHandle,
              ref: str, params: Mapping[str, str]) -> RunHandle:  # noqa: ARG002 - the pipeline keeps its own
        """Retries the pipeline's failed and cancelled jobs, in the same pipeline."""
        found = json_object(self._api.send("POST", f"{_project(spec)}/pipelines/{quote(handle.run_id, safe='')}/retry",
                                           expect=frozenset({201}), what="retry"), "GitLab")
        return RunHandle(str(found.get("id") or handle.run_id), str(found.get("web_url") or handle.url))


def _project(spec: PipelineSpec) -> str:
    return f"/api/v4/projects/{quote(spec.project, safe='')}"


def _stage(job: Mapping[str, Any]) -> Stage:
    status = str(job.get("status") or "")
    name = f"{job.get('stage')}: {job.get('name')}" if job.get("stage") else str(job.get("name") or "?")
    return Stage(name, "skipped" if status == "skipped" else pipeline_state(status), status)
