"""servers add / list / show / remove: the inventory that deploys and status checks refer to."""

from __future__ import annotations

from collections.abc import Mapping

from bot.argtypes import Address, Name
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.ports import Server
from bot.registry import Arg, Command, Reply
from commands.common import ENVIRONMENT, say


def _server(ctx: Context, name: str) -> Server:
    found = ctx.services.store.server(name)
    if found is None:
        raise UserError(N_("No server named {name}. “servers list” shows them."), name=name)
    return found


def add(ctx: Context, args: Mapping[str, object]) -> Reply:
    server = Server(str(args["name"]), str(args["address"]), str(args["env"]))
    refused = ctx.services.addresses.refusal(server.address)
    if refused is not None:
        raise UserError(REFUSED_ADDRESS, value=server.address, arg=Msg(_ADDRESS.label), kind=Msg(refused))
    if not ctx.services.store.add_server(server):
        raise UserError(N_("A server named {name} already exists."), name=server.name)
    return say(N_("Added {name} ({address}, {env})."), target=server.name,
               name=server.name, address=server.address, env=server.environment)


def listing(ctx: Context, args: Mapping[str, object]) -> Reply:
    servers = ctx.services.store.servers()
    if not servers:
        return say(N_("No servers yet. “servers add NAME ADDRESS ENV” adds one."))
    rows = [Msg(N_("• #{id} {name} — {address} ({env})"),  # the id is the API's (serveurs/{id})
                {"id": s.id, "name": s.name, "address": s.address, "env": s.environment}) for s in servers]
    return Reply((Msg(N_("Servers ({count}):"), {"count": len(servers)}), *rows))


def show(ctx: Context, args: Mapping[str, object]) -> Reply:
    s = _server(ctx, str(args["name"]))
    return say(N_("{name} (#{id}): address {address}, environment {env}."), target=s.name,
               name=s.name, id=s.id, address=s.address, env=s.environment)


def remove(ctx: Context, args: Mapping[str, object]) -> Reply:
    s = _server(ctx, str(args["name"]))
    ctx.services.store.remove_server(s.name)
    return say(N_("Removed {name}."), target=s.name, name=s.name)


_NAME = Arg("name", Name(), N_("server name"))
_ADDRESS = Arg("address", Address(), N_("address"))
REFUSED_ADDRESS = N_("“{value}” is not allowed as {arg}: it is a {kind} address. The settings file can allow it "
                     "([inventory] allow_addresses).")

COMMANDS = (
    Command(
        name="servers.add",
        phrases={"en": ("servers add {name} {address} {env}", "server add {name} {address} {env}"),
                 "fr": ("serveurs ajouter {name} {address} {env}", "ajouter serveur {name} {address} {env}"),
                 "ar": ("خوادم أضف {name} {address} {env}", "أضف خادم {name} {address} {env}"),
                 "tzm": ("ⵉⵙⵉⵔⴼⵉⵔⵏ ⵔⵏⵓ {name} {address} {env}",)},
        args=(_NAME, _ADDRESS, Arg("env", ENVIRONMENT, N_("environment"))),
        permission="servers.add",
        help=N_("Add a server to the inventory."),
        handler=add,
        mutating=True,
        private=frozenset({"address"}),  # encrypted at rest in the inventory: not copied into the audit log
        examples=("servers add web-01 10.0.0.5 production",),
    ),
    Command(
        name="servers.list",
        phrases={"en": ("servers list", "servers"), "fr": ("serveurs liste", "serveurs"),
                 "ar": ("خوادم قائمة", "الخوادم"), "tzm": ("ⵉⵙⵉⵔⴼⵉⵔⵏ ⵜⴰⵍⴳⴰⵎⵜ", "ⵉⵙⵉⵔⴼⵉⵔⵏ")},
        permission="read",
        help=N_("List the servers in the inventory."),
        handler=listing,
        examples=("servers list",),
    ),
    Command(
        name="servers.show",
        phrases={"en": ("servers show {name}", "server {name}"), "fr": ("serveurs voir {name}", "serveur {name}"),
                 "ar": ("خوادم اعرض {name}", "خادم {name}"), "tzm": ("ⵉⵙⵉⵔⴼⵉⵔⵏ ⵙⴽⵏ {name}",)},
        args=(_NAME,),
        permission="read",
        help=N_("Show one server."),
        handler=show,
        examples=("servers show web-01",),
    ),
    Command(
        name="servers.remove",
        phrases={"en": ("servers remove {name}", "server remove {name}"),
                 "fr": ("serveurs supprimer {name}", "supprimer serveur {name}"),
                 "ar": ("خوادم احذف {name}", "احذف خادم {name}"), "tzm": ("ⵉⵙⵉⵔⴼⵉⵔⵏ ⴽⴽⵙ {name}",)},
        args=(_NAME,),
        permission="servers.remove",
        help=N_("Remove a server from the inventory (needs approval)."),
        handler=remove,
        mutating=True,
        examples=("servers remove web-01",),
    ),
)
