"""``ServerInventories``: Ansible inventories of the servers in the store — all of them, an
environment's, or one — each address checked again on the way out (a row stored before the address
rules, or written around them, must not reach Ansible as a zone id, a template or a loopback host),
with the SSH settings as the inventory's variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bot.addresses import STRICT, AddressPolicy, parse_address
from bot.i18n import N_, Msg
from bot.ports import Server
from dihya.runners.base import RunnerError


class ServerList(Protocol):
    def servers(self) -> list[Server]: ...
    def server(self, name: str) -> Server | None: ...


class ServerInventories:
    def __init__(self, store: ServerList, addresses: AddressPolicy = STRICT,
                 connection: Mapping[str, str] | None = None, trusted: frozenset[Server] = frozenset()) -> None:
        self._store = store
        self._trusted = trusted  # whole entries (name and address) accepted as they are: the demo's own machine
        self._addresses = addresses
        self._connection = dict(connection or {})

    def group(self, target: str) -> dict[str, Any]:
        """``all``, an environment, or one server."""
        servers = [s for s in self._store.servers() if target in ("all", s.environment, s.name)]
        if not servers:
            raise RunnerError(Msg(N_("No servers in {env} to run on."), {"env": target}))
        return self._inventory(servers)

    def environment(self, env: str) -> dict[str, Any]:
        servers = [s for s in self._store.servers() if s.environment == env]
        if not servers:
            raise RunnerError(Msg(N_("No servers in {env} to run on."), {"env": env}))
        return self._inventory(servers)

    def server(self, name: str) -> dict[str, Any]:
        server = self._store.server(name)
        if server is None:
            raise RunnerError(Msg(N_("No server named {name}. “servers list” shows them."), {"name": name}))
        return self._inventory([server])

    def _inventory(self, servers: list[Server]) -> dict[str, Any]:
        return {"all": {"hosts": dict(self._host(s) for s in servers), "vars": dict(self._connection)}}

    def _host(self, server: Server) -> tuple[str, dict[str, str]]:
        address = parse_address(server.address)
        if server in self._trusted and address is not None:
            return server.name, {"ansible_host": address}
        if address is None or self._addresses.refusal(address) is not None:
            raise RunnerError(Msg(N_("The address of {name} is not a valid server address; fix it with “servers "
                                     "remove” and “servers add”."), {"name": server.name}))
        return server.name, {"ansible_host": address}
