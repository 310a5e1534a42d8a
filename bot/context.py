"""What a command handler gets: who asks, where, in which language, and the app's services."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bot.addresses import STRICT, AddressPolicy
from bot.catalog import ServiceCatalog
from bot.events import Place
from bot.i18n import Catalogs
from bot.identity import Actor, Identities
from bot.jobs import JobQueue
from bot.monitoring import Metrics, MonitoringConfig, Silences  # issue 5
from bot.pipelines import PipelineCatalog, PipelineRunStore  # issue 15
from bot.ports import ApiTokens, Clock, Compliance, Store
from bot.rbac import AccessPolicy
from bot.registry import Registry, Reply
from bot.scripts import ScriptCatalog
from bot.servicelogs import LogReader


class ReactionHandler(Protocol):
    """A reaction (or button) on a message the bot posted under ``key``; None means "not mine"."""

    def __call__(self, ctx: Context, emoji: str, added: bool, key: str) -> Reply | None: ...


@dataclass(frozen=True, slots=True)
class Services:
    """Everything built once from settings and passed down (no globals)."""

    store: Store
    registry: Registry
    policy: AccessPolicy
    catalogs: Catalogs
    clock: Clock
    identities: Identities
    catalog: ServiceCatalog
    jobs: JobQueue
    # message-key prefix ("alert:") → what a reaction on such a message does (approvals are built in)
    reactions: Mapping[str, ReactionHandler] = field(default_factory=dict)
    # -- compliance (issue 6): exports, secrets, verification; None in a bare core
    compliance: Compliance | None = None
    # -- monitoring and alerts (issue 5): Prometheus and Alertmanager ports; None when not configured
    metrics: Metrics | None = None
    silences: Silences | None = None
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    # which server addresses the inventory accepts (``[inventory] allow_addresses`` widens it)
    addresses: AddressPolicy = STRICT
    # DIHYA_ADMINS: identities made admin at every start (so a revocation in chat would not last)
    bootstrap_admins: frozenset[str] = frozenset()
    # -- REST API (issue 13): issuing tokens; None where no signing key is built
    api_tokens: ApiTokens | None = None
    # -- CI/CD pipelines (issue 15): the catalog and the recorded runs (None: no run is recorded)
    pipelines: PipelineCatalog = field(default_factory=PipelineCatalog)
    pipeline_runs: PipelineRunStore | None = None
    # -- scripts and logs (issue 14): the script catalog, and service logs (None: not wired)
    scripts: ScriptCatalog = field(default_factory=ScriptCatalog)
    logs: LogReader | None = None


@dataclass(slots=True)  # built for every message: a frozen init costs ~3x per field
class Context:
    actor: Actor
    place: Place
    locale: str
    services: Services
    approvers: tuple[str, ...] = ()  # who approved, when the command runs after an approval
    approval: int | None = None  # the approved request a job command runs: its job claims it

    def resolve_person(self, ref: str) -> str:
        """``NAME`` → ``platform:NAME`` on the sender's platform; ``platform:id`` and ``@user:server`` as given."""
        if ref.startswith("@") and ":" in ref:
            return f"matrix:{ref}"
        platform, sep, _ = ref.partition(":")
        if sep and platform in KNOWN_PLATFORMS:
            return ref
        return f"{self.place.platform}:{ref.lstrip('@')}"


KNOWN_PLATFORMS = frozenset({"console", "slack", "matrix", "telegram", "api", "oidc"})  # oidc: issue 13
