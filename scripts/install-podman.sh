#!/usr/bin/env bash
# Install Podman (a Docker Engine API), runc, a static busybox and docker-registry (Debian packages)
# for the Docker runner's real-engine tests. Idempotent: does nothing when the binaries are already
# on PATH. No service is started; the test harness (tests/servers/podman.py) runs its own engine and
# registry with private storage on a private socket and a free loopback port.
set -euo pipefail

PACKAGES=(podman runc busybox-static docker-registry)
BINARIES=(podman runc busybox docker-registry)

missing() {
  local bin
  for bin in "${BINARIES[@]}"; do
    command -v "$bin" >/dev/null 2>&1 || return 0
  done
  return 1
}

# sudo -n: fail rather than hang on a password prompt (the test harness may call this script).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

# Only refresh the package lists when apt does not know the packages yet.
known() { apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]'; }

if ! missing; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-podman: apt-get not found; install ${PACKAGES[*]} yourself" >&2
  exit 1
fi
for pkg in "${PACKAGES[@]}"; do
  if ! known "$pkg"; then
    as_root apt-get update -qq
    break
  fi
done
as_root env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
if missing; then
  echo "install-podman: ${BINARIES[*]} still missing after apt-get install" >&2
  exit 1
fi
