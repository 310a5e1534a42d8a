"""Command declarations: each command is declared once, beside its handler, in ``commands/``.

A declaration holds the phrases per locale, the typed arguments, the permission it needs (the
approval policy follows from the permission, see ``bot.rbac``), the help message and the handler.
The registry compiles every phrase once and indexes it by its first word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.argtypes import ArgType
from bot.grammar import Element, Group, Literal, PatternError, Slot, compile_phrase, literal_prefix
from bot.i18n import LOCALES, Msg

if TYPE_CHECKING:
    from bot.context import Context


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    kind: ArgType
    label: str  # gettext message id naming the argument in errors and help
    optional: bool = False
    # A secret value (a password, a token): never audited, never repeated in an echo, an error or an
    # approval request, and a message that carried it where others can read it is removed if it can be.
    confidential: bool = False


@dataclass(slots=True)  # built for every message: a frozen init costs ~3x per field
class Reply:
    """What a handler answers: translated lines, and what the audit row should say."""

    lines: tuple[Msg, ...]
    target: str = ""
    outcome: str = "ok"
    details: Mapping[str, object] = field(default_factory=dict)
    key: str | None = None  # names the reply so it can be edited later (a job's status message)
    ref: str = ""  # job or request id for the audit row
    edits: tuple[tuple[str, tuple[Msg, ...]], ...] = ()  # (message key, new lines) of earlier messages
    uploads: tuple[Attachment, ...] = ()  # files posted in the same thread (graphs, exports)
    # Work that does I/O (a Prometheus query, an Alertmanager call): the runtime runs it off the
    # event loop and its Reply replaces this one (which may hold a "working on it" line or none).
    later: Callable[[], Reply] | None = None
    locale: str | None = None  # answer in this language instead of the asker's (``lang fr`` confirms in French)
    # The result as data for a typed caller (the HTTP API answers it as JSON): never shown in chat, never audited.
    data: object = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to post: its bytes, or the path of a spooled file (an export) that the runtime
    deletes once it has been posted (see ``bot.actions.Upload``)."""

    filename: str
    content: bytes | Path
    title: Msg


Handler = Callable[["Context", Mapping[str, object]], Reply]
# Checks a command's arguments before an approval is asked for it; raises UserError to refuse.
Check = Callable[["Context", Mapping[str, object]], None]


@dataclass(frozen=True, slots=True)
class ByArgument:
    """A permission that depends on one argument, e.g. deploying to production vs elsewhere."""

    arg: str
    cases: Mapping[str, str]
    default: str

    def __call__(self, args: Mapping[str, object]) -> str:
        return self.cases.get(str(args.get(self.arg)), self.default)

    @property
    def possible(self) -> frozenset[str]:
        return frozenset({self.default, *self.cases.values()})


PermissionRule = str | ByArgument


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    phrases: Mapping[str, tuple[str, ...]]
    permission: PermissionRule
    help: str
    handler: Handler
    args: tuple[Arg, ...] = ()
    mutating: bool = False
    examples: tuple[str, ...] = ()
    # Arguments whose values never reach the audit log (secret values, people named by a command:
    # the handler records a pseudonym as the target instead), nor, when refused, the typed text.
    # Confidential arguments are always private.
    private: frozenset[str] = frozenset()
    # Refuses what could never run (an unknown service, a kind its runner lacks, removing the last
    # admin) before anyone is asked to approve it: a UserError refuses the request at once. The
    # handler runs the same checks when the command runs.
    check: Check | None = None
    # It records a job (``commands.common.start_job``). Run after an approval, the job and the
    # request's move to "dispatched" are one transaction, so a process killed between them cannot
    # leave a request dispatched with no job (issue 16, fault 3).
    job: bool = False
    confidential: frozenset[str] = field(init=False, compare=False, default=frozenset())  # from the args
    _by_name: Mapping[str, Arg] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {a.name: a for a in self.args})
        confidential = frozenset(a.name for a in self.args if a.confidential)
        object.__setattr__(self, "confidential", confidential)
        object.__setattr__(self, "private", self.private | confidential)

    def permission_for(self, args: Mapping[str, object]) -> str:
        return self.permission if isinstance(self.permission, str) else self.permission(args)

    @property
    def possible_permissions(self) -> frozenset[str]:
        return frozenset({self.permission}) if isinstance(self.permission, str) else self.permission.possible

    def arg(self, name: str) -> Arg:
        return self._by_name[name]

    def words(self, locale: str) -> str:
        """The words that name the command in ``locale`` (``secret set``), without its arguments."""
        phrase = self.phrases.get(locale) or self.phrases["en"]
        return phrase[0].split("{", 1)[0].split("[", 1)[0].strip()


