#!/usr/bin/env bash
# Mesh transport benchmark: plain HTTP vs mTLS (TLS 1.3 + client certificate + SPIFFE authorization) on loopback,
# keep-alive throughput/latency and the cost of a full handshake. Prints a table; also saved under
# bench/mesh/artifacts/. Usage: bash bench/mesh/run.sh [seconds-per-run=10] [concurrency=8] [rounds=3]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$ROOT/bench/mesh/artifacts"
dotnet build -c Release -v q "$ROOT/bench/mesh/MeshBench" >/dev/null
dotnet "$ROOT/bench/mesh/MeshBench/bin/Release/net10.0/HeadyClouds.Bench.Mesh.dll" "$@" | tee "$ROOT/bench/mesh/artifacts/mesh-$(date -u +%Y%m%dT%H%M%SZ).txt"
