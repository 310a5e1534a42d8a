"""The plugin's own checks: Dihya's registry accepts its command, and its catalog covers every language."""

from __future__ import annotations

import re

from dihya_plugin_hello import COMMANDS, PERMISSION
from dihya_plugin_hello import LOCALES as LOCALES_DIR

from bot.i18n import LOCALES, read_domain
from bot.registry import Registry

MESSAGES = ("Hello, {who}! This greeting comes from a plugin.", "Greet someone (an example plugin).")


def test_the_registry_accepts_the_command_in_every_language() -> None:
    registry = Registry(COMMANDS)
    assert {p.locale for p in registry.patterns} == set(LOCALES)
    assert all(c.possible_permissions == {PERMISSION} for c in COMMANDS)


def test_every_message_is_translated_with_the_same_placeholders() -> None:
    tables = read_domain(LOCALES_DIR, "hello")
    for locale in ("fr", "ar", "tzm"):
        for msgid in MESSAGES:
            translated = tables[locale][msgid]
            assert translated != msgid
            assert set(re.findall(r"{\w+}", translated)) == set(re.findall(r"{\w+}", msgid))
