"""A fake GitHub REST API for Actions: workflow dispatch, runs, jobs, cancel, re-run failed jobs.

A dispatched run plays queued → in_progress → completed, one step per read of the run; its jobs
follow (the first job finishes while the run is in progress). ``conclusion`` decides how it ends
(None: it runs until cancelled).
With ``run_details=False`` it behaves like a GitHub Enterprise Server older than 2026-02: it refuses
``return_run_details`` with 422, answers a dispatch with 204, and lists runs whose title is the
value of the workflow's ``correlation`` input (the workflow's ``run-name``).
With ``app`` it also plays a GitHub App's installation: ``POST /app/installations/{id}/access_tokens``
checks the RS256 JWT against the App's public key (``iss`` the App id, issued in the past, expiring
at most 10 minutes ahead) and issues an installation token, which the other endpoints then accept
until it expires.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes import FakeApiServer, RecordedRequest, Reply, error
from tests.fakes.pipeline_data import sample

_RUNS = re.compile(r"/repos/(?P<repo>[^/]+/[^/]+)/actions/runs/(?P<id>\d+)(?P<rest>/[a-z-]+)?")
_WORKFLOW = re.compile(r"/repos/(?P<repo>[^/]+/[^/]+)/actions/workflows/(?P<wf>[^/]+)/(?P<what>dispatches|runs)")
PHASES = ("queued", "in_progress", "completed")
_ACCESS_TOKENS = re.compile(r"/app/installations/(?P<id>\d+)/access_tokens")
JWT_MAX_LIFETIME_S = 600  # "no more than 10 minutes into the future"


@dataclass
class GitHubApp:
    """A GitHub App installed on the repository: its id, installation and public key, on ``clock``."""

    app_id: str
    installation_id: str
    public_key: rsa.RSAPublicKey
    clock: Callable[[], float]
    token_ttl_s: int = 3600
    issued: dict[str, float] = field(default_factory=dict)  # installation token → expiry
    claims: list[dict[str, Any]] = field(default_factory=list)  # of each accepted JWT
    used: dict[str, int] = field(default_factory=dict)  # requests made with each installation token
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def verify(self, jwt: str) -> dict[str, Any] | None:
        try:
            header, claims, signature = (_unb64(part) for part in jwt.split("."))
            self.public_key.verify(signature, jwt.rsplit(".", 1)[0].encode(), padding.PKCS1v15(), hashes.SHA256())
            decoded_header, decoded = json.loads(header), json.loads(claims)
        except (ValueError, binascii.Error, InvalidSignature):
            return None
        now = self.clock()
        if decoded_header.get("alg") != "RS256" or str(decoded.get("iss")) != self.app_id:
            return None
        if not decoded["iat"] <= now < decoded["exp"] <= now + JWT_MAX_LIFETIME_S:
            return None
        return dict(decoded)

    def issue(self) -> dict[str, Any]:
        token = f"ghs_fake{next(self._serial):04d}installation0token"
        expires = self.clock() + self.token_ttl_s
        self.issued[token] = expires
        body = dict(sample("github_installation_token"))
        body.update(token=token, expires_at=datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        return body

    def accepts(self, token: str) -> bool:
        if self.issued.get(token, 0.0) <= self.clock():
            return False
        self.used[token] = self.used.get(token, 0) + 1
        return True


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeGitHub(FakeApiServer):
    def __init__(self, token: str, repo: str = "acme/api", workflow: str = "ci.yml",
                 jobs: tuple[str, ...] = ("build", "test"), conclusion: str | None = "success",
                 run_details: bool = True, app: GitHubApp | None = None) -> None:
        super().__init__()
        self.app = app
        self.token, self.repo, self.workflow, self.job_names = token, repo, workflow, jobs
        self.conclusion = conclusion
        self.run_details = run_details
        self.runs: dict[int, dict[str, Any]] = {}
        self.next_id = 30433642

    def refuse(self, method: str, path: str, headers: dict[str, str]) -> Reply | None:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if self.app is not None and _ACCESS_TOKENS.fullmatch(path):
            claims = self.app.verify(credential) if scheme == "Bearer" else None
            if claims is None:
                return Reply(401, {"message": "A JSON web token could not be decoded",
                                   "documentation_url": "https://docs.github.com/rest"})
            with self.lock:
                self.app.claims.append(claims)
            return None
        if scheme == "Bearer" and (credential == self.token or (self.app is not None and self.app.accepts(credential))):
            return None
        return Reply(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})

    def dispatches(self) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST" and r.path.endswith("/dispatches")]

    def handle(self, request: RecordedRequest) -> Reply:
        installation = _ACCESS_TOKENS.fullmatch(request.path)
        if installation is not None and request.method == "POST" and self.app is not None:
            if installation["id"] != self.app.installation_id:
                return error(404, "Not Found")
            return Reply(201, self.app.issue())
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
            # the new attempt shows one read late: that read still reports the last attempt's result
            run.update(reads=0, cancelled=False, attempt=run.get("attempt", 1) + 1, lagging=run.get("shown"),
                       concluded=None)
            return Reply(201, {})
        if rest == "/jobs":
            return Reply(200, self._jobs(run_id))
        if request.method != "GET" or rest:
            return error(404, "Not Found")
        attempt = run.get("attempt", 1)
        if run.get("lagging"):
            (status, conclusion), attempt = run.pop("lagging"), attempt - 1
        else:
            run["reads"] += 1
            status, conclusion = run["shown"] = self._phase(run)
            run["concluded"] = conclusion if status == "completed" else None
        body = sample("github_workflow_run")
        body.update(id=run_id, status=status, conclusion=conclusion, head_branch=run["ref"], run_attempt=attempt,
                    html_url=f"https://github.com/{self.repo}/actions/runs/{run_id}")
        return Reply(200, body)

    def _phase(self, run: dict[str, Any]) -> tuple[str, str | None]:
        if run["cancelled"]:
            return "completed", "cancelled"
        if run.get("concluded"):  # a completed attempt keeps its conclusion
            return "completed", str(run["concluded"])
        status = PHASES[min(run["reads"], len(PHASES)) - 1] if run["reads"] else "queued"
        if status == "completed" and self.conclusion is None:  # no conclusion: in progress until cancelled
            status = "in_progress"
        return status, self.conclusion if status == "completed" else None

    def _jobs(self, run_id: int) -> dict[str, Any]:
        status, conclusion = self._phase(self.runs[run_id])
        listed: dict[str, Any] = sample("github_workflow_jobs")
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
