"""Inbound sources that must have one consumer run on the leader replica only (issue 16).

``SourceLeadership`` watches the fenced lease (``dihya.leader``) and moves the sources with it: on
the replica that takes the lease it calls ``lead`` (start Telegram polling, consume the Matrix
sync stream from the shared token), on one that loses it ``follow`` (stop). A dead leader's sources
thus move within the lease's ttl plus a renewal period plus one check here; and since each source
also asks the fenced lease before acting on what it consumed, an old leader waking from a pause
acts on nothing while this loop catches up and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from dihya.chat import LeaderSource

log = logging.getLogger("dihya.leader")


class SourceLeadership:
    """Leads or follows with every source as the lease says; ``every`` seconds between checks."""

    def __init__(self, may_act: Callable[[], bool], sources: Sequence[LeaderSource], every: float) -> None:
        self._may_act = may_act
        self._sources = tuple(sources)
        self._every = every
        self._leading = False

    def duties(self) -> tuple[str, ...]:
        """The sources this replica consumes now, for ``/readyz``."""
        return tuple(s.duty for s in self._sources) if self._leading else ()

    async def run(self) -> None:
        """Check the lease until cancelled; on the way out, stop leading."""
        try:
            while True:
                leads = await asyncio.to_thread(self._may_act)
                if leads != self._leading:
                    await self._switch(leads)
                await asyncio.sleep(self._every)
        finally:
            if self._leading:
                with contextlib.suppress(Exception):
                    await self._switch(False)

    async def _switch(self, lead: bool) -> None:
        self._leading = lead
        for source in self._sources:
            try:
                await (source.lead(self._may_act) if lead else source.follow())
            except Exception:  # one source failing to move must not keep the others where they were
                log.exception("leader source not moved", extra={"duty": source.duty, "leading": lead})
        log.info("leader sources " + ("started" if lead else "stopped"),
                 extra={"duties": [s.duty for s in self._sources]})
