#!/usr/bin/env bash
# Install the Node packages the tests run (oidc-provider, a real OpenID provider for the API
# authentication tests) from the npm registry, as pinned by tests/servers/oidc/package-lock.json.
# Idempotent: does nothing when they are installed and the lock file has not changed since.
set -euo pipefail

DIR="$(cd "$(dirname "$0")/.." && pwd)/tests/servers/oidc"
if ! command -v npm >/dev/null 2>&1; then
  echo "install-node-deps: npm not found; install Node.js 20 or newer" >&2
  exit 1
fi
STAMP="$DIR/node_modules/.package-lock.json"
if [ -f "$STAMP" ] && [ ! "$DIR/package-lock.json" -nt "$STAMP" ]; then
  exit 0
fi
cd "$DIR"
npm ci --no-audit --no-fund --loglevel=error
