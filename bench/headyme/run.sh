#!/usr/bin/env bash
# HeadyMe.Sync benchmark: batch commit of many 4 KiB files (files/s), ingest of one large file through the full HTTP
# pipeline (MB/s), bytes re-sent after 1-byte edits, long-poll wake latency (p50/p99), memory. The service runs
# in-process (TestServer) against real PostgreSQL, Redis and s3rver started here with eng/test-servers.sh (unless
# HEADY_TEST_* are already set). Figures on stdout; nothing is asserted.
#
# Usage: bash bench/headyme/run.sh [small files (10000)] [ingest MiB (256)] [long-poll rounds (200)]
#   e.g. bash bench/headyme/run.sh 100000 1024 200   (the issue's 100k files and 1 GiB)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ARTIFACTS="${BENCH_ARTIFACTS:-$HERE/artifacts}"
for attempt in 1 2 3; do
  dotnet build -c Release "$HERE/HeadyMeBench/HeadyMeBench.csproj" -o "$ARTIFACTS" -v q -nologo >&2 && break
  [ "$attempt" = 3 ] && exit 1
  sleep 5
done
if [ -z "${HEADY_TEST_POSTGRES:-}" ]; then
  SERVERS="$(mktemp -d /tmp/headyme-bench-servers.XXXXXX)"
  trap 'bash "$ROOT/eng/test-servers.sh" stop "$SERVERS" >&2' EXIT
  bash "$ROOT/eng/test-servers.sh" start "$SERVERS" >&2
  # shellcheck disable=SC1091
  source "$SERVERS/servers.env"
  export HEADY_TEST_POSTGRES HEADY_TEST_REDIS HEADY_TEST_S3
fi
dotnet "$ARTIFACTS/HeadyClouds.Bench.HeadyMe.dll" "$@"
