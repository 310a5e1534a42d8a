"""logs SERVICE in ENV [since 15m] [lines 200] [grep TEXT]: a service's recent logs, from where it runs.

Bounded (at most a week back, 5000 lines, and the reader's byte limit), redacted, filtered with a
linear-time regular expression (``grep /PATTERN/``) or plain text; long answers come as a file.
The audit row keeps the query (these arguments), never the lines.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.argtypes import Duration, Integer, Name, Text
from bot.clock import micros
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_
from bot.incidents import duration_text
from bot.registry import Arg, Command, Reply
from bot.servicelogs import LogQuery, log_reply
from commands.common import ENVIRONMENT

DEFAULT_SINCE_S = 15 * 60
DEFAULT_LINES = 200
MAX_SINCE_S = 7 * 86400
MAX_LINES = 5000


def query_of(args: Mapping[str, object]) -> LogQuery:
    """The typed query from parsed arguments (chat and API alike); ``grep /…/`` is a regular expression."""
    grep = str(args.get("grep") or "").strip() or None
    regex = grep is not None and len(grep) > 2 and grep.startswith("/") and grep.endswith("/")
    return LogQuery(str(args["service"]), str(args["env"]), int(str(args.get("since") or DEFAULT_SINCE_S)),
                    int(str(args.get("lines") or DEFAULT_LINES)), grep[1:-1] if regex and grep else grep, regex)


def logs(ctx: Context, args: Mapping[str, object]) -> Reply:
    reader = ctx.services.logs
    if reader is None:
        raise UserError(N_("Service logs are not available on this bot."))
    query = query_of(args)
    ctx.services.catalog.deployment(query.service, query.env)  # unknown ones are refused at once
    span = duration_text(micros(query.since_s))
    return Reply((), target=f"{query.service}/{query.env}", later=lambda: log_reply(query, reader.read(query), span))


COMMANDS = (
    Command(
        name="logs",
        # The short form of each phrase is listed too: without optional parts, it takes the parser's fast path.
        phrases={"en": ("logs {service} in {env} [since {since}] [lines {lines}] [grep {grep}]",
                        "logs {service} in {env}"),
                 "fr": ("journaux {service} en {env} [depuis {since}] [lignes {lines}] [filtre {grep}]",
                        "journaux {service} en {env}"),
                 "ar": ("سجلات {service} في {env} [منذ {since}] [أسطر {lines}] [ابحث {grep}]",
                        "سجلات {service} في {env}"),
                 "tzm": ("ⵉⵖⵎⵉⵙⵏ {service} ⴳ {env} [ⵙⴳ {since}] [ⵉⵣⵔⵉⵔⴳⵏ {lines}] [ⵔⵣⵓ {grep}]",
                         "ⵉⵖⵎⵉⵙⵏ {service} ⴳ {env}")},
        args=(Arg("service", Name(), N_("service")), Arg("env", ENVIRONMENT, N_("environment")),
              Arg("since", Duration(60, MAX_SINCE_S), N_("time span (at most 7d)"), optional=True),
              Arg("lines", Integer(1, MAX_LINES), N_("number of lines"), optional=True),
              Arg("grep", Text(max_length=200), N_("search text"), optional=True)),
        permission="read.logs",
        help=N_("Show a service's recent logs (grep TEXT, or grep /REGEX/; long results come as a file)."),
        handler=logs,
        examples=("logs web in staging since 1h lines 50",),
    ),
)
