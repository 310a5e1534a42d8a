"""The English catalog is the source language: every msgstr equals its msgid (run by scripts/i18n.sh)."""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parents[1] / "locales" / "en" / "LC_MESSAGES" / "dihya.po"

with PO.open("rb") as fh:
    catalog = read_po(fh, locale="en")
for message in catalog:
    if message.id:
        message.string = message.id
        message.flags.discard("fuzzy")
with PO.open("wb") as fh:
    write_po(fh, catalog, width=0, omit_header=False)
