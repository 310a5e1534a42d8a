"""What the ``dihya`` command line prints, in the operator's language.

The language comes from the environment as gettext reads it (``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``: ``fr_FR.UTF-8`` → French, ``ar_MA`` → Arabic, ``tzm_MA`` → Tamazight);
English when none names a language the bot speaks. Messages come from the same catalogs as chat.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bot.i18n import DEFAULT_LOCALE, LOCALES, N_, Catalogs, Msg

LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
PROBLEM = N_("dihya: {problem}")  # why a command could not be carried out


def cli_locale(environ: Mapping[str, str]) -> str:
    """As gettext does: the first of these variables that is set decides (``LANGUAGE`` may list
    several languages, the first the bot speaks wins); ``C``, ``POSIX`` or an unknown one is English."""
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if not value:
            continue
        for entry in value.split(":"):
            code = entry.split(".")[0].split("@")[0].split("_")[0].lower()
            if code in LOCALES:
                return code
        return DEFAULT_LOCALE
    return DEFAULT_LOCALE


class CliText:
    """Prints translated lines: results on standard output, problems on standard error."""

    __slots__ = ("_catalogs", "locale", "_out", "_err")

    def __init__(self, catalogs: Catalogs, locale: str, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._catalogs = catalogs
        self.locale = locale
        self._out, self._err = out, err

    @classmethod
    def load(cls, locales_dir: Path, environ: Mapping[str, str]) -> CliText:
        return cls(Catalogs.load(locales_dir), cli_locale(environ))

    def gettext(self, msgid: str) -> str:
        return self._catalogs.gettext(msgid, self.locale)

    def render(self, message: Msg) -> str:
        return self._catalogs.render(message, self.locale)

    def say(self, message: Msg) -> None:
        print(self.render(message), file=self._out or sys.stdout)

    def fail(self, message: Msg) -> None:
        print(self.render(message), file=self._err or sys.stderr)
