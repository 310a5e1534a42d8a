"""The operations report as files: Markdown rendered through the catalogs in the channel's language,
and a PNG chart (matplotlib's Agg canvas: no display, no pyplot global state, safe off the event loop)."""

from __future__ import annotations

import io

from bot.clock import utc_datetime
from bot.i18n import N_, Catalogs, Msg
from bot.incidents import duration_text
from bot.reports import OpsFigures

NONE = "-"
Line = Msg | None


def day(us: int) -> str:
    return f"{utc_datetime(us):%Y-%m-%d %H:%M} UTC"


def _ranked(items: tuple[tuple[str, int], ...], durations: bool = False) -> str:
    if not items:
        return NONE
    return ", ".join(f"{name} ({duration_text(n) if durations else n})" for name, n in items)


def _rate(rate: float | None) -> str:
    return NONE if rate is None else f"{rate:.0%}"


def markdown(f: OpsFigures, channel: str, catalogs: Catalogs, locale: str) -> str:
    d, a, i, al = f.deploys, f.approvals, f.incidents, f.alerts
    lines: list[Line] = [
        Msg(N_("# Operations report: {channel}"), {"channel": channel}),
        Msg(N_("Period: {since} → {until}"), {"since": day(f.window.since_us), "until": day(f.window.until_us)}),
        None,
        Msg(N_("## Deploys")),
        Msg(N_("- Deploys: {count} ({succeeded} succeeded, {failed} failed)"),
            {"count": d.count, "succeeded": d.succeeded, "failed": d.failed}),
        Msg(N_("- Success rate: {rate}"), {"rate": _rate(d.success_rate)}),
        Msg(N_("- Lead time from request to done (median): {duration}"), {"duration": duration_text(d.lead_time_us)}),
        Msg(N_("- Top services: {services}"), {"services": _ranked(d.top_services)}),
        None,
        Msg(N_("## Approvals")),
        Msg(N_("- Requests: {count}, median wait {duration}"),
            {"count": a.count, "duration": duration_text(a.median_wait_us)}),
        Msg(N_("- Refused: {refused}, expired: {expired}"), {"refused": a.refused, "expired": a.expired}),
        None,
        Msg(N_("## Incidents")),
        Msg(N_("- Opened: {count} ({open} still open)"), {"count": i.opened, "open": i.still_open}),
        Msg(N_("- MTTA {mtta}, MTTR {mttr}"), {"mtta": duration_text(i.mtta_us), "mttr": duration_text(i.mttr_us)}),
        Msg(N_("- NIS2 deadlines met: {met} of {due} ({significant} significant incidents)"),
            {"met": i.deadlines_met, "due": i.deadlines_due, "significant": i.significant}),
        None,
        Msg(N_("## Alerts")),
        Msg(N_("- Alerts fired: {count}"), {"count": al.fired}),
        Msg(N_("- Top firing (time firing): {alerts}"), {"alerts": _ranked(al.top_firing, durations=True)}),
        Msg(N_("- Noisiest (times fired): {alerts}"), {"alerts": _ranked(al.noisiest)}),
        None,
        Msg(N_("## Jobs")),
        Msg(N_("- Failed jobs: {count} ({kinds})"), {"count": f.jobs_failed, "kinds": _ranked(f.failed_kinds)}),
    ]
    return "\n".join("" if line is None else catalogs.render(line, locale) for line in lines) + "\n"


def chart(f: OpsFigures, catalogs: Catalogs, locale: str) -> bytes:
    """Deploys (succeeded and failed, stacked) and alerts fired per day."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # loaded when a report is made
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    def text(msgid: str) -> str:
        return catalogs.render(Msg(msgid), locale)

    labels = [f"{utc_datetime(d.start_us):%m-%d}" for d in f.days]
    x = list(range(len(f.days)))
    figure = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    ok = [d.deploys_ok for d in f.days]
    axes.bar([n - 0.2 for n in x], ok, 0.4, label=text(N_("Deploys succeeded")), color="#2e7d32")
    axes.bar([n - 0.2 for n in x], [d.deploys_failed for d in f.days], 0.4, bottom=ok,
             label=text(N_("Deploys failed")), color="#c62828")
    axes.bar([n + 0.2 for n in x], [d.alerts for d in f.days], 0.4, label=text(N_("Alerts fired")), color="#f9a825")
    axes.set_xticks(x, labels)
    axes.set_title(text(N_("Deploys and alerts per day")))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
