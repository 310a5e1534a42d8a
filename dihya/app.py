"""Composition root: build every part from ``Settings`` and wire them together (no globals)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from bot.context import Services
from bot.core import Bot
from bot.dedupe import RecentDeliveries
from bot.i18n import Catalogs
from bot.identity import Identities
from bot.ports import Clock
from bot.ratelimit import RateLimit
from bot.registry import Command, Registry
from commands import ALL
from dihya.policy_file import access_policy, load_config
from dihya.redaction import Redactor
from dihya.runtime import Runtime
from dihya.settings import Settings
from dihya.store.engine import make_engine, upgrade
from dihya.store.sql import SqlStore

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


@dataclass(frozen=True, slots=True)
class App:
    settings: Settings
    engine: Engine
    store: SqlStore
    bot: Bot
    runtime: Runtime
    redactor: Redactor

    def close(self) -> None:
        self.runtime.close()
        self.engine.dispose()


def build_app(
    settings: Settings,
    *,
    clock: Clock = time.time,
    commands: Iterable[Command] = ALL,
    engine: Engine | None = None,
) -> App:
    engine = engine or make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    store = SqlStore(engine)
    for admin in settings.admins:
        store.grant_role(admin, "admin")
    services = Services(
        store=store,
        registry=Registry(commands),
        policy=access_policy(load_config(settings.config_file)),
        catalogs=Catalogs.load(LOCALES_DIR),
        clock=clock,
        identities=Identities(store, clock, settings.identity_cache_seconds),
    )
    bot = Bot(services, RecentDeliveries(), RateLimit(settings.rate_limit_per_minute, settings.rate_limit_burst, clock))
    redactor = Redactor(settings.secret_values())
    return App(settings, engine, store, bot, Runtime(bot, redactor, settings.audit_flush_ms), redactor)
