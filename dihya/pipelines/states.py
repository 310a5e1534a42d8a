"""Provider states in Dihya's words (queued, running, success, failed, cancelled), shared by the
API clients and the inbound webhooks (which must not load an HTTP client to read a payload)."""

from __future__ import annotations

from collections.abc import Mapping


def run_state(status: str | None, conclusion: str | None) -> str:
    if status != "completed":
        return "running" if status == "in_progress" else "queued"
    if conclusion in ("success", "neutral", "skipped"):
        return "success"
    return "cancelled" if conclusion == "cancelled" else "failed"


GITLAB_STATES: Mapping[str, str] = {"success": "success", "failed": "failed", "canceled": "cancelled",
                                    "canceling": "running", "skipped": "cancelled", "running": "running",
                                    "manual": "running"}


def pipeline_state(status: str) -> str:
    """GitLab's created/pending/preparing/waiting_for_resource/scheduled are all still queued."""
    return GITLAB_STATES.get(status, "queued")
