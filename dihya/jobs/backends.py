"""Which runners this process can use, built from settings.

Ansible always (the embedded default deploys with a bundled playbook); ansible-runner is imported
on the first playbook run, not at start. Docker and Kubernetes clients are created per job.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dihya.jobs.targets import Backends, PlaybookRunner
from dihya.runners.base import CancelToken, ProgressSink, RunResult
from dihya.settings import Settings


class DeferredAnsible:
    """An ``AnsibleRunner`` created on first use."""

    def __init__(self, content: Path, work_dir: Path) -> None:
        self._content = content
        self._work_dir = work_dir
        self._runner: PlaybookRunner | None = None

    def run(self, playbook: str, inventory: Mapping[str, Any], extra_vars: Mapping[str, str],
            progress: ProgressSink, cancel: CancelToken, timeout_s: int, run_id: str) -> RunResult:
        if self._runner is None:
            from dihya.integrity import Manifest
            from dihya.runners.ansible_run import AnsibleRunner

            content = self._content
            self._runner = AnsibleRunner(content, self._work_dir, lambda: Manifest.load(content))
        return self._runner.run(playbook, inventory, extra_vars, progress, cancel, timeout_s, run_id)


def build_backends(settings: Settings) -> Backends:
    return Backends(playbooks=DeferredAnsible(settings.content_dir.resolve(), (settings.data_dir / "runs").resolve()))
