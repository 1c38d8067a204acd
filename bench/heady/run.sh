#!/usr/bin/env bash
# heady sync benchmark: initial sync of N small files + one big file, re-sync after touching 1 %, a 1-byte edit in the
# big file, and a second device's pull, through the real HeadyMe.Sync (in-process) on real PostgreSQL/Redis/S3.
# Usage: bash bench/heady/run.sh [small files (10000)] [big MiB (1024)]
# Uses the servers of $HEADY_TEST_* when set, else starts its own with eng/test-servers.sh. Table on stdout.
# Then the same data set and steps with rsync (local, and over ssh to 127.0.0.1) and rclone (local, and to the local
# S3 server): bench/heady/compare.sh; as root it installs rsync and rclone (apt-get) when missing.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ARTIFACTS="${BENCH_ARTIFACTS:-$HERE/artifacts}"
if [ -z "${HEADY_TEST_POSTGRES:-}" ]; then
  SERVERS="$(mktemp -d /tmp/heady-bench-servers.XXXXXX)"
  bash "$ROOT/eng/test-servers.sh" start "$SERVERS" >&2
  trap 'bash "$ROOT/eng/test-servers.sh" stop "$SERVERS" >&2' EXIT
  set -a; source "$SERVERS/servers.env"; set +a
fi
for attempt in 1 2 3; do
  dotnet build -c Release "$HERE/HeadyBench/HeadyBench.csproj" -o "$ARTIFACTS" -v q -nologo >&2 && break
  [ "$attempt" = 3 ] && exit 1
  sleep 5
done
dotnet "$ARTIFACTS/HeadyClouds.Bench.Heady.dll" "$@"
# The same data set and steps with rsync and rclone (bench/heady/compare.sh), installed here when missing.
missing=()
for tool in rsync rclone; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]} (apt-get)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]}; install them (apt-get install ${missing[*]}) for the comparison rows" >&2
    exit 0
  fi
fi
bash "$HERE/compare.sh" "$@"
