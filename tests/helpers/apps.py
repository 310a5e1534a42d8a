"""What tests of a whole app share: starting it with people already holding roles, the audit
trail it wrote, and replies without the Unicode isolates that wrap values in Arabic text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from dihya.app import App

FSI, PDI = "\u2068", "\u2069"  # first-strong isolate, pop directional isolate (bot.i18n)


@asynccontextmanager
async def running(app: App, roles: Mapping[str, str] | None = None) -> AsyncIterator[App]:
    """``app`` started, each identity of ``roles`` granted its role; stopped afterwards."""
    await app.start()
    for identity, role in (roles or {}).items():
        app.store.grant_role(identity, role)
    try:
        yield app
    finally:
        await app.stop()


def trail(app: App) -> list[tuple[str, str]]:
    """(action, outcome) of every audit row, the buffered ones flushed first."""
    app.bot.flush_audit()
    return [(r.draft.action, r.draft.outcome) for r in app.store.audit_records()]


def plain(text: str) -> str:
    """``text`` without the isolates, to compare with what a reader sees."""
    return text.replace(FSI, "").replace(PDI, "")
