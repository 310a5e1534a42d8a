"""webhooks / webhook test NAME: the outbound webhook subscriptions and how their deliveries went
(issue 17). The commands are bound to the webhook sender when the app is built."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.argtypes import Name
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.registry import Arg, Command, Reply
from commands.common import say

PERMISSION = "webhooks.manage"


@dataclass(frozen=True, slots=True)
class WebhookStatus:
    name: str
    host: str
    events: tuple[str, ...]
    pending: int
    last: str  # the last attempt's status (200, 503, ConnectTimeout, refused: …), "" before any
    refused: str | None  # why its address is refused (a message id), None when it may be called


class Webhooks(Protocol):
    def statuses(self) -> Sequence[WebhookStatus]: ...
    def test(self, name: str) -> int: ...


def webhook_commands(webhooks: Webhooks) -> tuple[Command, ...]:
    def overview(ctx: Context, args: Mapping[str, object]) -> Reply:
        statuses = webhooks.statuses()
        if not statuses:
            return say(N_("No webhook is configured ([webhooks.subscriptions] in the settings file)."))
        lines = [Msg(N_("Webhooks ({count}):"), {"count": len(statuses)})]
        for s in statuses:
            if s.refused is not None:
                lines.append(Msg(N_("• {name} → {host}: refused, its address is {kind}"),
                                 {"name": s.name, "host": s.host, "kind": Msg(s.refused)}))
                continue
            lines.append(Msg(N_("• {name} → {host} ({events}): last status {last}, {pending} waiting"),
                             {"name": s.name, "host": s.host, "events": ", ".join(s.events),
                              "last": s.last or "—", "pending": s.pending}))
        return Reply(tuple(lines))

    def test(ctx: Context, args: Mapping[str, object]) -> Reply:
        name = str(args["name"])
        found = next((s for s in webhooks.statuses() if s.name == name), None)
        if found is None:
            raise UserError(N_("No webhook named {name}. Type “webhooks” for the list."), name=name)
        if found.refused is not None:
            raise UserError(N_("The webhook {name} is refused: its address is {kind}."), name=name,
                            kind=Msg(found.refused))
        delivery = webhooks.test(name)
        return say(N_("Test delivery #{id} queued for {name}; “webhooks” shows how it went."),
                   target=name, id=delivery, name=name)

    return (
        Command(
            name="webhooks",
            phrases={"en": ("webhooks",), "fr": ("webhooks",), "ar": ("الخطافات",), "tzm": ("ⵉⵙⵏⴰⵔⵏ",)},
            permission=PERMISSION,
            help=N_("List the outbound webhooks with their last delivery status."),
            handler=overview,
            examples=("webhooks",),
        ),
        Command(
            name="webhook.test",
            phrases={"en": ("webhook test {name}",), "fr": ("webhook tester {name}",),
                     "ar": ("اختبر خطاف {name}",), "tzm": ("ⴰⵔⵎ ⴰⵙⵏⴰⵔ {name}",)},
            args=(Arg("name", Name(), N_("webhook")),),
            permission=PERMISSION,
            mutating=True,
            help=N_("Send a signed test event to a webhook."),
            handler=test,
            examples=("webhook test ops",),
        ),
    )
