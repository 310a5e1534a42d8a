"""Translated messages. Catalogs are read from the .po files (with Babel) when the app starts.

A ``Msg`` carries a gettext message id and its parameters; it is rendered late, in the
locale of the person reading it. Parameters are neutralised (control and bidi characters
made visible) and, in Arabic, wrapped in Unicode isolates so identifiers such as
``web-01`` or ``v1.2.3`` keep their left-to-right order inside right-to-left text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.pofile import read_po

from bot.text import MAX_ECHO, echo

LOCALES: tuple[str, ...] = ("en", "fr", "ar", "tzm")
DEFAULT_LOCALE = "en"
RTL_LOCALES = frozenset({"ar"})
DOMAIN = "dihya"
MAX_REPLY = 3500

# First-strong isolate / pop directional isolate (UAX #9): a value takes the direction of its own
# first strong letter, so "web-01" stays left-to-right and an Arabic phrase right-to-left.
_FSI, _PDI = "\u2068", "\u2069"


def N_(msgid: str) -> str:
    """Mark a string for extraction by pybabel; it is translated when rendered."""
    return msgid


@dataclass(slots=True)  # built for every message: a frozen init costs ~3x per field
class Msg:
    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)


def msg(msgid: str, **params: object) -> Msg:
    return Msg(msgid, params)


class Catalogs:
    """The four catalogs (message id → translation); ``render`` turns a ``Msg`` into text in one
    locale. A message missing from a catalog renders as its English id, as gettext would."""

    __slots__ = ("_translations",)

    def __init__(self, translations: Mapping[str, Mapping[str, str]]) -> None:
        self._translations = {loc: dict(table) for loc, table in translations.items()}

    @classmethod
    def load(cls, locales_dir: Path) -> Catalogs:
        return cls({loc: _read(locales_dir / loc / "LC_MESSAGES" / f"{DOMAIN}.po", loc) for loc in LOCALES})

    def extended(self, extra: Mapping[str, Mapping[str, str]]) -> Catalogs:
        """These catalogs plus another domain's messages (a plugin's); a message id both hold keeps
        this catalog's translation, so a plugin cannot reword the core's messages."""
        if not extra:
            return self
        merged = {loc: {**extra.get(loc, {}), **self._translations.get(loc, {})} for loc in LOCALES}
        return Catalogs(merged)

    def gettext(self, msgid: str, locale: str) -> str:
        table = self._translations.get(locale) or self._translations.get(DEFAULT_LOCALE, {})
        return table.get(msgid, msgid)

    def render(self, message: Msg, locale: str) -> str:
        table = self._translations.get(locale)
        template = table.get(message.msgid, message.msgid) if table is not None else \
            self.gettext(message.msgid, locale)
        if not message.params:
            return template
        rtl = locale in RTL_LOCALES
        params = {}
        for name, value in message.params.items():
            # The common parameter, a short printable string, needs no neutralising or clipping.
            if type(value) is str and len(value) <= MAX_ECHO and value.isprintable():
                params[name] = f"{_FSI}{value}{_PDI}" if rtl else value
            else:
                params[name] = _param(value, locale, self)
        return template.format(**params)

    def render_all(self, messages: Sequence[Msg], locale: str) -> str:
        text = self.render(messages[0], locale) if len(messages) == 1 else \
            "\n".join([self.render(m, locale) for m in messages])
        return text if len(text) <= MAX_REPLY else text[: MAX_REPLY - 1] + "…"


def isolated(text: str, locale: str) -> str:
    """``text`` as one directional unit inside a right-to-left locale's sentence."""
    return f"{_FSI}{text}{_PDI}" if locale in RTL_LOCALES else text


def _param(value: object, locale: str, catalogs: Catalogs) -> str:
    if isinstance(value, Msg):
        return catalogs.render(value, locale)
    if isinstance(value, Verbatim):
        return value.text
    text = echo(value)
    return f"{_FSI}{text}{_PDI}" if locale in RTL_LOCALES else text


@dataclass(frozen=True, slots=True)
class Verbatim:
    """Text the core composed itself (already translated or neutralised): no isolation, no clipping."""

    text: str


def read_domain(locales_dir: Path, domain: str) -> dict[str, dict[str, str]]:
    """One domain's catalogs (``LOCALE/LC_MESSAGES/DOMAIN.po``); a locale without a file is absent."""
    return {loc: _read(path, loc, domain) for loc in LOCALES
            if (path := locales_dir / loc / "LC_MESSAGES" / f"{domain}.po").exists()}


def _read(po_path: Path, locale: str, domain: str = DOMAIN) -> dict[str, str]:
    """A catalog's translated, non-fuzzy singular messages (the core uses no plural forms)."""
    if not po_path.exists():
        return {}
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale, domain=domain)
    return {m.id: m.string for m in catalog
            if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string and not m.fuzzy}
