#!/usr/bin/env bash
# FastCDC benchmark: chunking throughput and bytes re-sent after 1-byte edits for several min/avg/max settings.
# Usage: bash bench/chunking/run.sh [size MiB (default 256)] [edit positions (default 8)]
# Results and the choice they support: docs/decisions/0005-content-defined-chunking.md. Table on stdout.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARTIFACTS="${BENCH_ARTIFACTS:-$HERE/artifacts}"
for attempt in 1 2 3; do
  dotnet build -c Release "$HERE/ChunkingBench/ChunkingBench.csproj" -o "$ARTIFACTS" -v q -nologo >&2 && break
  [ "$attempt" = 3 ] && exit 1
  sleep 5
done
exec dotnet "$ARTIFACTS/HeadyClouds.Bench.Chunking.dll" "$@"
