#!/usr/bin/env bash
# heady sync benchmark: initial sync of N small files + one big file, re-sync after touching 1 %, a 1-byte edit in the
# big file, and a second device's pull, through the real HeadyMe.Sync (in-process) on real PostgreSQL/Redis/S3.
# Usage: bash bench/heady/run.sh [small files (10000)] [big MiB (1024)]
# Uses the servers of $HEADY_TEST_* when set, else starts its own with eng/test-servers.sh. Table on stdout.
# With rsync installed, also prints a local rsync of the same tree (a lower bound: no network, no encryption).
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
if command -v rsync >/dev/null; then
  SMALL="${1:-10000}"; BIG="${2:-1024}"
  TMP="$(mktemp -d)"; mkdir -p "$TMP/src"
  for d in $(seq -f %03g 0 99); do mkdir -p "$TMP/src/d$d"; done
  for i in $(seq 0 $((SMALL - 1))); do head -c 4096 /dev/urandom > "$TMP/src/d$(printf %03d $((i % 100)))/f$(printf %06d "$i").bin"; done
  head -c "$((BIG * 1048576))" /dev/urandom > "$TMP/src/big.bin"
  s=$(date +%s.%N); rsync -a "$TMP/src/" "$TMP/dst/"; e=$(date +%s.%N)
  echo "| rsync -a (local, initial) | $(echo "$e - $s" | bc) s | | | | |"
  rm -rf "$TMP"
fi
