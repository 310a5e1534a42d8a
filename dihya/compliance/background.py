"""The compliance task started by ``App.start``: periodic anchors of the audit head (file and/or
audit channel) and the retention purge."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.actions import Action
from bot.i18n import Catalogs
from bot.ports import Clock, Store
from dihya.compliance.anchoring import anchor_file, channel_anchor
from dihya.compliance.retention import purge_expired

log = logging.getLogger("dihya.audit")
Publish = Callable[[str, tuple[Action, ...]], Awaitable[None]]


class ComplianceTask:
    __slots__ = ("_store", "_catalogs", "_publish", "_clock", "_file", "_channel", "_anchor_every",
                 "_retention_days", "_retention_every", "_posted", "_next_purge", "_may_act")

    def __init__(self, store: Store, catalogs: Catalogs, publish: Publish, clock: Clock, *,
                 file: Path | None, channel: str | None, anchor_every: float,
                 retention_days: int | None, retention_every: float,
                 may_act: Callable[[], bool] = lambda: True) -> None:
        self._store = store
        self._catalogs = catalogs
        self._publish = publish
        self._clock = clock
        self._file = file
        self._channel = channel
        self._anchor_every = anchor_every
        self._retention_days = retention_days
        self._retention_every = retention_every
        self._posted = ""
        self._next_purge = 0.0
        self._may_act = may_act  # whether this replica leads anchors and purges now (issue 16)

    @property
    def needed(self) -> bool:
        return bool(self._file or self._channel or self._retention_days)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a failed round is retried next period; the loop must not die
                log.exception("compliance round failed")
            await asyncio.sleep(self._anchor_every)

    async def tick(self) -> None:
        """One round: purge if due, then anchor (so an anchor never names a purged row)."""
        if not self._may_act():
            return
        now = self._clock()
        if self._retention_days and now >= self._next_purge:
            purged = await asyncio.to_thread(purge_expired, self._store, self._retention_days, now)
            self._next_purge = now + self._retention_every
            if purged.audit_rows or purged.jobs:
                log.info("retention purge", extra={"audit_rows": purged.audit_rows, "jobs": purged.jobs})
        if self._file is not None:
            await asyncio.to_thread(anchor_file, self._store, self._file, now)
        if self._channel:
            await self._post(now)

    async def _post(self, now: float) -> None:
        assert self._channel is not None
        head = await asyncio.to_thread(self._store.audit_head)
        if head is None or head.hash == self._posted:
            return
        found = channel_anchor(self._store, self._catalogs, self._channel, now)
        if found is not None:
            platform, send = found
            await self._publish(platform, (send,))
            self._posted = head.hash
