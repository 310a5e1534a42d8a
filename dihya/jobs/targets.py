"""``CatalogRunner``: routes a job to the runner its service catalog entry names.

deploy / rollback / restart / scale for a service in an environment go to Ansible, Docker or
Kubernetes as configured; ``playbook`` jobs run a catalog playbook on localhost or a server.
User-supplied values reach runners only as validated data (never a shell, never a template).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from bot.addresses import STRICT, AddressPolicy
from bot.argtypes import KeyValues
from bot.catalog import DEMO, DEMO_SERVER, Deployment, ServiceCatalog
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.jobs import JobRecord
from bot.ports import Store
from bot.scripts import LOCAL, Script, ScriptCatalog, check_target, checked_params
from dihya.runners.base import CancelToken, ProgressSink, RunnerError, RunResult
from dihya.runners.inventory import localhost_inventory
from dihya.runners.servers import ServerInventories


class SecretSource(Protocol):
    """Stored secrets by name (``dihya.compliance.secrets.SecretBox``); reading one also teaches
    the redaction filter its value, so the job's excerpt and logs mask it."""

    def value(self, name: str) -> str | None: ...


class PlaybookRunner(Protocol):
    def run(self, playbook: str, inventory: Mapping[str, Any], extra_vars: Mapping[str, str],
            progress: ProgressSink, cancel: CancelToken, timeout_s: int, run_id: str) -> RunResult: ...


class Deployer(Protocol):
    def deploy(self, target: Any, version: str, progress: ProgressSink, cancel: CancelToken) -> RunResult: ...
    def rollback(self, target: Any, progress: ProgressSink, cancel: CancelToken) -> RunResult: ...


@runtime_checkable
class Restartable(Protocol):
    def restart(self, target: Any, progress: ProgressSink, cancel: CancelToken) -> RunResult: ...


@runtime_checkable
class Scalable(Protocol):
    def scale(self, target: Any, replicas: int, progress: ProgressSink, cancel: CancelToken) -> RunResult: ...


class ScriptProcesses(Protocol):
    """Runs a catalogued Python, Bash or Node.js script on this machine (``dihya.scripts.runner``)."""

    def run(self, script: Script, params: Mapping[str, object], progress: ProgressSink,
            cancel: CancelToken, job_id: int) -> RunResult: ...


class RemoteScriptRunner(Protocol):
    """Runs a catalogued script on inventory servers through Ansible (``dihya.scripts.remote``)."""

    def run(self, script: Script, params: Mapping[str, object], env: Mapping[str, str],
            inventory: Mapping[str, Any], progress: ProgressSink, cancel: CancelToken, job_id: int,
            run_id: str) -> RunResult: ...


@dataclass(frozen=True, slots=True)
class Backends:
    """The runners this process can use; a missing one refuses its jobs with a clear message."""

    playbooks: PlaybookRunner | None = None
    scripts: ScriptProcesses | None = None
    docker: Callable[[Deployment], tuple[Deployer, object]] | None = None
    kubernetes: Callable[[Deployment], tuple[Deployer, object]] | None = None
    remote_scripts: RemoteScriptRunner | None = None


