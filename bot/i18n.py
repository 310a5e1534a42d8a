"""Translated messages. Catalogs are compiled from the .po files when the app starts.

A ``Msg`` carries a gettext message id and its parameters; it is rendered late, in the
locale of the person reading it. Parameters are neutralised (control and bidi characters
made visible) and, in Arabic, wrapped in Unicode isolates so identifiers such as
``web-01`` or ``v1.2.3`` keep their left-to-right order inside right-to-left text.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.text import echo

LOCALES: tuple[str, ...] = ("en", "fr", "ar", "tzm")
DEFAULT_LOCALE = "en"
RTL_LOCALES = frozenset({"ar"})
DOMAIN = "dihya"
MAX_REPLY = 3500

# First-strong isolate / pop directional isolate (Unicode Bidirectional Algorithm, UAX #9).
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
    """The four compiled catalogs; ``render`` turns a ``Msg`` into text in one locale."""

    __slots__ = ("_translations",)

    def __init__(self, translations: Mapping[str, gettext.NullTranslations]) -> None:
        self._translations = dict(translations)

    @classmethod
    def load(cls, locales_dir: Path) -> Catalogs:
        return cls({loc: _compile(locales_dir / loc / "LC_MESSAGES" / f"{DOMAIN}.po", loc) for loc in LOCALES})

    def gettext(self, msgid: str, locale: str) -> str:
        return self._translations.get(locale, self._translations[DEFAULT_LOCALE]).gettext(msgid)

    def render(self, message: Msg, locale: str) -> str:
        template = self.gettext(message.msgid, locale)
        if not message.params:
            return template
        params = {k: _param(v, locale, self) for k, v in message.params.items()}
        return template.format(**params)

    def render_all(self, messages: Sequence[Msg], locale: str) -> str:
        text = self.render(messages[0], locale) if len(messages) == 1 else \
            "\n".join([self.render(m, locale) for m in messages])
        return text if len(text) <= MAX_REPLY else text[: MAX_REPLY - 1] + "…"


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


def _compile(po_path: Path, locale: str) -> gettext.NullTranslations:
    if not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)
