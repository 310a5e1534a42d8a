"""Making operations reports: the figures, the files, the archive row, the chat message.

Scheduled reports run on the replica that leads (``dihya.leader``) and each period is claimed by a
unique ``period_key`` in the archive before anything is posted: a restart, or a second replica that
took the lease over, finds the period reported and does not post it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bot.actions import Action, Send, Upload
from bot.clock import micros, now_us
from bot.i18n import N_, Catalogs, Msg
from bot.ports import Clock
from bot.registry import Attachment
from bot.reports import OpsFigures, ReportFacts, Window, figures
from dihya.reports.config import ReportChannel, ReportsConfig
from dihya.reports.render import chart, day, markdown
from dihya.store.reports_sql import ReportArchiveSql, ReportFiles, SavedReport

log = logging.getLogger("dihya.reports")
Publish = Callable[[str, Iterable[Action]], Awaitable[None]]
TITLE = N_("Operations report #{id}")


@dataclass(frozen=True, slots=True)
class MadeReport:
    saved: SavedReport
    files: ReportFiles
    figures: OpsFigures

    def summary(self) -> Msg:
        f = self.figures
        return Msg(N_("Operations report #{id} ({since} → {until}): {deploys} deploys, {incidents} incidents, "
                      "{alerts} alerts fired, {failed} failed jobs."),
                   {"id": self.saved.id, "since": day(f.window.since_us), "until": day(f.window.until_us),
                    "deploys": f.deploys.count, "incidents": f.incidents.opened, "alerts": f.alerts.fired,
                    "failed": f.jobs_failed})

    def attachments(self) -> tuple[Attachment, ...]:
        title = Msg(TITLE, {"id": self.saved.id})
        name = f"ops-report-{self.saved.id}"
        return (Attachment(f"{name}.md", self.files.markdown.encode(), title),
                Attachment(f"{name}.png", self.files.png, title))


class OpsReports:
    __slots__ = ("config", "archive", "_facts", "_catalogs", "_clock")

    def __init__(self, config: ReportsConfig, facts: ReportFacts, archive: ReportArchiveSql, catalogs: Catalogs,
                 clock: Clock) -> None:
        self.config, self.archive = config, archive
        self._facts, self._catalogs, self._clock = facts, catalogs, clock

    def locale_of(self, address: str) -> str | None:
        """The language configured for a channel (``[[reports.channels]]``), None when it has none."""
        found = self.config.channel(address)
        return found.locale if found else None

    def make(self, address: str, locale: str, window: Window, trigger: str,
             period_key: str | None = None) -> MadeReport | None:
        """Compute, render and keep a report; None when ``period_key`` was already reported."""
        found = figures(self._facts, window)
        files = ReportFiles(markdown(found, address, self._catalogs, locale), chart(found, self._catalogs, locale))
        draft = SavedReport(0, address, locale, trigger, window.since_us, window.until_us,
                            now_us(self._clock))
        report_id = self.archive.add(draft, files, period_key)
        if report_id is None:
            return None
        saved = SavedReport(report_id, address, locale, trigger, window.since_us, window.until_us, draft.created_us)
        log.info("operations report made", extra={"report": report_id, "trigger": trigger, "channel": address})
        return MadeReport(saved, files, found)

    # -- the schedule ------------------------------------------------------------------------------
    def due(self) -> list[tuple[ReportChannel, int]]:
        """Channels whose latest scheduled time is recent (within ``catch_up``) and not yet reported."""
        now = self._clock()
        due = []
        for channel in self.config.channels:
            fire_us = channel.last_fire_us(now)
            if micros(now) - fire_us <= micros(self.config.catch_up_s) and \
                    not self.archive.reported(channel.period_key(fire_us)):
                due.append((channel, fire_us))
        return due

    def run_due(self) -> list[tuple[ReportChannel, MadeReport]]:
        made = []
        for channel, fire_us in self.due():
            report = self.make(channel.address, channel.locale, Window.ending(fire_us, channel.days), "schedule",
                               channel.period_key(fire_us))
            if report is not None:  # None: another replica reported this period first
                made.append((channel, report))
        return made

    async def tick(self, publish: Publish, may_act: Callable[[], bool]) -> int:
        """One round on the leader: make what is due and post it; how many were posted."""
        if not self.config.channels or not may_act():
            return 0
        made = await asyncio.to_thread(self.run_due)
        for channel, report in made:
            platform, _, where = channel.address.partition(":")
            await publish(platform, self.actions(where, channel.locale, report))
        return len(made)

    async def run_forever(self, publish: Publish, may_act: Callable[[], bool]) -> None:
        while True:
            try:
                await self.tick(publish, may_act)
            except Exception:  # a failed round is tried again next time; the loop must not die
                log.exception("operations report round failed")
            await asyncio.sleep(self.config.check_seconds)

    def actions(self, channel: str, locale: str, report: MadeReport) -> tuple[Action, ...]:
        text = self._catalogs.render(report.summary(), locale)
        return (Send(channel, text), *(Upload(channel, a.filename, a.content, self._catalogs.render(a.title, locale))
                                       for a in report.attachments()))
