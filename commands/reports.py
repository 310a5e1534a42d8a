"""report now [PERIOD]: the operations report for the last PERIOD (7 days unless said), posted here as a
Markdown file and a chart, in the channel's language when ``[[reports.channels]]`` gives one (issue 17).
The command is bound to the report maker when the app is built."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.argtypes import Duration
from bot.clock import micros, now_us
from bot.context import Context
from bot.i18n import N_, Msg
from bot.registry import Arg, Attachment, Command, Reply
from bot.reports import DAY_US, Window

PERMISSION = "reports.run"
DEFAULT_SECONDS = 7 * 86_400


class MadeReport(Protocol):
    def summary(self) -> Msg: ...
    def attachments(self) -> tuple[Attachment, ...]: ...


class ReportMaker(Protocol):
    def locale_of(self, address: str) -> str | None: ...
    def make(self, address: str, locale: str, window: Window, trigger: str,
             period_key: str | None = None) -> MadeReport | None: ...


def report_commands(reports: ReportMaker) -> tuple[Command, ...]:
    def now(ctx: Context, args: Mapping[str, object]) -> Reply:
        period = args.get("period")
        seconds = period if isinstance(period, int) else DEFAULT_SECONDS
        locale = reports.locale_of(ctx.place.address) or ctx.locale
        until_us = now_us(ctx.services.clock)
        window = Window(until_us - micros(seconds), until_us)

        def work() -> Reply:
            made = reports.make(ctx.place.address, locale, window, "chat")
            assert made is not None  # a report asked for in chat claims no period
            return Reply((made.summary(),), target=ctx.place.address, locale=locale,
                         details={"days": round(micros(seconds) / DAY_US, 2)}, uploads=made.attachments())

        return Reply((), later=work, locale=locale)

    return (
        Command(
            name="report.now",
            phrases={"en": ("report now [{period}]",), "fr": ("rapport maintenant [{period}]",),
                     "ar": ("تقرير الآن [{period}]",), "tzm": ("ⴰⵏⵎⵎⴰⵍ ⴷⵖⵉ [{period}]",)},
            args=(Arg("period", Duration(3600, 90 * 86_400), N_("period"), optional=True),),
            permission=PERMISSION,
            help=N_("Post the operations report (deploys, approvals, incidents, alerts, failed jobs) for the "
                    "last period, 7 days unless given, as a Markdown file and a chart."),
            handler=now,
            examples=("report now", "report now 7d"),
        ),
    )
