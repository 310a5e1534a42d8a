# Sourced by the install-*.sh scripts: install Debian packages unless their binaries are on PATH.
# apt_install NAME "PACKAGE …" "BINARY …" — idempotent; refreshes the package lists only when apt
# does not know a package yet; sudo -n so a test harness calling it fails rather than waits for a
# password prompt.
set -euo pipefail

apt_install() {
  local name="$1" bin pkg
  read -r -a packages <<<"$2"
  read -r -a binaries <<<"$3"
  missing() {
    for bin in "${binaries[@]}"; do command -v "$bin" >/dev/null 2>&1 || return 0; done
    return 1
  }
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
  known() { apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]'; }
  missing || return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: apt-get not found; install ${packages[*]} yourself" >&2
    return 1
  fi
  for pkg in "${packages[@]}"; do
    if ! known "$pkg"; then as_root apt-get update -qq; break; fi
  done
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  if missing; then
    echo "$name: ${binaries[*]} still missing after apt-get install" >&2
    return 1
  fi
}
