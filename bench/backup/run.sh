#!/usr/bin/env bash
# Backup/restore throughput (MB/s = 10^6 bytes of original data per second) on a generated data set.
# Usage: bash bench/backup/run.sh [size MiB (default 1024)] [work dir (default $TMPDIR)]
# With HEADY_TEST_S3 set (source <dir>/servers.env from eng/test-servers.sh) the S3 bucket is measured too.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARTIFACTS="${BENCH_ARTIFACTS:-$HERE/artifacts}"
for attempt in 1 2 3; do
  dotnet build -c Release "$HERE/BackupBench/BackupBench.csproj" -o "$ARTIFACTS" -v q -nologo >&2 && break
  [ "$attempt" = 3 ] && exit 1
  sleep 5
done
exec dotnet "$ARTIFACTS/HeadyClouds.Bench.Backup.dll" "$@"
