"""status, graph, query: how a server is doing, as numbers, as a picture, or as raw PromQL.

Every Prometheus call runs in ``Reply(later=...)``, off the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.argtypes import Choice, Duration, Name, Text
from bot.clock import micros
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.incidents import duration_text
from bot.monitoring import Metrics
from bot.registry import Arg, Attachment, Command, Reply

DEFAULT_RANGE_S = 3600
# Labels of the default status templates; a configured template of another name shows its own name.
STATUS_LABELS: Mapping[str, str] = {"up": N_("reachable"), "cpu": N_("CPU"), "memory": N_("memory"),
                                    "disk": N_("disk (fullest)"), "load": N_("load (1 min)")}
PERCENT = frozenset({"cpu", "memory", "disk"})
UNITS: Mapping[str, str] = {"cpu": "%", "memory": "%", "disk": "%", "load": "load"}

METRIC = Choice(
    {
        "cpu": ("processor", "processeur", "معالج", "ⴰⵎⵙⴽⴰⵔ"),
        "memory": ("mem", "ram", "mémoire", "ذاكرة", "ⵜⴰⵡⵏⴳⵉⵎⵜ"),
        "disk": ("disque", "قرص", "ⴰⴹⵕⵉⵙ"),
        "load": ("charge", "حمل", "ⴰⵣⴷⴰⵢ"),
    },
    expected=N_("cpu, memory, disk or load"),
)


def metrics_of(ctx: Context) -> Metrics:
    if ctx.services.metrics is None:
        raise UserError(N_("Prometheus is not configured (set DIHYA_PROMETHEUS_URL)."))
    return ctx.services.metrics


def _dashboard(ctx: Context, server: str) -> tuple[Msg, ...]:
    url = ctx.services.monitoring.dashboard_url(server)
    return (Msg(N_("Dashboard: {url}"), {"url": url}),) if url else ()


def _value(name: str, value: float | None) -> Msg | str:
    if value is None:
        return Msg(N_("no data"))
    if name == "up":
        return Msg(N_("✅ up")) if value >= 1 else Msg(N_("❌ down"))
    if name in PERCENT:
        return Msg(N_("{value} %"), {"value": f"{value:.1f}"})
    return f"{value:.2f}"


def status_lines(server: str, values: Mapping[str, float | None]) -> tuple[Msg, ...]:
    rows = [Msg(N_("• {name}: {value}"), {"name": Msg(STATUS_LABELS[name]) if name in STATUS_LABELS else name,
                                         "value": _value(name, value)}) for name, value in values.items()]
    return (Msg(N_("Status of {server}:"), {"server": server}), *rows)


def status(ctx: Context, args: Mapping[str, object]) -> Reply:
    server = str(args["server"])
    metrics, config = metrics_of(ctx), ctx.services.monitoring

    def work() -> Reply:
        values = metrics.status(config.instance(server), config.status_templates)
        return Reply((*status_lines(server, values), *_dashboard(ctx, server)), target=server,
                     data={"values": dict(values), "dashboard": config.dashboard_url(server)})

    return Reply((), target=server, later=work)


def graph(ctx: Context, args: Mapping[str, object]) -> Reply:
    metric, server = str(args["metric"]), str(args["server"])
    seconds = int(str(args.get("range") or DEFAULT_RANGE_S))
    metrics, config = metrics_of(ctx), ctx.services.monitoring
    template = config.graph_templates.get(metric)
    if template is None:
        raise UserError(N_("No graph is configured for {metric}."), metric=metric)
    span = duration_text(micros(seconds))

    def work() -> Reply:
        png = metrics.chart(template, config.instance(server), seconds, f"{metric} — {server} ({span})",
                            UNITS.get(metric, metric))
        title = Msg(N_("{metric} on {server}, last {range}"), {"metric": metric, "server": server, "range": span})
        return Reply(_dashboard(ctx, server), target=server, details={"metric": metric, "seconds": seconds},
                     uploads=(Attachment(f"{metric}-{server}.png", png, title),))

    return Reply((), target=server, later=work)


def query(ctx: Context, args: Mapping[str, object]) -> Reply:
    promql = str(args["promql"])
    metrics, rows = metrics_of(ctx), ctx.services.monitoring.query_rows

    def work() -> Reply:
        return Reply((metrics.table(promql, rows),), target="promql")

    return Reply((), target="promql", later=work)


_SERVER = Arg("server", Name(), N_("server name"))

COMMANDS = (
    Command(
        name="status",
        phrases={"en": ("status {server}",), "fr": ("état {server}", "statut {server}"),
                 "ar": ("حالة {server}", "الحالة {server}"), "tzm": ("ⴰⴷⴷⴰⴷ {server}",)},
        args=(_SERVER,),
        permission="read",
        help=N_("Show whether a server is up, with its CPU, memory, disk and load (from Prometheus)."),
        handler=status,
        examples=("status web-01",),
    ),
    Command(
        name="graph",
        phrases={"en": ("graph {metric} {server} [{range}]",),
                 "fr": ("graphique {metric} {server} [{range}]", "graphe {metric} {server} [{range}]"),
                 "ar": ("رسم {metric} {server} [{range}]",), "tzm": ("ⵜⴰⵡⵍⴰⴼⵜ {metric} {server} [{range}]",)},
        args=(Arg("metric", METRIC, N_("metric")), _SERVER,
              Arg("range", Duration(60, 30 * 86400), N_("time range"), optional=True)),
        permission="read",
        help=N_("Draw a chart of cpu, memory, disk or load on a server over a range (default 1h)."),
        handler=graph,
        examples=("graph cpu web-01 1h",),
    ),
    Command(
        name="query",
        phrases={"en": ("query {promql}", "promql {promql}"), "fr": ("requête {promql}",),
                 "ar": ("استعلام {promql}",), "tzm": ("ⵙⵇⵙⵉ {promql}",)},
        args=(Arg("promql", Text(max_length=1000), N_("PromQL query")),),
        permission="alerts.manage",
        help=N_("Run a read-only PromQL query and show the result as a table."),
        handler=query,
        examples=("query up",),
    ),
)
