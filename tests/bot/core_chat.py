"""The core as a chat, with no runtime, database or event loop: messages in, actions out.

``CoreChat`` builds ``Bot`` directly from ``Services`` over an in-memory store (or any ``Store``),
a frozen clock that tests step, the real registry, commands, access policy and catalogs. It
performs the actions the way the runtime does where the core depends on it: a sent message with a
key is remembered (so reactions and edits find it), deferred work runs and is finished, and the
audit buffer is flushed after every event.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.actions import Action, Edit, Send, Upload
from bot.alerting import KEY_PREFIX, STORM_PREFIX
from bot.catalog import DEMO, ServiceCatalog
from bot.context import ReactionHandler, Services
from bot.core import Bot, Outcome
from bot.dedupe import RecentDeliveries
from bot.events import Event, Message, Place, Reaction, Sender
from bot.i18n import Catalogs
from bot.identity import Identities
from bot.jobs import JobRecord
from bot.memory import MemoryStore
from bot.monitoring import Silences
from bot.ports import Store
from bot.ratelimit import RateLimit
from bot.rbac import AccessPolicy
from bot.registry import Command, Registry
from commands import ALL
from commands.alerts import alert_reaction, storm_reaction

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
CATALOGS = Catalogs.load(LOCALES_DIR)  # read once: the .po files do not change during a run
REGISTRY = Registry(ALL)
REACTIONS: Mapping[str, ReactionHandler] = {KEY_PREFIX: alert_reaction, STORM_PREFIX: storm_reaction}
START = 1_800_000_000.0  # 2027-01-15 08:00 UTC


class FrozenClock:
    """Time stands still until a test moves it."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class QueuedJobs:
    """The ``JobQueue`` port, keeping what was submitted (running jobs is not the core's work)."""

    def __init__(self) -> None:
        self.submitted: list[tuple[int, str]] = []

    def submit(self, job: JobRecord) -> None:
        self.submitted.append((job.id, job.draft.kind))

    def ping(self) -> None:
        """Always reachable: nothing runs."""


@dataclass
class Posted:
    """A message the bot posted, with its edits."""

    id: str
    channel: str
    text: str
    thread: str | None
    key: str | None
    edits: list[str] = field(default_factory=list)

    @property
    def current(self) -> str:
        return self.edits[-1] if self.edits else self.text


@dataclass(frozen=True)
class Turn:
    """What the bot did about one event."""

    actions: tuple[Action, ...]
    durable: bool

    @property
    def text(self) -> str:
        """The texts it sent, one per line ('' when it sent nothing)."""
        return "\n".join(a.text for a in self.actions if isinstance(a, Send))

    @property
    def edits(self) -> list[Edit]:
        return [a for a in self.actions if isinstance(a, Edit)]

    @property
    def uploads(self) -> list[Upload]:
        return [a for a in self.actions if isinstance(a, Upload)]


class CoreChat:
    """Speak and react as anyone in one channel; read what the bot posted and audited."""

    def __init__(self, store: Store | None = None, *, admins: Iterable[str] = ("console:admin1",),
                 commands: Iterable[Command] | None = None, policy: AccessPolicy | None = None,
                 catalog: ServiceCatalog = DEMO, silences: Silences | None = None,
                 rate: tuple[int, int] = (0, 1), platform: str = "console", channel: str = "main") -> None:
        self.store: Store = store if store is not None else MemoryStore()
        self.clock = FrozenClock()
        self.queue = QueuedJobs()
        for admin in admins:
            self.store.grant_role(admin, "admin")
        self.services = Services(
            store=self.store, registry=REGISTRY if commands is None else Registry(commands),
            policy=policy or AccessPolicy.from_config(), catalogs=CATALOGS, clock=self.clock,
            identities=Identities(self.store, self.clock, ttl=0), catalog=catalog, jobs=self.queue,
            reactions=REACTIONS, silences=silences)
        self.bot = Bot(self.services, RecentDeliveries(), RateLimit(rate[0], rate[1], self.clock))
        self.platform, self.channel = platform, channel
        self.posted: list[Posted] = []
        self._ids = itertools.count(1)

    # -- events in ------------------------------------------------------------------------------
    def say(self, user: str, text: str, *, thread: str | None = None, direct: bool = False,
            delivery_id: str | None = None) -> Turn:
        message_id = f"u{next(self._ids)}"
        place = Place(self.platform, self.channel, thread, direct)
        event = Message(delivery_id or f"d-{message_id}", Sender(self.platform, user, user), place, message_id, text)
        return self.deliver(event)

    def react(self, user: str, emoji: str, target: str | None = None, *, added: bool = True,
              delivery_id: str | None = None) -> Turn:
        """React to a bot message: ``target`` is its key (``approval:1``) or id; the last one by default."""
        message_id = self._message_id(target) if target else self.posted[-1].id
        event = Reaction(delivery_id or f"r{next(self._ids)}", Sender(self.platform, user, user),
                         Place(self.platform, self.channel), message_id, emoji, added)
        return self.deliver(event)

    def deliver(self, event: Event) -> Turn:
        outcome = self.bot.handle(event)
        actions = list(self._perform(outcome))
        for later in outcome.later:  # the runtime runs these off the loop; here, at once
            actions.extend(self._perform(self.bot.finish(later, Bot.run_later(later))))
        self.bot.flush_audit()
        return Turn(tuple(actions), outcome.durable)

    # -- what the bot did ---------------------------------------------------------------------------
    def by_key(self, key: str) -> Posted:
        return next(p for p in self.posted if p.key == key)

    @property
    def last(self) -> Posted:
        return self.posted[-1]

    def audit(self) -> list[tuple[str, str]]:
        """(action, outcome) of every audit row, in order."""
        return [(r.draft.action, r.draft.outcome) for r in self.store.audit_records()]

    def _message_id(self, target: str) -> str:
        found = self.store.message_id(target)
        return found[1] if found else target

    def _perform(self, outcome: Outcome) -> Iterable[Action]:
        for action in outcome.actions:
            if isinstance(action, Send):
                posted = Posted(f"b{next(self._ids)}", action.channel, action.text, action.thread, action.key)
                self.posted.append(posted)
                if action.key:
                    self.store.remember_message(action.key, action.channel, posted.id)
            elif isinstance(action, Edit):
                found = self.store.message_id(action.key)
                for posted in self.posted:
                    if found is not None and posted.id == found[1]:
                        posted.edits.append(action.text)
            yield action
