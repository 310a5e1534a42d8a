"""GitHub Actions: workflow_dispatch, run and job status, cancel, re-run failed jobs.

``return_run_details: true`` makes GitHub answer the dispatch with the run's id (since 2026-02).
A GitHub Enterprise Server that predates it refuses the field (400/422): the dispatch is sent again
without it, with a unique value in the ``correlation_input`` the pipeline declares (the workflow
puts it in its ``run-name``), and the run is found by that value in the list of dispatched runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from bot.i18n import N_, Msg
from bot.pipelines import PipelineSpec, Stage
from dihya.pipelines.http import ApiClient, json_object
from dihya.pipelines.port import ProviderError, RunHandle, RunStatus
from dihya.pipelines.states import run_state

API_VERSION = "2022-11-28"
FIND_ATTEMPTS = 10  # list reads while a dispatched run is not listed yet (GitHub creates it within seconds)


def status_word(status: str | None, conclusion: str | None) -> str:
    return f"{status} ({conclusion})" if status == "completed" and conclusion else str(status or "")


class GitHubActions:
    def __init__(self, api: ApiClient, sleep: Callable[[float], None] = time.sleep) -> None:
        self._api = api
        self._sleep = sleep

    def close(self) -> None:
        self._api.close()

    def trigger(self, spec: PipelineSpec, ref: str, params: Mapping[str, str], correlation: str) -> RunHandle:
        path = f"{_repo(spec)}/actions/workflows/{quote(spec.workflow, safe='')}/dispatches"
        body = {"ref": ref, "inputs": dict(params), "return_run_details": True}
        response = self._api.send("POST", path, json=body, expect=frozenset({200, 204, 400, 422}),
                                  what="workflow dispatch")
        if response.status_code == 200:
            found = json_object(response, "GitHub")
            return RunHandle(str(found["workflow_run_id"]), str(found.get("html_url") or ""))
        if response.status_code != 204 and "return_run_details" not in response.text:
            raise ProviderError(Msg(N_("{provider} answered {status} to {what}."),
                                    {"provider": "GitHub", "status": response.status_code,
                                     "what": "workflow dispatch"}))
        return self._dispatch_and_find(spec, path, ref, params, correlation)

    def _dispatch_and_find(self, spec: PipelineSpec, path: str, ref: str, params: Mapping[str, str],
                           correlation: str) -> RunHandle:
        field = spec.options.get("correlation_input", "")
        if not field:
            raise ProviderError(Msg(N_("This GitHub does not return the run it started; declare a "
                                       "correlation_input for {pipeline} to find it."), {"pipeline": spec.name}))
        self._api.send("POST", path, json={"ref": ref, "inputs": {**params, field: correlation}},
                       expect=frozenset({204}), what="workflow dispatch")
        runs = f"{_repo(spec)}/actions/workflows/{quote(spec.workflow, safe='')}/runs"
        for _ in range(FIND_ATTEMPTS):
            listed = json_object(self._api.send("GET", runs, params={"event": "workflow_dispatch", "branch": ref},
                                                what="workflow runs"), "GitHub")
            for run in listed.get("workflow_runs") or []:
                if correlation in f"{run.get('display_title', '')} {run.get('name', '')}":
                    return RunHandle(str(run["id"]), str(run.get("html_url") or ""))
            self._sleep(2.0)
        raise ProviderError(Msg(N_("The dispatched run of {pipeline} did not appear in GitHub's run list."),
                                {"pipeline": spec.name}))

    def status(self, spec: PipelineSpec, handle: RunHandle) -> RunStatus:
        base = f"{_repo(spec)}/actions/runs/{quote(handle.run_id, safe='')}"
        run = json_object(self._api.send("GET", base, what="workflow run"), "GitHub")
        seen = replace(handle, url=str(run.get("html_url") or handle.url))
        sha = str(run.get("head_sha") or "")
        if handle.past_attempt and _attempt(run) <= handle.past_attempt:  # the re-run has not started yet
            return RunStatus(seen, "queued", "queued", (), sha)
        jobs = json_object(self._api.send("GET", f"{base}/jobs", what="workflow jobs"), "GitHub")
        stages = tuple(_stage(j) for j in jobs.get("jobs") or [] if isinstance(j, dict))
        return RunStatus(seen, run_state(run.get("status"), run.get("conclusion")),
                         status_word(run.get("status"), run.get("conclusion")), stages, sha)

    def cancel(self, spec: PipelineSpec, handle: RunHandle) -> None:
        self._api.send("POST", f"{_repo(spec)}/actions/runs/{quote(handle.run_id, safe='')}/cancel",
                       expect=frozenset({202}), what="cancel")

    def retry(self, spec: PipelineSpec, handle: RunHandle,
              ref: str, params: Mapping[str, str]) -> RunHandle:  # noqa: ARG002 - the run keeps its own
        """A new attempt of the same run (``run_attempt`` + 1): only its failed jobs and their dependents.
        Until that attempt shows, GitHub still reports the last one's result, which must not end the job."""
        base = f"{_repo(spec)}/actions/runs/{quote(handle.run_id, safe='')}"
        run = json_object(self._api.send("GET", base, what="workflow run"), "GitHub")
        self._api.send("POST", f"{base}/rerun-failed-jobs", expect=frozenset({201}), what="re-run failed jobs")
        return replace(handle, past_attempt=_attempt(run))


def _attempt(run: Mapping[str, Any]) -> int:
    attempt = run.get("run_attempt")
    return attempt if isinstance(attempt, int) else 1


def _repo(spec: PipelineSpec) -> str:
    owner, _, name = spec.project.partition("/")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _stage(job: Mapping[str, Any]) -> Stage:
    status, conclusion = job.get("status"), job.get("conclusion")
    state = "skipped" if conclusion == "skipped" else run_state(status, conclusion)
    return Stage(str(job.get("name") or "?"), state, str(conclusion or status or ""))


def api_headers() -> dict[str, str]:
    return {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
