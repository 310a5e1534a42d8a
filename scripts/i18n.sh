#!/usr/bin/env bash
# Re-extract every N_() message into locales/dihya.pot and merge it into the four catalogs.
# Translate the new entries in locales/*/LC_MESSAGES/dihya.po; tests/test_catalogs.py fails
# while any message lacks a translation or a placeholder differs between languages.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=.venv/bin/pybabel
$PYBABEL extract -F babel.cfg -k N_ --no-default-keywords --sort-by-file --no-location \
  --project Dihya --copyright-holder "Dihya contributors" -o locales/dihya.pot bot commands dihya adapters
for locale in en fr ar tzm; do
  po="locales/$locale/LC_MESSAGES/dihya.po"
  if [ -f "$po" ]; then
    $PYBABEL update -D dihya -d locales -l "$locale" -i locales/dihya.pot --no-fuzzy-matching --ignore-obsolete
  else
    $PYBABEL init -D dihya -d locales -l "$locale" -i locales/dihya.pot
  fi
done
.venv/bin/python scripts/fill_english.py
