# Sourced by scripts/run and scripts/test: make .venv with Python ≥ 3.11 and install Dihya into it.
# EXTRAS selects optional dependency groups (e.g. "dev").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

pick_python() {
  # DIHYA_PYTHON when set (CI's actions/setup-python 3.11 on a runner whose /usr/bin/python3 is
  # newer). Then Debian's own interpreter: it is what a fresh machine has (and CPython 3.11.7, which
  # pyenv may shadow it with, raises a spurious "AST constructor recursion depth mismatch").
  for candidate in ${DIHYA_PYTHON:-} /usr/bin/python3.11 /usr/bin/python3 python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
      echo "$candidate"; return 0
    fi
  done
  echo "Dihya needs Python 3.11 or newer" >&2; return 1
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x .venv/bin/python ]; then
  PY="$(pick_python)"
  if ! "$PY" -m venv .venv 2>/dev/null; then
    # Debian splits venv out of the interpreter package.
    as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv >/dev/null
    rm -rf .venv && "$PY" -m venv .venv
  fi
fi

STAMP=".venv/.installed-${EXTRAS:-base}"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${EXTRAS:+[$EXTRAS]}"
  touch "$STAMP"
fi
