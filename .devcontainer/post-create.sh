#!/usr/bin/env bash
# Make the environment ready for the README's two commands: .venv with the dev tools (what
# ./scripts/test installs), the monitoring binaries the alert tests run, and the ruff hook.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="dev" source scripts/_venv.sh
bash scripts/install-monitoring.sh
.venv/bin/pre-commit install