class CatalogRunner:
    def __init__(self, catalog: ServiceCatalog, backends: Backends, store: Store, data_dir: Path,
                 secrets: SecretSource | None = None, addresses: AddressPolicy = STRICT,
                 scripts: ScriptCatalog | None = None, connection: Mapping[str, str] | None = None) -> None:
        trusted = frozenset({DEMO_SERVER}) if catalog is DEMO else frozenset()
        self._servers = ServerInventories(store, addresses, connection, trusted)
        self._catalog = catalog
        self._scripts = scripts or ScriptCatalog()
        self._backends = backends
        self._store = store
        self._data_dir = data_dir
        self._secrets = secrets

    def run(self, job: JobRecord, progress: ProgressSink, cancel: CancelToken) -> RunResult:
        args = job.draft.args
        try:
            if job.draft.kind == "playbook":
                return self._playbook(job, str(args["name"]), str(args["target"]), progress, cancel)
            if job.draft.kind == "script":
                return self._script(job, progress, cancel)
            deployment = self._catalog.deployment(str(args["service"]), str(args["env"]))
        except UserError as err:
            raise RunnerError(err.message) from None
        if deployment.runner == "ansible":
            return self._ansible(job, deployment, progress, cancel)
        return self._container(job, deployment, progress, cancel)

    def _playbook(self, job: JobRecord, name: str, target: str, progress: ProgressSink,
                  cancel: CancelToken) -> RunResult:
        inventory = localhost_inventory() if target == "localhost" else self._servers.server(target)
        extra = {"data_dir": str(self._data_dir), "target": target}
        return self._playbook_runner().run(self._catalog.playbook(name), inventory, extra, progress, cancel,
                                           job.draft.timeout_s, job.key.replace(":", "-"))

    def _script(self, job: JobRecord, progress: ProgressSink, cancel: CancelToken) -> RunResult:
        """A catalogued script or playbook; its name, target and parameters are checked again against the
        catalog as it is now (it may have changed since the request)."""
        args = job.draft.args
        script = self._scripts.script(str(args["name"]))
        target = check_target(script, str(args["target"]))
        params = checked_params(script, KeyValues.pairs(args.get("params")))
        if script.language == "ansible":
            extra = {"data_dir": str(self._data_dir), "target": target, **{k: str(v) for k, v in params.items()}}
            extra.update(self._secret_values(script.secrets, script.name, extra))
            inventory = localhost_inventory() if target == LOCAL else self._servers.group(target)
            return self._playbook_runner().run(script.file, inventory, extra, progress, cancel, script.timeout_s,
                                               job.key.replace(":", "-"))
        if target != LOCAL:
            return self._remote_script(job, script, params, target, progress, cancel)
        if self._backends.scripts is None:
            raise RunnerError(Msg(N_("The {runner} runner is not configured on this worker."), {"runner": "scripts"}))
        return self._backends.scripts.run(script, params, progress, cancel, job.id)

    def _remote_script(self, job: JobRecord, script: Script, params: Mapping[str, object], target: str,
                       progress: ProgressSink, cancel: CancelToken) -> RunResult:
        if self._backends.remote_scripts is None:
            raise RunnerError(Msg(N_("The {runner} runner is not configured on this worker."), {"runner": "ansible"}))
        env = self._secret_values(script.secrets, script.name, script.env)
        return self._backends.remote_scripts.run(script, params, env, self._servers.group(target), progress,
                                                 cancel, job.id, job.key.replace(":", "-"))

    def _ansible(self, job: JobRecord, deployment: Deployment, progress: ProgressSink,
                 cancel: CancelToken) -> RunResult:
        playbook = deployment.params.get(f"{job.draft.kind}_playbook") or (
            deployment.params.get("playbook") if job.draft.kind == "deploy" else None)
        if playbook is None:
            raise RunnerError(Msg(N_("{service} in {env} has no playbook for “{kind}”."),
                                  {"service": deployment.service, "env": deployment.environment,
                                   "kind": job.draft.kind}))
        extra = {"data_dir": str(self._data_dir), "service": deployment.service, "env": deployment.environment,
                 **{k: str(v) for k, v in job.draft.args.items() if k in ("version", "replicas")}}
        extra.update(self._secret_values(deployment.secrets, deployment.service, extra))
        return self._playbook_runner().run(playbook, self._env_inventory(deployment), extra, progress, cancel,
                                           job.draft.timeout_s, job.key.replace(":", "-"))

    def _secret_values(self, names: tuple[str, ...], owner: str, taken: Mapping[str, str]) -> dict[str, str]:
        """A catalog entry's secrets as extra vars (written ``!unsafe``, so never templated).
        A secret may not replace a variable the bot sets itself, and a missing one stops the run."""
        found: dict[str, str] = {}
        for name in names:
            if name in taken:
                raise RunnerError(Msg(N_("The secret {name} has the name of a built-in playbook variable."),
                                      {"name": name}))
            value = self._secrets.value(name) if self._secrets is not None else None
            if value is None:
                raise RunnerError(Msg(N_("The secret {name} that {service} needs is not set (“secret set” in a "
                                         "direct message)."), {"name": name, "service": owner}))
            found[name] = value
        return found

    def _container(self, job: JobRecord, deployment: Deployment, progress: ProgressSink,
                   cancel: CancelToken) -> RunResult:
        factory = self._backends.docker if deployment.runner == "docker" else self._backends.kubernetes
        if factory is None:
            raise RunnerError(Msg(N_("The {runner} runner is not configured on this worker."),
                                  {"runner": deployment.runner}))
        deployer, target = factory(deployment)
        if job.draft.kind == "deploy":
            return deployer.deploy(target, str(job.draft.args["version"]), progress, cancel)
        if job.draft.kind == "rollback":
            return deployer.rollback(target, progress, cancel)
        if job.draft.kind == "restart" and isinstance(deployer, Restartable):
            return deployer.restart(target, progress, cancel)
        if job.draft.kind == "scale" and isinstance(deployer, Scalable):
            return deployer.scale(target, int(str(job.draft.args["replicas"])), progress, cancel)
        raise RunnerError(Msg(N_("“{kind}” is not supported for {runner} services yet."),
                              {"kind": job.draft.kind, "runner": deployment.runner}))

    def _playbook_runner(self) -> PlaybookRunner:
        if self._backends.playbooks is None:
            raise RunnerError(Msg(N_("The {runner} runner is not configured on this worker."), {"runner": "ansible"}))
        return self._backends.playbooks

    def _env_inventory(self, deployment: Deployment) -> dict[str, Any]:
        if deployment.params.get("hosts", "localhost") == "localhost":
            return localhost_inventory()
        return self._servers.environment(deployment.environment)
