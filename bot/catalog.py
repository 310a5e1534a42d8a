"""The service catalog: for each service and environment, how it is deployed.

Configuration (``[services.NAME.ENV]`` tables in the TOML settings file), not code. The embedded
default ships ``DEMO`` so a fresh machine can deploy ``web`` and ``backend-django`` (the service of the
published API example) with bundled local playbooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.errors import UserError
from bot.i18n import N_
from bot.ports import Server

RUNNERS = frozenset({"ansible", "docker", "kubernetes"})
CONTAINER_KINDS = {  # what each container runner can do; Docker has no replicas to scale
    "docker": frozenset({"deploy", "rollback", "restart"}),
    "kubernetes": frozenset({"deploy", "rollback", "restart", "scale"}),
}


@dataclass(frozen=True, slots=True)
class Deployment:
    """How one service runs in one environment. ``params`` depend on the runner:
    ansible: playbook, rollback_playbook, [restart_playbook], [scale_playbook]; docker: container,
    image (and ``env``, ``ports`` for the container a first deploy creates); kubernetes: namespace,
    deployment, container, image."""

    service: str
    environment: str
    runner: str
    params: Mapping[str, str] = field(default_factory=dict)
    timeout_s: int = 900
    secrets: tuple[str, ...] = ()  # stored secrets (``secret set``) handed to its Ansible playbooks
    env: tuple[str, ...] = ()  # docker: "NAME=value" for a container the first deploy creates
    ports: tuple[str, ...] = ()  # docker: "[IP:]HOST:CONTAINER[/proto]" for that container

    def supports(self, kind: str) -> bool:
        """Whether its runner can do ``kind`` (deploy, rollback, restart, scale) for this entry."""
        if self.runner == "ansible":
            return f"{kind}_playbook" in self.params or (kind == "deploy" and "playbook" in self.params)
        return kind in CONTAINER_KINDS.get(self.runner, frozenset())


@dataclass(frozen=True, slots=True)
class ServiceCatalog:
    services: Mapping[str, Mapping[str, Deployment]]
    playbooks: Mapping[str, str] = field(default_factory=dict)  # name for `playbook run` → file

    def deployment(self, service: str, environment: str) -> Deployment:
        envs = self.services.get(service)
        if envs is None:
            raise UserError(N_("Unknown service {service}; known services: {known}."),
                            service=service, known=", ".join(sorted(self.services)) or "-")
        found = envs.get(environment)
        if found is None:
            raise UserError(N_("{service} is not deployed in {env}; it is in: {known}."),
                            service=service, env=environment, known=", ".join(sorted(envs)))
        return found

    def playbook(self, name: str) -> str:
        found = self.playbooks.get(name)
        if found is None:
            raise UserError(N_("Unknown playbook {name}; known playbooks: {known}."),
                            name=name, known=", ".join(sorted(self.playbooks)) or "-")
        return found


def _demo(service: str, env: str) -> Deployment:
    """The demo playbooks record ``service``'s releases under the data directory (their ``service`` variable)."""
    return Deployment(service, env, "ansible",
                      {"playbook": "deploy_web.yml", "rollback_playbook": "rollback_web.yml",
                       "restart_playbook": "restart_web.yml", "scale_playbook": "scale_web.yml",
                       "log_file": f"deployed/history-{service}.jsonl"}, timeout_s=300)  # `logs web in staging`


DEMO = ServiceCatalog(
    services={name: {env: _demo(name, env) for env in ("staging", "production")} for name in ("web", "backend-django")},
    playbooks={"deploy-web": "deploy_web.yml", "sleep-demo": "sleep_demo.yml"},
)


# The embedded default's one server: this machine (``dihya/demo_inventory.py`` adds it on a fresh
# start). Its playbooks run with ``connection: local``; it is the only loopback entry the embedded
# default lets reach an inventory, and only under this name (``servers add`` still refuses loopback).
DEMO_SERVER = Server("localhost", "127.0.0.1", "staging")
