"""What a command handler gets: who asks, where, in which language, and the app's services."""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog import ServiceCatalog
from bot.events import Place
from bot.i18n import Catalogs
from bot.identity import Actor, Identities
from bot.jobs import JobQueue
from bot.ports import Clock, Store
from bot.rbac import AccessPolicy
from bot.registry import Registry


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


@dataclass(frozen=True, slots=True)
class Context:
    actor: Actor
    place: Place
    locale: str
    services: Services
    approvers: tuple[str, ...] = ()  # who approved, when the command runs after an approval

    def resolve_person(self, ref: str) -> str:
        """``NAME`` → ``platform:NAME`` on the sender's platform; ``platform:id`` and ``@user:server`` as given."""
        if ref.startswith("@") and ":" in ref:
            return f"matrix:{ref}"
        platform, sep, _ = ref.partition(":")
        if sep and platform in KNOWN_PLATFORMS:
            return ref
        return f"{self.place.platform}:{ref.lstrip('@')}"


KNOWN_PLATFORMS = frozenset({"console", "slack", "matrix", "telegram", "api"})
