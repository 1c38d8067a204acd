#!/usr/bin/env bash
# Installs what the local (Docker-free) data tier needs: PostgreSQL 15, Redis, Node.js + npm and
# the s3rver wrapper's npm packages, plus the repo's dotnet local tools.
# Used by developers, by the AppHost's local mode and by CI (which runs as root on a machine that
# may be fresh), so it must be idempotent and cheap when everything is already there: apt-get
# (including `apt-get update`) only runs when something is actually missing.
#
# Usage: eng/install-deps.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN=/usr/lib/postgresql/15/bin

log() { printf 'install-deps: %s\n' "$*"; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); fi
fi

# --- Debian packages ------------------------------------------------------------------------
missing=()
for tool in initdb postgres pg_ctl pg_isready psql; do
  if [ ! -x "$PG_BIN/$tool" ]; then missing+=(postgresql-15); break; fi
done
# redis-server depends on redis-tools (redis-cli), which the test scripts use too.
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  missing+=(redis-server)
fi
# Monorepo.Sync runs the system git; its SSH mirror tests run a real sshd on loopback.
if ! command -v git >/dev/null 2>&1; then missing+=(git); fi
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null 2>&1; then missing+=(openssh-server openssh-client); fi
# The internal CA keeps its key in a PKCS#11 token: SoftHSM2 in development and tests.
if [ ! -f /usr/lib/softhsm/libsofthsm2.so ] || ! command -v softhsm2-util >/dev/null 2>&1; then missing+=(softhsm2); fi
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  # node without npm only happens with Debian's own nodejs package, whose npm is "npm".
  missing+=(npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
    log "missing packages: ${missing[*]}; run this script as root (or install sudo)" >&2
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "installed: ${missing[*]}"
fi

for tool in initdb postgres pg_ctl pg_isready psql; do
  [ -x "$PG_BIN/$tool" ] || { log "still missing $PG_BIN/$tool" >&2; exit 1; }
done
if [ "$(id -u)" -eq 0 ] && ! id -u postgres >/dev/null 2>&1; then
  # eng/local/postgres.sh runs the server as this user when started as root.
  log "the 'postgres' OS user is missing (normally created by postgresql-common)" >&2
  exit 1
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then
  log "Node.js >= 18 is required by eng/s3rver/server.js (found $(node -v))" >&2
  exit 1
fi

# --- s3rver npm packages --------------------------------------------------------------------
# npm keeps a copy of the lock file in node_modules/.package-lock.json; reinstall when the real
# lock file is newer (or node_modules is missing).
S3DIR="$ROOT/eng/s3rver"
if [ ! -f "$S3DIR/node_modules/.package-lock.json" ] ||
  [ "$S3DIR/package-lock.json" -nt "$S3DIR/node_modules/.package-lock.json" ]; then
  log "npm ci in eng/s3rver"
  (cd "$S3DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$S3DIR/node_modules/.package-lock.json"
fi

# --- dotnet local tools ---------------------------------------------------------------------
if [ -f "$ROOT/.config/dotnet-tools.json" ]; then
  if command -v dotnet >/dev/null 2>&1; then
    # Fast (no network) when the tools are already in the NuGet cache.
    (cd "$ROOT" && dotnet tool restore >/dev/null) || { log "dotnet tool restore failed" >&2; exit 1; }
  else
    log "warning: .config/dotnet-tools.json exists but dotnet is not installed" >&2
  fi
fi
