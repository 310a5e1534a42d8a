#!/usr/bin/env bash
# Demo script (Dihya catalog: flush-cache): empties one folder of the demo cache.
# Run by Dihya as `bash flush_cache.sh --cache=NAME` with CACHE_ROOT in a clean environment.
set -euo pipefail

cache=""
for arg in "$@"; do
  case "$arg" in
    --cache=*) cache="${arg#--cache=}" ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
[[ "$cache" =~ ^[a-z][a-z0-9-]{0,30}$ ]] || { echo "invalid cache name" >&2; exit 2; }

folder="${CACHE_ROOT:?CACHE_ROOT is not set}/$cache"
if [[ ! -d "$folder" ]]; then
  echo "cache $cache is already empty (no folder)"
  exit 0
fi
count=$(find "$folder" -mindepth 1 -maxdepth 1 | wc -l)
find "$folder" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
echo "flushed cache $cache: $count entries removed"
