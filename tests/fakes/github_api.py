"""A fake GitHub REST API for Actions: workflow dispatch, runs, jobs, cancel, re-run failed jobs.

A dispatched run plays queued → in_progress → completed, one step per read of the run; its jobs
follow (the first job finishes while the run is in progress). ``conclusion`` decides how it ends
(None: it runs until cancelled).
With ``run_details=False`` it behaves like a GitHub Enterprise Server older than 2026-02: it refuses
``return_run_details`` with 422, answers a dispatch with 204, and lists runs whose title is the
value of the workflow's ``correlation`` input (the workflow's ``run-name``).
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakes import FakeApiServer, RecordedRequest, Reply, error
from tests.fakes.pipeline_data import sample

_RUNS = re.compile(r"/repos/(?P<repo>[^/]+/[^/]+)/actions/runs/(?P<id>\d+)(?P<rest>/[a-z-]+)?")
_WORKFLOW = re.compile(r"/repos/(?P<repo>[^/]+/[^/]+)/actions/workflows/(?P<wf>[^/]+)/(?P<what>dispatches|runs)")
PHASES = ("queued", "in_progress", "completed")


class FakeGitHub(FakeApiServer):
    def __init__(self, token: str, repo: str = "acme/api", workflow: str = "ci.yml",
                 jobs: tuple[str, ...] = ("build", "test"), conclusion: str | None = "success",
                 run_details: bool = True) -> None:
        super().__init__()
        self.token, self.repo, self.workflow, self.job_names = token, repo, workflow, jobs
        self.conclusion = conclusion
        self.run_details = run_details
        self.runs: dict[int, dict[str, Any]] = {}
        self.next_id = 30433642

    def refuse(self, method: str, path: str, headers: dict[str, str]) -> Reply | None:
        if headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        return None

    def dispatches(self) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST" and r.path.endswith("/dispatches")]

    def handle(self, request: RecordedRequest) -> Reply:
        workflow = _WORKFLOW.fullmatch(request.path)
        if workflow and workflow["repo"] == self.repo and workflow["wf"] == self.workflow:
            return self._dispatch(request) if workflow["what"] == "dispatches" else self._list()
        run = _RUNS.fullmatch(request.path)
        if run is None or run["repo"] != self.repo or int(run["id"]) not in self.runs:
            return error(404, "Not Found")
        return self._run(request, int(run["id"]), run["rest"] or "")

    def _dispatch(self, request: RecordedRequest) -> Reply:
        body = request.body or {}
        if "return_run_details" in body and not self.run_details:
            return Reply(422, {"message": "Invalid request.\n\n\"return_run_details\" is not a permitted key.",
                               "documentation_url": "https://docs.github.com/rest"})
        run_id, self.next_id = self.next_id, self.next_id + 1
        title = str((body.get("inputs") or {}).get("correlation") or "Build")
        self.runs[run_id] = {"reads": 0, "cancelled": False, "title": title, "ref": body.get("ref")}
        if body.get("return_run_details"):
            details = sample("github_dispatch_run_details")
            details.update(workflow_run_id=run_id, run_url=f"{self.url}/repos/{self.repo}/actions/runs/{run_id}",
                           html_url=f"https://github.com/{self.repo}/actions/runs/{run_id}")
            return Reply(200, details)
        return Reply(204)

    def _list(self) -> Reply:
        listed = sample("github_workflow_runs_list")
        template = listed["workflow_runs"][0]
        listed["workflow_runs"] = [{**template, "id": run_id, "display_title": run["title"],
                                    "html_url": f"https://github.com/{self.repo}/actions/runs/{run_id}"}
                                   for run_id, run in sorted(self.runs.items(), reverse=True)]
        listed["total_count"] = len(self.runs)
        return Reply(200, listed)

    def _run(self, request: RecordedRequest, run_id: int, rest: str) -> Reply:
        run = self.runs[run_id]
        if request.method == "POST" and rest == "/cancel":
            run["cancelled"] = True
            return Reply(202, {})
        if request.method == "POST" and rest == "/rerun-failed-jobs":
            run.update(reads=0, cancelled=False)
            return Reply(201, {})
        if rest == "/jobs":
            return Reply(200, self._jobs(run_id))
        if request.method != "GET" or rest:
            return error(404, "Not Found")
        run["reads"] += 1
        status, conclusion = self._phase(run)
        body = sample("github_workflow_run")
        body.update(id=run_id, status=status, conclusion=conclusion, head_branch=run["ref"],
                    html_url=f"https://github.com/{self.repo}/actions/runs/{run_id}")
        return Reply(200, body)

    def _phase(self, run: dict[str, Any]) -> tuple[str, str | None]:
        if run["cancelled"]:
            return "completed", "cancelled"
        status = PHASES[min(run["reads"], len(PHASES)) - 1] if run["reads"] else "queued"
        if status == "completed" and self.conclusion is None:  # no conclusion: in progress until cancelled
            status = "in_progress"
        return status, self.conclusion if status == "completed" else None

    def _jobs(self, run_id: int) -> dict[str, Any]:
        status, conclusion = self._phase(self.runs[run_id])
        listed = sample("github_workflow_jobs")
        template = listed["jobs"][0]
        jobs = []
        for n, name in enumerate(self.job_names):
            if status == "completed":
                last = n == len(self.job_names) - 1
                job_status, job_conclusion = "completed", conclusion if last or conclusion == "cancelled" else "success"
            elif status == "in_progress":
                job_status, job_conclusion = ("completed", "success") if n == 0 else ("in_progress", None)
            else:
                job_status, job_conclusion = "queued", None
            jobs.append({**template, "id": run_id * 10 + n, "run_id": run_id, "name": name, "status": job_status,
                         "conclusion": job_conclusion})
        listed.update(total_count=len(jobs), jobs=jobs)
        return listed
