#!/usr/bin/env bash
# Runs a private Redis server for HeadyClouds local mode / tests, without Docker.
#
# Usage: HEADY_REDIS_PASSWORD=... eng/local/redis.sh <state-dir> <port>
#
# - Stays in the FOREGROUND (supervised by the Aspire orchestrator or eng/test-servers.sh);
#   SIGTERM/SIGINT are forwarded to redis-server, and the script exits with its status.
# - Listens on 127.0.0.1:<port> only. The password goes into <state-dir>/redis.conf (mode 0600),
#   never onto a command line (where `ps` would show it).
# - No persistence (save "", appendonly no): the local cache starts empty on every run.
set -euo pipefail

die() { printf 'redis.sh: %s\n' "$*" >&2; exit 1; }

[ "$#" -eq 2 ] || die "usage: HEADY_REDIS_PASSWORD=... $0 <state-dir> <port>"
[ -n "${HEADY_REDIS_PASSWORD:-}" ] || die "HEADY_REDIS_PASSWORD is not set"
case "$2" in '' | *[!0-9]*) die "port must be a number: $2" ;; esac
PORT="$2"
REDIS_SERVER="$(command -v redis-server || true)"
[ -n "$REDIS_SERVER" ] || die "redis-server not found; run eng/install-deps.sh"
case "$HEADY_REDIS_PASSWORD" in *$'\n'* | *$'\r'*) die "HEADY_REDIS_PASSWORD must be a single line" ;; esac

mkdir -p -- "$1"
STATE="$(cd -- "$1" && pwd -P)"
chmod 700 "$STATE"

# Quote for redis.conf: a double-quoted string where \ and " are escaped.
quote() {
  local s="${1//\\/\\\\}"
  printf '"%s"' "${s//\"/\\\"}"
}

CONF="$STATE/redis.conf"
(
  umask 077
  rm -f "$CONF.tmp"
  {
    echo "# Written by eng/local/redis.sh on every start; do not edit."
    echo "bind 127.0.0.1"
    echo "port $PORT"
    echo "protected-mode yes"
    echo "requirepass $(quote "$HEADY_REDIS_PASSWORD")"
    echo "save \"\""
    echo "appendonly no"
    echo "dir $(quote "$STATE")"
    echo "dbfilename dump.rdb"
    echo "daemonize no"
    echo "supervised no"
    echo "logfile \"\""
    echo "databases 16"
  } >"$CONF.tmp"
  mv -f "$CONF.tmp" "$CONF"
)
cd "$STATE"

"$REDIS_SERVER" "$CONF" </dev/null &
child=$!

# shellcheck disable=SC2317 # invoked by the traps below
on_signal() {
  echo "redis.sh: $1 received, shutting down"
  kill -TERM "$child" 2>/dev/null || true # redis-server shuts down cleanly on SIGTERM
}
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGINT' INT

# `wait` returns early (status > 128) when a trapped signal arrives: wait again while redis is
# still there. Once it has exited, `wait` has reaped it and returned its exit status.
status=0
while :; do
  if wait "$child"; then status=0; else status=$?; fi
  kill -0 "$child" 2>/dev/null || break
done
exit "$status"
