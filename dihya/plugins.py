"""Plugins: installed Python distributions that declare entry points in groups Dihya reads at start.

``dihya.commands``: a tuple of ``Command`` declarations, exactly like ``commands/*``. The entry
point's name is the plugin's namespace: every permission its commands need starts with it
(``hello.greet``), so a plugin cannot borrow a built-in permission. ``dihya.catalogs``: the
folder holding the plugin's own Babel domain (``LOCALE/LC_MESSAGES/NAME.po``, NAME being the entry
point's name). Nothing third-party is imported unless its distribution is named in
``DIHYA_PLUGINS``; a plugin that fails to load (an import error, a declaration the registry
refuses) is logged and left out, and the rest of the bot starts as usual.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bot.grammar import PatternError
from bot.i18n import DEFAULT_LOCALE, LOCALES, read_domain
from bot.rbac import DEFAULT_GRANTS, AccessPolicy
from bot.registry import Command, Registry

COMMANDS_GROUP = "dihya.commands"
CATALOGS_GROUP = "dihya.catalogs"
GROUPS = (COMMANDS_GROUP, CATALOGS_GROUP)
ADMIN_ONLY = frozenset({"admin"})
_NAMESPACE = re.compile(r"[a-z][a-z0-9_]{0,31}")
log = logging.getLogger("dihya.plugins")


class PluginError(Exception):
    """A plugin's declarations cannot be used; the message says why (no plugin-supplied text)."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One installed distribution with Dihya entry points, as ``dihya plugins`` lists it."""

    name: str
    version: str
    entry_points: tuple[str, ...]  # "group:name", what it declares (known without importing it)
    loaded: bool = False
    commands: tuple[str, ...] = ()  # command names it added, once loaded
    permissions: tuple[str, ...] = ()
    problem: str = ""  # why it was not loaded, when it was allowed
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Plugins:
    found: tuple[PluginInfo, ...] = ()
    commands: tuple[Command, ...] = ()
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset(p for c in self.commands for p in c.possible_permissions)

    def policy(self, policy: AccessPolicy) -> AccessPolicy:
        """``policy`` with every plugin permission the RBAC matrix does not name granted to admins only."""
        defaults = {p: ADMIN_ONLY for p in self.permissions if p not in policy.grants}
        return AccessPolicy({**policy.grants, **defaults}, policy.approvals) if defaults else policy


Distributions = Callable[[], Iterable[metadata.Distribution]]


def canonical(name: str) -> str:
    """A distribution name as pip compares them (``Dihya_Plugin.Hello`` is ``dihya-plugin-hello``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def load_plugins(allowed: Iterable[str], builtins: Iterable[Command],
                 distributions: Distributions = metadata.distributions) -> Plugins:
    """Find every distribution with Dihya entry points; import and check those ``allowed`` names."""
    wanted = {canonical(n) for n in allowed}
    accepted: list[Command] = list(builtins)
    first_plugin = len(accepted)
    found: list[PluginInfo] = []
    translations: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    for dist in distributions():
        points = [ep for ep in dist.entry_points if ep.group in GROUPS]
        name = canonical(dist.metadata["Name"] or "")
        if not points or name in seen:  # a distribution on sys.path twice: the first one wins, as import does
            continue
        seen.add(name)
        info = PluginInfo(name, dist.version, tuple(sorted(f"{ep.group}:{ep.name}" for ep in points)))
        if name in wanted:
            info = _load(info, points, accepted, translations)
        found.append(info)
    for name in sorted(wanted - seen):
        log.warning("plugin named in DIHYA_PLUGINS is not installed", extra={"plugin": name})
    return Plugins(tuple(sorted(found, key=lambda p: p.name)), tuple(accepted[first_plugin:]), translations)


def _load(info: PluginInfo, points: list[metadata.EntryPoint], accepted: list[Command],
          translations: dict[str, dict[str, str]]) -> PluginInfo:
    warnings: list[str] = []
    try:
        commands = [c for ep in points if ep.group == COMMANDS_GROUP for c in _commands(ep, warnings)]
        Registry([*accepted, *commands])  # the registry's own checks, against everything loaded so far
        catalogs = [_catalog(ep, warnings) for ep in points if ep.group == CATALOGS_GROUP]
    except Exception as err:
        problem = f"{type(err).__name__}: {str(err)[:200]}" if isinstance(err, PluginError | PatternError) \
            else f"{type(err).__name__} while loading"
        log.error("plugin not loaded", extra={"plugin": info.name, "problem": problem})
        return dataclasses.replace(info, problem=problem)
    accepted.extend(commands)
    for catalog in catalogs:
        for loc, table in catalog.items():
            translations.setdefault(loc, {}).update(table)
    for warning in warnings:
        log.warning("plugin loaded with a warning", extra={"plugin": info.name, "warning": warning})
    log.info("plugin loaded", extra={"plugin": info.name, "version": info.version,
                                     "commands": [c.name for c in commands]})
    permissions = tuple(sorted({p for c in commands for p in c.possible_permissions}))
    return dataclasses.replace(info, loaded=True, commands=tuple(c.name for c in commands),
                               permissions=permissions, warnings=tuple(warnings))


def _commands(ep: metadata.EntryPoint, warnings: list[str]) -> list[Command]:
    if not _NAMESPACE.fullmatch(ep.name):
        raise PluginError(f"entry point name {ep.name!r} must be a lowercase identifier (its namespace)")
    declared = ep.load()
    if not isinstance(declared, tuple | list) or not all(isinstance(c, Command) for c in declared):
        raise PluginError(f"{ep.value} must be a tuple of Command declarations")
    return [_checked(ep.name, c, warnings) for c in declared]


def _checked(namespace: str, command: Command, warnings: list[str]) -> Command:
    for permission in command.possible_permissions:
        if not permission.startswith(f"{namespace}.") or permission in DEFAULT_GRANTS:
            raise PluginError(f"command {command.name!r}: permission {permission!r} is not in the "
                              f"plugin's namespace ({namespace}.*)")
    if DEFAULT_LOCALE not in command.phrases:
        raise PluginError(f"command {command.name!r} has no English phrase")
    missing = [loc for loc in LOCALES if not command.phrases.get(loc)]
    if not missing:
        return command
    warnings.append(f"command {command.name!r} has no phrase in {', '.join(missing)}: English is used")
    phrases = {**command.phrases, **dict.fromkeys(missing, command.phrases[DEFAULT_LOCALE])}
    return dataclasses.replace(command, phrases=phrases)


def _catalog(ep: metadata.EntryPoint, warnings: list[str]) -> dict[str, dict[str, str]]:
    folder = ep.load()
    if not isinstance(folder, str | Path) or not Path(folder).is_dir():
        raise PluginError(f"{ep.value} must name the folder of the {ep.name!r} catalogs")
    tables = read_domain(Path(folder), ep.name)
    missing = [loc for loc in LOCALES if loc != DEFAULT_LOCALE and loc not in tables]
    if missing:
        warnings.append(f"catalog {ep.name!r} has no {', '.join(missing)} translation: English is used")
    return tables
