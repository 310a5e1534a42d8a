"""Provider webhooks: who may post (checked on the raw bytes, before any parsing) and what a
delivery says, as a ``CiEvent``. One small verifier and one parser per provider.

- GitHub: ``X-Hub-Signature-256: sha256=HMAC(secret, body)``; delivery id ``X-GitHub-Delivery``;
  events ``workflow_run`` and ``deployment_status`` (``ping`` is answered, others ignored).
- GitLab: ``X-Gitlab-Token`` equal to the configured token (constant time); delivery id
  ``Idempotency-Key`` (GitLab 17.4+, the same on every retry), else ``X-Gitlab-Event-UUID``;
  ``Pipeline Hook`` and ``Deployment Hook``.
- Jenkins (Notification plugin, JSON): ``Authorization: Bearer <token>``; no delivery id, so a
  build's phase is its identity (``QUEUED``, ``STARTED``, ``COMPLETED``, ``FINALIZED``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.pipelines import PipelineRun, Stage
from dihya.pipelines.states import pipeline_state, run_state

JENKINS_RESULTS = {"SUCCESS": "success", "ABORTED": "cancelled"}
GITHUB_DEPLOYMENTS = {"success": "success", "failure": "failed", "error": "failed", "inactive": "cancelled",
                      "in_progress": "running"}
GITLAB_DEPLOYMENTS = {"success": "success", "failed": "failed", "canceled": "cancelled", "running": "running"}


class BadPayload(ValueError):
    """The body is JSON but not the shape the provider documents; the message names what is missing."""


@dataclass(frozen=True, slots=True)
class CiEvent:
    delivery_id: str
    event: str  # workflow_run | deployment_status | pipeline | deployment | build
    run: PipelineRun
    what: str  # how the result names what ran: the workflow's name, "deployment to staging", the job

    @property
    def labels(self) -> dict[str, str]:
        """What ``[[ci.routes]]`` match on."""
        return {"provider": self.run.provider, "repository": self.run.project, "branch": self.run.ref,
                "result": self.run.state, "event": self.event, "pipeline": self.run.pipeline}


# --- who may post ------------------------------------------------------------------------------


def github_signed(signature: str | None, body: bytes, secret: bytes) -> bool:
    if not secret or not signature or not signature.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.removeprefix("sha256=").encode("latin-1", "replace"), expected.encode())


# --- what a delivery says ----------------------------------------------------------------------


def _obj(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(f"{name} must be an object")
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def github_event(event: str, delivery: str, payload: Mapping[str, Any]) -> CiEvent | None:
    repo = _obj(payload.get("repository"), "repository")
    project, default = _text(repo.get("full_name")), _text(repo.get("default_branch"))
    if event == "workflow_run":
        run = _obj(payload.get("workflow_run"), "workflow_run")
        status, conclusion = run.get("status"), run.get("conclusion")
        word = f"{status} ({conclusion})" if status == "completed" and conclusion else _text(status)
        found = PipelineRun("github", project, _text(run.get("id")), run_state(status, conclusion), word,
                            ref=_text(run.get("head_branch")), sha=_text(run.get("head_sha")),
                            url=_text(run.get("html_url")), source="webhook", default_branch=default)
        return CiEvent(delivery, event, found, _text(run.get("name")) or "workflow")
    if event == "deployment_status":
        status = _obj(payload.get("deployment_status"), "deployment_status")
        deployment = _obj(payload.get("deployment"), "deployment")
        state = _text(status.get("state"))
        environment = _text(status.get("environment") or deployment.get("environment"))
        found = PipelineRun("github", project, f"deployment-{deployment.get('id')}",
                            GITHUB_DEPLOYMENTS.get(state, "queued"), state, ref=_text(deployment.get("ref")),
                            sha=_text(deployment.get("sha")), url=_text(status.get("target_url")),
                            source="webhook", default_branch=default)
        return CiEvent(delivery, event, found, f"deployment to {environment}")
    return None


def gitlab_event(event: str, delivery: str, payload: Mapping[str, Any]) -> CiEvent | None:
    project = _obj(payload.get("project"), "project")
    path, default = _text(project.get("path_with_namespace")), _text(project.get("default_branch"))
    if event == "Pipeline Hook":
        attrs = _obj(payload.get("object_attributes"), "object_attributes")
        status = _text(attrs.get("status"))
        url = _text(attrs.get("url")) or f"{_text(project.get('web_url'))}/-/pipelines/{attrs.get('id')}"
        builds = tuple(_gitlab_build(b) for b in payload.get("builds") or [] if isinstance(b, dict))
        found = PipelineRun("gitlab", path, _text(attrs.get("id")), pipeline_state(status), status,
                            ref=_text(attrs.get("ref")), sha=_text(attrs.get("sha")), url=url, stages=builds,
                            source="webhook", default_branch=default)
        return CiEvent(delivery, "pipeline", found, _text(project.get("name")) or path)
    if event == "Deployment Hook":
        status = _text(payload.get("status"))
        found = PipelineRun("gitlab", path, f"deployment-{payload.get('deployment_id')}",
                            GITLAB_DEPLOYMENTS.get(status, "queued"), status, ref=_text(payload.get("ref")),
                            sha=_text(payload.get("short_sha")), url=_text(payload.get("deployable_url")),
                            source="webhook", default_branch=default)
        return CiEvent(delivery, "deployment", found, f"deployment to {_text(payload.get('environment'))}")
    return None


def _gitlab_build(build: Mapping[str, Any]) -> Stage:
    status = _text(build.get("status"))
    name = f"{build.get('stage')}: {build.get('name')}" if build.get("stage") else _text(build.get("name"))
    return Stage(name, "skipped" if status == "skipped" else pipeline_state(status), status)


def jenkins_event(payload: Mapping[str, Any]) -> CiEvent:
    build = _obj(payload.get("build"), "build")
    found_scm = build.get("scm")
    scm: Mapping[str, Any] = found_scm if isinstance(found_scm, dict) else {}
    name, number, phase = _text(payload.get("name")), _text(build.get("number")), _text(build.get("phase"))
    if not name or not number:
        raise BadPayload("name and build.number are required")
    result = _text(build.get("status"))
    if phase in ("COMPLETED", "FINALIZED"):
        state, word = JENKINS_RESULTS.get(result, "failed"), result
    else:
        state, word = ("queued" if phase == "QUEUED" else "running"), phase
    branch = _text(scm.get("branch")).removeprefix("origin/")
    found = PipelineRun("jenkins", name, number, state, word, ref=branch, sha=_text(scm.get("commit")),
                        url=_text(build.get("full_url")), source="webhook")
    return CiEvent(f"{name}#{number}:{phase}", "build", found, name)