@dataclass(frozen=True, slots=True)
class Pattern:
    command: Command
    locale: str
    elements: tuple[Element, ...]
    prefix: tuple[str, ...]
    phrase: str
    # Most phrases are flat (words and one-token slots, no optional group, no rest-of-line slot):
    # they match only a message of exactly ``length`` tokens, with these words at these positions,
    # so the parser checks them without the general matcher. ``flat`` is False for the others.
    flat: bool = False
    length: int = 0
    words: tuple[tuple[int, str], ...] = ()  # (position, folded word), after the first word
    slots: tuple[tuple[int, Arg], ...] = ()  # (position, argument)


def _pattern(command: Command, locale: str, elements: tuple[Element, ...], phrase: str) -> Pattern:
    prefix = literal_prefix(elements)
    if any(isinstance(e, Group) or (isinstance(e, Slot) and e.greedy) for e in elements):
        return Pattern(command, locale, elements, prefix, phrase)
    words = tuple((i, e.word) for i, e in enumerate(elements) if isinstance(e, Literal) and i > 0)
    slots = tuple((i, command.arg(e.name)) for i, e in enumerate(elements) if isinstance(e, Slot))
    return Pattern(command, locale, elements, prefix, phrase, True, len(elements), words, slots)


class Registry:
    """All declared commands, with their compiled phrase patterns indexed by first word."""

    __slots__ = ("_by_first", "_positionals", "commands", "patterns")

    def __init__(self, commands: Iterable[Command]) -> None:
        self.commands: dict[str, Command] = {}
        self.patterns: list[Pattern] = []
        self._by_first: dict[str, list[Pattern]] = {}
        self._positionals: set[tuple[str, str, tuple[Element, ...]]] = set()
        for command in commands:
            self._add(command)

    def _add(self, command: Command) -> None:
        if command.name in self.commands:
            raise PatternError(f"command {command.name!r} declared twice")
        missing = set(LOCALES) - set(command.phrases)
        if missing:
            raise PatternError(f"command {command.name!r} has no phrase in {sorted(missing)}")
        self.commands[command.name] = command
        for locale in LOCALES:
            for phrase in command.phrases[locale]:
                self._compile(command, locale, phrase)

    def _compile(self, command: Command, locale: str, phrase: str) -> None:
        def greedy(name: str) -> bool:
            return command.arg(name).kind.greedy

        elements = compile_phrase(phrase, greedy)
        _check_slots(command, elements)
        self._index(_pattern(command, locale, elements, phrase))
        positional = _positional(command, elements)
        seen = (command.name, locale, positional)
        if positional != elements and seen not in self._positionals:  # phrases sharing a prefix share one
            self._positionals.add(seen)
            self._index(_pattern(command, locale, positional, phrase))

    def _index(self, pattern: Pattern) -> None:
        self.patterns.append(pattern)
        self._by_first.setdefault(pattern.prefix[0], []).append(pattern)

    def candidates(self, first_word: str) -> list[Pattern]:
        return self._by_first.get(first_word, [])

    def prefixes(self) -> dict[str, Pattern]:
        """Every distinct command prefix ("servers add") → one pattern, for suggestions."""
        return {" ".join(p.prefix): p for p in self.patterns}


def _positional(command: Command, elements: tuple[Element, ...]) -> tuple[Element, ...]:
    """The platform-neutral positional form: the leading words, then every argument in order."""
    prefix = tuple(Literal(w) for w in literal_prefix(elements))
    slots: list[Element] = []
    for a in command.args:
        slot = Slot(a.name, a.kind.greedy)
        slots.append(Group((slot,)) if a.optional else slot)
    return prefix + tuple(slots)


def _check_slots(command: Command, elements: tuple[Element, ...]) -> None:
    names = _slot_names(elements)
    declared = {a.name for a in command.args}
    if names - declared:
        raise PatternError(f"{command.name}: phrase uses undeclared {sorted(names - declared)}")
    required = {a.name for a in command.args if not a.optional}
    if required - names:
        raise PatternError(f"{command.name}: phrase lacks {sorted(required - names)}")


def _slot_names(elements: tuple[Element, ...]) -> set[str]:
    names: set[str] = set()
    for e in elements:
        if isinstance(e, Slot):
            names.add(e.name)
        elif isinstance(e, Group):
            names |= _slot_names(e.elements)
    return names
