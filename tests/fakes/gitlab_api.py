"""A fake GitLab API v4 for CI: trigger a pipeline with a trigger token, read it and its jobs,
cancel, retry. A pipeline plays pending → running → success (or ``final``), one step per read."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes import FakeApiServer, RecordedRequest, Reply, error
from tests.fakes.pipeline_data import sample

_PIPELINE = re.compile(r"/pipelines/(?P<id>\d+)(?P<what>/jobs|/cancel|/retry)?")
PHASES = ("pending", "running")


class FakeGitLab(FakeApiServer):
    def __init__(self, api_token: str, trigger_token: str, project: str = "acme/api",
                 jobs: tuple[tuple[str, str], ...] = (("build", "compile"), ("test", "unit")),
                 final: str = "success") -> None:  # final "running": runs until cancelled
        super().__init__()
        self.api_token, self.trigger_token, self.project = api_token, trigger_token, project
        self.job_names = jobs
        self.final = final
        self.pipelines: dict[int, dict[str, Any]] = {}
        self.next_id = 287

    def refuse(self, method: str, path: str, headers: dict[str, str]) -> Reply | None:
        if path.endswith("/trigger/pipeline"):
            return None  # authenticated by the token in the form
        if headers.get("private-token") != self.api_token:
            return Reply(401, {"message": "401 Unauthorized"})
        return None

    def triggers(self) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.path.endswith("/trigger/pipeline")]

    def handle(self, request: RecordedRequest) -> Reply:
        prefix = f"/api/v4/projects/{self.project}/"  # recorded paths are decoded: acme%2Fapi → acme/api
        if not request.path.startswith(prefix):
            return error(404, "404 Project Not Found")
        rest = request.path[len(prefix) - 1:]
        if rest == "/trigger/pipeline" and request.method == "POST":
            return self._trigger(request)
        pipeline = _PIPELINE.fullmatch(rest)
        if pipeline is None or int(pipeline["id"]) not in self.pipelines:
            return error(404, "404 Not found")
        return self._pipeline(request, int(pipeline["id"]), pipeline["what"] or "")

    def _trigger(self, request: RecordedRequest) -> Reply:
        form = request.body or {}
        if form.get("token") != self.trigger_token:
            return error(404, "404 Not Found")
        if not form.get("ref"):
            return Reply(400, {"error": "ref is missing"})
        pipeline_id, self.next_id = self.next_id, self.next_id + 1
        self.pipelines[pipeline_id] = {"reads": 0, "state": "", "ref": form["ref"]}
        body = sample("gitlab_trigger_pipeline")
        body.update(id=pipeline_id, ref=form["ref"],
                    web_url=f"https://gitlab.example.com/{self.project}/-/pipelines/{pipeline_id}")
        return Reply(201, body)

    def _pipeline(self, request: RecordedRequest, pipeline_id: int, what: str) -> Reply:
        pipeline = self.pipelines[pipeline_id]
        if request.method == "POST" and what == "/cancel":
            pipeline["state"] = "canceled"
            return Reply(200, {**sample("gitlab_pipeline"), "id": pipeline_id, "status": "canceled"})
        if request.method == "POST" and what == "/retry":
            pipeline.update(reads=0, state="")
            return Reply(201, {**sample("gitlab_pipeline"), "id": pipeline_id, "status": "pending"})
        if what == "/jobs":
            return Reply(200, self._jobs(pipeline))
        pipeline["reads"] += 1
        body = sample("gitlab_pipeline")
        body.update(id=pipeline_id, status=self._status(pipeline), ref=pipeline["ref"],
                    web_url=f"https://gitlab.example.com/{self.project}/-/pipelines/{pipeline_id}")
        return Reply(200, body)

    def _status(self, pipeline: dict[str, Any]) -> str:
        if pipeline["state"]:
            return str(pipeline["state"])
        return PHASES[pipeline["reads"] - 1] if 0 < pipeline["reads"] <= len(PHASES) else \
            ("pending" if not pipeline["reads"] else self.final)

    def _jobs(self, pipeline: dict[str, Any]) -> list[dict[str, Any]]:
        status = self._status(pipeline)
        template = sample("gitlab_pipeline_jobs")[0]
        jobs = []
        for n, (stage, name) in enumerate(self.job_names):
            if status == "running":
                job_status = "success" if n == 0 else "running"
            elif status in ("success", "failed"):
                job_status = status if n == len(self.job_names) - 1 else "success"
            else:
                job_status = status
            jobs.append({**template, "id": n + 1, "stage": stage, "name": name, "status": job_status})
        return jobs
