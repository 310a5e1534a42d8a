"""Which runners this process can use, built from settings.

Ansible always (the embedded default deploys with a bundled playbook); ansible-runner is imported
on the first playbook run, not at start. Docker and Kubernetes clients are created per job from
``DIHYA_DOCKER_URL`` / ``DIHYA_KUBERNETES_API_URL`` (else the standard DOCKER_HOST environment and
kubeconfig), and both only deploy images whose digest the integrity manifest allows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.catalog import Deployment
from dihya.engine_clients import docker_client, kubernetes_api
from dihya.jobs.targets import Backends, Deployer
from dihya.runners.base import CancelToken, ProgressSink, RunResult
from dihya.scripts.runner import ScriptRunner
from dihya.scripts.sandbox import SandboxUser
from dihya.settings import Settings, SettingsError


class DeferredAnsible:
    """An ``AnsibleRunner`` created on first use."""

    def __init__(self, content: Path, work_dir: Path) -> None:
        self._content = content
        self._work_dir = work_dir
        self._runner: Any = None  # an AnsibleRunner

    def run(self, playbook: str, inventory: Mapping[str, Any], extra_vars: Mapping[str, str],
            progress: ProgressSink, cancel: CancelToken, timeout_s: int, run_id: str) -> RunResult:
        result: RunResult = self._ansible().run(playbook, inventory, extra_vars, progress, cancel, timeout_s, run_id)
        return result

    def run_bundled(self, bundle: Any, inventory: Mapping[str, Any], extra_vars: Mapping[str, str],
                    progress: ProgressSink, cancel: CancelToken, timeout_s: float, run_id: str) -> Any:
        return self._ansible().run_bundled(bundle, inventory, extra_vars, progress, cancel, timeout_s, run_id)

    def _ansible(self) -> Any:
        if self._runner is None:
            from dihya.integrity import Manifest
            from dihya.runners.ansible_run import AnsibleRunner

            content = self._content
            self._runner = AnsibleRunner(content, self._work_dir, lambda: Manifest.load(content))
        return self._runner


class ContainerBackends:
    """Builds a deployer and its target for a catalog entry, at job time."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._content = settings.content_dir.resolve()

    def _allowed(self, ref: str) -> str | None:
        from dihya.integrity import Manifest

        return Manifest.load(self._content).allowed_digest(ref)

    def docker(self, deployment: Deployment) -> tuple[Deployer, object]:
        from dihya.runners.docker_deploy import DockerDeployer, DockerTarget

        client = docker_client(self._settings)
        target = DockerTarget(deployment.params["container"], deployment.params["image"],
                              deployment.env, deployment.ports)
        return DockerDeployer(client, self._allowed), target

    def kubernetes(self, deployment: Deployment) -> tuple[Deployer, object]:
        from dihya.runners.kube_deploy import KubernetesDeployer, KubeTarget

        p = deployment.params
        target = KubeTarget(p["namespace"], p["deployment"], p["container"], p["image"])
        return KubernetesDeployer(kubernetes_api(self._settings), self._allowed), target


def script_runner(settings: Settings, user_name: str, secrets: Callable[[str], str | None] | None) -> ScriptRunner:
    """Scripts run as ``user_name`` when the bot runs as root (root ignores the process-count limit)."""
    from dihya.integrity import Manifest

    content = settings.content_dir.resolve()
    user = None
    if os.getuid() == 0:
        try:
            user = SandboxUser.named(user_name)
        except KeyError:
            raise SettingsError(f"DIHYA_CONFIG_FILE: [sandbox] user {user_name!r} does not exist") from None
    return ScriptRunner(content, lambda: Manifest.load(content), secrets, user)


def build_backends(settings: Settings, scripts: ScriptRunner | None = None, sandbox_user: str = "nobody") -> Backends:
    from dihya.scripts.remote import RemoteScripts

    containers = ContainerBackends(settings)
    playbooks = DeferredAnsible(settings.content_dir.resolve(), (settings.data_dir / "runs").resolve())
    return Backends(playbooks=playbooks, scripts=scripts, docker=containers.docker, kubernetes=containers.kubernetes,
                    remote_scripts=RemoteScripts(playbooks, sandbox_user))
