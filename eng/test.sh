#!/usr/bin/env bash
# The one command that runs every test: installs what the tests need, starts real PostgreSQL, Redis and S3
# servers on loopback, runs the whole solution's tests against them, and always stops the servers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
bash eng/install-deps.sh

# Under /tmp so the postgres OS user can reach it when we run as root.
work="$(mktemp -d /tmp/headyclouds-test.XXXXXX)"
chmod 755 "$work"
cleanup() {
  bash eng/test-servers.sh stop "$work" || true
}
trap cleanup EXIT

bash eng/test-servers.sh start "$work"
# shellcheck disable=SC1091
source "$work/servers.env"
export HEADY_TEST_POSTGRES HEADY_TEST_REDIS HEADY_TEST_S3

dotnet build HeadyClouds.sln -nologo -clp:ErrorsOnly

# Test projects one after another (-m:1): on two cores the AppHost end-to-end test needs the machine to itself.
set +e
dotnet test HeadyClouds.sln --no-build -nologo -m:1 "$@" 2>&1 | tee "$work/test-output.txt"
status=${PIPESTATUS[0]}
set -e

# One closing line over all test projects, in the plain form CI reads.
awk '
  /(Passed!|Failed!) +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { f += $(i+1) + 0 }
      if ($i == "Passed:")  { p += $(i+1) + 0 }
      if ($i == "Skipped:") { s += $(i+1) + 0 }
    }
  }
  END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }
' "$work/test-output.txt"
exit "$status"
